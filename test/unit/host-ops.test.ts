import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linuxHostOps } from '../../src/host/ops.js';
import { failure, run } from '../../src/host/spawn.js';
import { setNsSysctl } from '../../src/kernel/ns-sysctl.js';
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

  test("a failing operation names the command and the program's words", async () => {
    const host = linuxHostOps({ chrt: recorder('chrt', "echo 'chrt: failed to set pid 42' >&2; exit 1") });
    await expect(host.setScheduler(42, 'fifo', 1)).rejects.toThrow(`${join(dir, 'chrt')} -a -f -p 1 42: chrt: failed to set pid 42`);
  });

  test("per-namespace sysctls: only the pid namespace is entered, the host's sysctl writes and reads", async () => {
    const host = linuxHostOps({ nsenter: recorder('nsenter', 'echo 1') });
    await host.writeNsSysctl(42, 'vm.overcommit_memory', '1');
    expect(argsOf('nsenter')).toEqual(['--target', '42', '--pid', '--', 'sysctl', '-q', '-w', 'vm.overcommit_memory=1']);
    expect(await host.readNsSysctl(42, 'vm.overcommit_memory')).toBe('1');
    expect(argsOf('nsenter')).toEqual(['--target', '42', '--pid', '--', 'sysctl', '-n', 'vm.overcommit_memory']);
  });
});

describe('setNsSysctl through the HostOps double', () => {
  test('writes, reads back, and fails when the namespace does not keep the value', async () => {
    const host = new FakeHost();
    await setNsSysctl(host, 42, 'vm.overcommit_ratio', '80');
    expect(host.calls.map((c) => c.op)).toEqual(['writeNsSysctl', 'readNsSysctl']);
    host.sysctlReadsBack = '50';
    await expect(setNsSysctl(host, 42, 'vm.overcommit_ratio', '80')).rejects.toThrow("vm.overcommit_ratio: wrote 80 in the container's pid namespace, reads back 50");
  });

  test('a malformed key or value is refused before any host operation', async () => {
    const host = new FakeHost();
    await expect(setNsSysctl(host, 42, 'vm.overcommit_ratio; reboot', '1')).rejects.toThrow('bad sysctl');
    await expect(setNsSysctl(host, 42, 'vm.overcommit_ratio', '1 2')).rejects.toThrow('bad sysctl');
    expect(host.calls).toEqual([]);
  });
});
