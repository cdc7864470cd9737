import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linuxHostOps } from '../../src/host/ops.js';
import { failure, run } from '../../src/host/spawn.js';
import { enableNamespace } from '../../src/kernel/ns-enable.js';
import { FakeHost } from '../doubles/host-ops.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vk-hostops-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** a real program standing in for chrt/nsenter/...: records its argv, one argument a line */
function recorder(name: string, tail = 'exit 0'): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "$@" > '${dir}/${name}.args'\n${tail}\n`);
  chmodSync(file, 0o755);
  return file;
}
const argsOf = (name: string) => readFileSync(join(dir, `${name}.args`), 'utf8').split('\n').slice(0, -1);

describe('spawn: the one way to start host programs', () => {
  test('arguments reach the program as they are, never through a shell', async () => {
    const r = await run('/bin/sh', ['-c', 'printf "%s|" "$@"; echo err >&2; exit 3', 'sh', '$(touch x)', 'a b', ';']);
    expect(r).toEqual({ code: 3, signal: null, stdout: '$(touch x)|a b|;|', stderr: 'err\n', error: undefined });
    expect(failure(r)).toBe('err');
  });

  test('a missing program is a result, not a throw; lines come as they arrive', async () => {
    const r = await run('/nonexistent/prog', []);
    expect(r.code).toBeNull();
    expect(failure(r)).toMatch(/ENOENT/);
    const lines: string[] = [];
    await run('/bin/sh', ['-c', 'echo one; echo two; printf three'], { onLine: (l) => lines.push(l) });
    expect(lines).toEqual(['one', 'two', 'three']);
  });
});

describe('HostOps on the real host (programs standing in for chrt and nsenter)', () => {
  test('setScheduler: chrt -a for every thread, fifo with its priority, other with 0', async () => {
    const host = linuxHostOps({ chrt: recorder('chrt') });
    await host.setScheduler(42, 'fifo', 7);
    expect(argsOf('chrt')).toEqual(['-a', '-f', '-p', '7', '42']);
    await host.setScheduler(42, 'other');
    expect(argsOf('chrt')).toEqual(['-a', '-o', '-p', '0', '42']);
  });

  test('startHelper: at once, or later through the waiter (`--after MS`, the same pid); the helper detached (a session of its own)', async () => {
    const until = async (f: () => boolean) => { for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10)); return f(); };
    const helper = recorder('helper', `ps -o sid= -p $$ > '${dir}/sid'; mv '${dir}/sid' '${dir}/helper.sid'`);
    const host = linuxHostOps({ after: recorder('waiter', 'shift 2; exec "$@"') });
    const now = host.startHelper([helper, 'a b', '$(x)']);
    expect(await until(() => existsSync(join(dir, 'helper.sid')))).toBe(true);
    expect(argsOf('helper')).toEqual(['a b', '$(x)']);
    expect(existsSync(join(dir, 'waiter.args'))).toBe(false);
    expect(Number(readFileSync(join(dir, 'helper.sid'), 'utf8'))).toBe(now);
    rmSync(join(dir, 'helper.sid'));
    const later = host.startHelper([helper, 'c'], 250);
    expect(await until(() => existsSync(join(dir, 'helper.sid')))).toBe(true);
    expect(argsOf('waiter')).toEqual(['--after', '250', helper, 'c']);
    expect(argsOf('helper')).toEqual(['c']);
    expect(Number(readFileSync(join(dir, 'helper.sid'), 'utf8'))).toBe(later);
  });

  test("a failing operation names the command and the program's words", async () => {
    const host = linuxHostOps({ chrt: recorder('chrt', "echo 'chrt: failed to set pid 42' >&2; exit 1") });
    await expect(host.setScheduler(42, 'fifo', 1)).rejects.toThrow(`${join(dir, 'chrt')} -a -f -p 1 42: chrt: failed to set pid 42`);
  });

  test("per-namespace sysctls are read back with only the pid namespace entered, by the host's sysctl", async () => {
    const host = linuxHostOps({ nsenter: recorder('nsenter', 'echo 1') });
    expect(await host.readNsSysctl(42, 'vm.overcommit_memory')).toBe('1');
    expect(argsOf('nsenter')).toEqual(['--target', '42', '--pid', '--', 'sysctl', '-n', 'vm.overcommit_memory']);
  });

  test('enableNamespace: the line in one write, newline-terminated; a refusal names the file, the line and the errno', async () => {
    const file = join(dir, 'enable');
    const host = linuxHostOps({ enableFile: file });
    await host.enableNamespace('42 sched_params kernel.sched_wakeup_granularity_ns=3000000');
    expect(readFileSync(file, 'utf8')).toBe('42 sched_params kernel.sched_wakeup_granularity_ns=3000000\n');
    const missing = linuxHostOps({ enableFile: join(dir, 'no', 'enable') });
    await expect(missing.enableNamespace('42 mm_policy')).rejects.toThrow(`${join(dir, 'no', 'enable')}: "42 mm_policy" refused (ENOENT)`);
  });
});

describe('enableNamespace through the HostOps double', () => {
  test('one enable line, then every value read back; fails when the namespace does not keep it', async () => {
    const host = new FakeHost();
    await enableNamespace(host, 42, { features: ['mm_policy'], settings: [['vm.overcommit_ratio', '80']] });
    expect(host.calls.map((c) => c.op)).toEqual(['enableNamespace', 'readNsSysctl']);
    expect(host.enabled).toEqual(['42 mm_policy vm.overcommit_ratio=80']);
    host.sysctlReadsBack = '50';
    await expect(enableNamespace(host, 42, { features: ['mm_policy'], settings: [['vm.overcommit_ratio', '80']] }))
      .rejects.toThrow("vm.overcommit_ratio: enabled 80 for the container's pid namespace, reads back 50");
  });

  test('a malformed word, key, value or pid is refused before any host operation', async () => {
    const host = new FakeHost();
    await expect(enableNamespace(host, 42, { features: ['mm_policy'], settings: [['vm.overcommit_ratio; reboot', '1']] })).rejects.toThrow('bad sysctl');
    await expect(enableNamespace(host, 42, { features: ['mm_policy'], settings: [['vm.overcommit_ratio', '1 2']] })).rejects.toThrow('bad sysctl');
    await expect(enableNamespace(host, 42, { features: ['mm_policy x' as 'mm_policy'], settings: [] })).rejects.toThrow('bad feature word');
    await expect(enableNamespace(host, 0, { features: ['mm_policy'], settings: [] })).rejects.toThrow('bad pid');
    await expect(enableNamespace(host, 42, { features: [], settings: [] })).rejects.toThrow('at least one feature');
    expect(host.calls).toEqual([]);
  });
});

describe('module calls (init_module, delete_module) in-process', () => {
  test('under node there are none: insmod and rmmod run as processes', async () => {
    const { moduleCalls } = await import('../../src/host/module-ffi.js');
    expect(await moduleCalls()).toBeUndefined();
    const ops = linuxHostOps({ rmmod: recorder('rmmod') });
    expect(await ops.rmmod('vkernel_x')).toEqual({ ok: true, message: '' });
    expect(argsOf('rmmod')).toEqual(['vkernel_x']);
  });

  test('under bun (the compiled engine) the syscalls answer with their errno, by name', async () => {
    // this host: no module support (ENOSYS); a kernel with it: no such module (ENOENT), not an ELF module (ENOEXEC)
    const mods = existsSync('/proc/modules');
    const repo = new URL('../../', import.meta.url).pathname;
    const r = await run(join(repo, 'node_modules/@oven/bun-linux-x64/bin/bun'), ['-e',
      `const c = await (await import('${join(repo, 'src/host/module-ffi.ts')}')).moduleCalls(); console.log(c.unload('vkernel_not_loaded_x'), c.load('/etc/hostname', ['a=1']))`]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(mods ? 'ENOENT ENOEXEC' : 'ENOSYS ENOSYS');
  });

  test('errno names', async () => {
    const { errnoName } = await import('../../src/host/module-ffi.js');
    expect([errnoName(2), errnoName(16), errnoName(4242)]).toEqual(['ENOENT', 'EBUSY', 'errno 4242']);
  });
});
