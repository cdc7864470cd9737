import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moduleName } from '../../src/module/name.js';
import { MAX_DENY, moduleParams, parseDenyList } from '../../src/module/deny.js';
import { SYSCALLS_IA32, SYSCALLS_X32, SYSCALLS_X64 } from '../../src/module/syscalls.js';
import { NAME_RE } from '../../src/module/elf.js';
import { capFutexBuckets, moduleApplier } from '../../src/lifecycle/appliers/module.js';
import type { HostProbe } from '../../src/kernel/probe.js';
import { moduleContainerId, unloadModule } from '../../src/module/load.js';
import { FakeHost } from '../doubles/host-ops.js';

const none = new Set<string>();

describe('module naming (ARCHITECTURE.md "Module naming")', () => {
  test('an id of 5 characters is used whole', () => {
    expect(moduleName('web01', none)).toBe('vkernel_web01');
  });

  test('a 64-character id (docker, containerd) gives its first 12 characters', () => {
    const id = '3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899';
    expect(id).toHaveLength(64);
    expect(moduleName(id, none)).toBe('vkernel_3f4e5d6c7b8a');
  });

  test('characters outside [A-Za-z0-9_] become _', () => {
    expect(moduleName('my-app.v2+x', none)).toBe('vkernel_my_app_v2_x');
    expect(moduleName('a.b-c+d', none)).toBe('vkernel_a_b_c_d');
  });

  test('a collision takes a longer prefix, one character at a time', () => {
    const a = '3f4e5d6c7b8a11111111';
    const b = '3f4e5d6c7b8a12222222';
    const first = moduleName(a, none);
    expect(first).toBe('vkernel_3f4e5d6c7b8a');
    expect(moduleName(b, new Set([first]))).toBe('vkernel_3f4e5d6c7b8a1');
    expect(moduleName(b, new Set([first, 'vkernel_3f4e5d6c7b8a1']))).toBe('vkernel_3f4e5d6c7b8a12');
  });

  test('a short id that collides whole, and ids that sanitize alike, fall back to a hash suffix', () => {
    const n1 = moduleName('a.b', none);
    expect(n1).toBe('vkernel_a_b');
    const n2 = moduleName('a-b', new Set([n1]));
    expect(n2).toMatch(/^vkernel_a_b_[0-9a-f]{8}$/);
    expect(moduleName('a-b', new Set([n1]))).toBe(n2); // deterministic
    expect(() => moduleName('a-b', new Set([n1, n2]))).toThrow('no free module name');
  });

  test('names never exceed 55 characters and always match the module name rule', () => {
    const long = 'x'.repeat(64);
    const taken = new Set<string>();
    for (;;) {
      let n: string;
      try {
        n = moduleName(long, taken);
      } catch (e) {
        expect((e as Error).message).toMatch('no free module name');
        break;
      }
      expect(n.length).toBeLessThanOrEqual(55);
      expect(n).toMatch(NAME_RE);
      taken.add(n);
    }
    // 12..47 characters of the id (36 names), then the hash fallback, then nothing is left
    expect(taken.size).toBe(36 + 1);
    expect(taken.has(`vkernel_${'x'.repeat(47)}`)).toBe(true);
  });

  test('the function is pure: same id and taken set, same name', () => {
    const taken = new Set(['vkernel_abcdefabcdef']);
    expect(moduleName('abcdefabcdef99', taken)).toBe(moduleName('abcdefabcdef99', taken));
    expect(taken.size).toBe(1);
  });
});

describe('deny list and module parameters', () => {
  test('the syscall tables came from Linux 6.1 (spot checks)', () => {
    expect(SYSCALLS_X64.mkdir).toBe(83);
    expect(SYSCALLS_X64.unshare).toBe(272);
    expect(SYSCALLS_X64.futex_waitv).toBe(449);
    expect(SYSCALLS_X32.ioctl).toBe(514);
    expect(SYSCALLS_IA32.mkdir).toBe(39);
    expect(Object.keys(SYSCALLS_X64)).toHaveLength(362);
  });

  test('names are checked against the x86_64 table, with a fixable message', () => {
    expect(parseDenyList('mkdir,unshare,mkdir')).toEqual(['mkdir', 'unshare']);
    expect(parseDenyList(undefined)).toEqual([]);
    expect(() => parseDenyList('mkdri')).toThrow('io.vkernel.syscall.deny: "mkdri" is not an x86_64 system call');
    expect(() => parseDenyList('stat64')).toThrow('not an x86_64 system call'); // ia32 only
    expect(() => parseDenyList('execve')).toThrow('execve cannot be denied');
    const many = Object.keys(SYSCALLS_X64).filter((n) => !['execve', 'exit', 'exit_group', 'rt_sigreturn'].includes(n)).slice(0, MAX_DENY + 1);
    expect(() => parseDenyList(many.join(','))).toThrow(`at most ${MAX_DENY}`);
  });

  test('parameters carry the numbers of each ABI, and leave empty lists out', () => {
    expect(moduleParams({ pid: 4242, id: 'web01', deny: ['mkdir', 'ioctl'], futexBuckets: 512 })).toEqual([
      'init_pid=4242', 'container_id=web01', 'futex_buckets=512', 'deny=83,16', 'deny_x32=83,514', 'deny_ia32=39,54',
    ]);
    expect(moduleParams({ pid: 1, id: 'a', deny: [], futexBuckets: 16 })).toEqual(['init_pid=1', 'container_id=a', 'futex_buckets=16']);
    expect(() => moduleParams({ pid: 0, id: 'a', deny: [], futexBuckets: 16 })).toThrow('invalid init pid');
    expect(() => moduleParams({ pid: 1, id: 'a b', deny: [], futexBuckets: 16 })).toThrow('invalid container id');
  });
});

describe('module applier', () => {
  const probe = (over: Partial<HostProbe>): HostProbe => ({
    vkernelFeatures: [], cgroup: 'v1', rtGroupSched: true, modules: true, release: '6.1.192-vkernel', ...over,
  });

  test('requested by module=true or a deny list', () => {
    expect(moduleApplier.requested({ module: true })).toBe(true);
    expect(moduleApplier.requested({ 'syscall.deny': 'mkdir' })).toBe(true);
    expect(moduleApplier.requested({ module: false })).toBe(false);
    expect(moduleApplier.requested({ 'sched.policy': 'fifo' })).toBe(false);
    expect(moduleApplier.keys).toEqual(['module', 'syscall.deny', 'syscall.namespaces', 'syscall.personality', 'caps.max', 'fs.rules']);
  });

  test('unsupported without module support, without the vkernel kernel, or without its syscall_table feature', () => {
    expect(moduleApplier.unsupported({ module: true }, probe({ modules: false, release: '6.18.0' }))).toMatch(/6\.18\.0.*no loadable module support/);
    expect(moduleApplier.unsupported({ module: true }, probe({}))).toMatch(/not the vkernel kernel/);
    expect(moduleApplier.unsupported({ module: true }, probe({ vkernelAbi: 1, vkernelFeatures: ['real_policy'] }))).toMatch(/lacks the syscall_table feature \(has: real_policy\)/);
    expect(moduleApplier.unsupported({ module: true }, probe({ vkernelAbi: 1, vkernelFeatures: ['real_policy', 'syscall_table'] }))).toBeUndefined();
  });

  test('check refuses unknown syscall names before any side effect', () => {
    const ctx = { id: 'c', spec: { linux: { namespaces: [{ type: 'pid' }] } }, systemdCgroup: false };
    expect(() => moduleApplier.check?.({ ...ctx, policy: { 'syscall.deny': 'mkdir,nosuchcall' } })).toThrow('"nosuchcall" is not an x86_64 system call');
    expect(() => moduleApplier.check?.({ ...ctx, policy: { 'syscall.deny': 'mkdir' } })).not.toThrow();
    // and only in a pid namespace of its own (test/integration/pid-ns.test.ts on real runc)
    expect(() => moduleApplier.check?.({ ...ctx, spec: {}, policy: { 'syscall.deny': 'mkdir' } })).toThrow('it has no pid namespace of its own');
  });
});

test('limits.futex_buckets_max caps the module\'s futex table at a power of two; no limit keeps the kernel\'s sizing', () => {
  expect(capFutexBuckets(512, undefined)).toBe(512);
  expect(capFutexBuckets(512, 4096)).toBe(512);
  expect(capFutexBuckets(512, 256)).toBe(256);
  expect(capFutexBuckets(512, 300)).toBe(256);
  expect(capFutexBuckets(65536, 1000)).toBe(512);
  expect(capFutexBuckets(512, 16)).toBe(16);
});

describe('unloading a journaled module name (a create killed around insmod)', () => {
  // /proc/modules and /sys as the kernel shows them: a parser-level double; the VM tier
  // (test/vm/guest/72-module-crash.sh) proves it against the real kernel and module
  const host = (loaded: Record<string, string | undefined>, where: 'containers' | 'param' = 'containers') => {
    const root = mkdtempSync(join(tmpdir(), 'vk-modsys-'));
    mkdirSync(join(root, 'proc'));
    writeFileSync(join(root, 'proc/modules'), Object.keys(loaded).map((m) => `${m} 16384 0 - Live 0x0\n`).join(''));
    for (const [m, id] of Object.entries(loaded)) {
      if (id === undefined) continue;
      const dir = where === 'containers' ? join(root, 'sys/kernel/vkernel/containers', m) : join(root, 'sys/module', m, 'parameters');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'container_id'), `${id}\n`);
    }
    return { proc: join(root, 'proc'), sys: join(root, 'sys'), fake: new FakeHost() };
  };

  test('the module serves this container (sysfs directory or module parameter): removed', async () => {
    for (const where of ['containers', 'param'] as const) {
      const { proc, sys, fake } = host({ vkernel_c1: 'c1' }, where);
      fake.rmmodResults = [{ ok: true, message: '' }];
      expect(moduleContainerId('vkernel_c1', sys)).toBe('c1');
      await expect(unloadModule('vkernel_c1', { proc, sys, host: fake, ownerId: 'c1' })).resolves.toEqual({ attempts: 1 });
      expect(fake.ops('rmmod')).toEqual([['vkernel_c1']]);
    }
  });

  test('the name was given to another container since (insmod never happened for ours): left alone', async () => {
    const { proc, sys, fake } = host({ vkernel_c1: 'c1-other' });
    await expect(unloadModule('vkernel_c1', { proc, sys, host: fake, ownerId: 'c1' })).resolves.toEqual({ attempts: 0, notOurs: 'c1-other' });
    expect(fake.ops('rmmod')).toEqual([]);
  });

  test('not loaded at all: nothing to do, counts as removed', async () => {
    const { proc, sys, fake } = host({});
    fake.rmmodResults = [{ ok: false, message: "rmmod: ERROR: Module vkernel_c1 is not currently loaded" }];
    await expect(unloadModule('vkernel_c1', { proc, sys, host: fake, ownerId: 'c1' })).resolves.toEqual({ attempts: 1 });
  });
});
