import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hostCgroups } from '../../src/kernel/cgroups/index.js';
import { SystemdCgroups } from '../../src/kernel/cgroups/systemd.js';
import { V1Cgroups } from '../../src/kernel/cgroups/v1.js';
import { V2Cgroups } from '../../src/kernel/cgroups/v2.js';
import { joinOwnGroup } from '../../src/kernel/cgroups/own-group.js';

// The implementations read and write the files of a mounted cgroup filesystem; here the files are
// a directory tree with what the kernel shows (their parsing is what is tested; what the kernel
// accepts is the integration tier's).
let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vk-cgroups-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const put = (path: string, text: string) => { mkdirSync(dirname(join(dir, path)), { recursive: true }); writeFileSync(join(dir, path), text); };

describe('cgroup v1: the cpu hierarchy, tasks, cpuacct', () => {
  beforeEach(() => {
    put('cg/cpu/cpu.rt_runtime_us', '950000\n');
    put('cg/cpu/docker/cpu.rt_runtime_us', '0\n');
    put('cg/cpu/docker/c1/cgroup.procs', '42\n');
    put('cg/cpu/docker/c1/tasks', '42\n43\n');
    put('cg/cpu/docker/c2/cpu.rt_runtime_us', '100000\n');
    // a relative cgroupsPath nests under the caller's group, per hierarchy: cpuacct elsewhere
    put('cg/cpuacct/user/docker/c1/cpuacct.usage', '123456789\n');
    put('cg/cpuacct/docker/c1/cpuacct.usage', '1\n');
    put('proc/42/cgroup', '12:name=systemd:/x\n3:cpu:/docker/c1\n2:cpuacct:/user/docker/c1\n0::/u\n');
  });

  test('groups, their files, parent and children; the root has no parent', () => {
    const cg = new V1Cgroups(join(dir, 'cg'), join(dir, 'proc'));
    const c1 = cg.group('/docker/c1');
    expect(c1.dir).toBe(join(dir, 'cg/cpu/docker/c1'));
    expect(c1.procs()).toEqual([42]);
    expect(c1.threads()).toEqual([42, 43]);
    expect(c1.parent()?.path).toBe('/docker');
    expect(c1.parent()?.parent()?.path).toBe('/');
    expect(cg.root.parent()).toBeUndefined();
    expect(cg.root.read('cpu.rt_runtime_us')).toBe('950000');
    expect(cg.group('/docker').children().map((g) => g.path).sort()).toEqual(['/docker/c1', '/docker/c2']);
    expect(c1.has('cpu.rt_runtime_us')).toBe(false);
    cg.group('/docker').write('cpu.rt_runtime_us', '250000');
    expect(cg.group('/docker').read('cpu.rt_runtime_us')).toBe('250000');
    expect(cg.group('/gone').exists()).toBe(false);
  });

  test("a task's group: its cpu line; CPU time from the cpuacct group the task is in", () => {
    const cg = new V1Cgroups(join(dir, 'cg'), join(dir, 'proc'));
    expect(cg.taskPath(42)).toBe('/docker/c1');
    expect(cg.group('/docker/c1', 42).usageNs()).toBe(123456789n);
    // without a task (or once it is gone), the same path as in the cpu hierarchy
    expect(cg.group('/docker/c1').usageNs()).toBe(1n);
    expect(cg.group('/docker/c1', 99).usageNs()).toBe(1n);
    // an ended task not reaped yet (a zombie) is listed in the root of every hierarchy: not the
    // host's CPU time then, the container's path
    put('proc/44/cgroup', '12:name=systemd:/\n3:cpu:/\n2:cpuacct:/\n0::/\n');
    put('cg/cpuacct/cpuacct.usage', '999999999999\n');
    expect(cg.group('/docker/c1', 44).usageNs()).toBe(1n);
  });

  test('never outside the hierarchy', () => {
    const cg = new V1Cgroups(join(dir, 'cg'), join(dir, 'proc'));
    expect(() => cg.group('/../../etc')).toThrow('escapes');
    expect(cg.groupAt(join(dir, 'cg/cpu/docker')).path).toBe('/docker');
    expect(cg.groupAt(join(dir, 'cg/cpu')).path).toBe('/');
    expect(() => cg.groupAt('/etc')).toThrow('is not a group of the cgroup hierarchy');
    expect(() => cg.groupAt(join(dir, 'cg/cpu/../memory'))).toThrow('is not a group');
    expect(() => cg.groupAt(join(dir, 'cg/cpuset'))).toThrow('is not a group');
  });

  test('cgroupfs naming: cgroupsPath as is, or /<id>; bad input refused', () => {
    const cg = new V1Cgroups(join(dir, 'cg'));
    expect(cg.driver).toBe('cgroupfs');
    expect(cg.containerPath(undefined, 'abc')).toBe('/abc');
    expect(cg.containerPath('/docker/abc', 'abc')).toBe('/docker/abc');
    expect(() => cg.containerPath('../x', 'abc')).toThrow('must not contain ".."');
  });
});

describe('cgroup v2: one hierarchy, cgroup.threads, cpu.stat', () => {
  test('threads, CPU time in µs read as ns, the unified line of a task', () => {
    put('cg/cgroup.controllers', 'cpu memory\n');
    put('cg/x/cgroup.threads', '7\n8\n9\n');
    put('cg/x/cpu.stat', 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n');
    put('proc/7/cgroup', '0::/x\n');
    const cg = new V2Cgroups(join(dir, 'cg'), join(dir, 'proc'));
    expect(cg.group('/x').dir).toBe(join(dir, 'cg/x'));
    expect(cg.group('/x', 7).threads()).toEqual([7, 8, 9]);
    expect(cg.group('/x', 7).usageNs()).toBe(1_500_000n);
    expect(cg.taskPath(7)).toBe('/x');
    expect(() => cg.group('/../x')).toThrow('escapes');
  });
});

describe('systemd driver: its naming on the host hierarchy', () => {
  test('slice:prefix:name becomes a scope in the expanded slice; the groups are the hierarchy\'s', () => {
    const cg = new SystemdCgroups(new V1Cgroups(join(dir, 'cg')));
    expect(cg.driver).toBe('systemd');
    expect(cg.version).toBe('v1');
    expect(cg.containerPath('kubepods-besteffort-pod1.slice:cri-containerd:abc', 'abc'))
      .toBe('/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope');
    expect(cg.containerPath(undefined, 'abc')).toBe('/system.slice/runc-abc.scope');
    expect(() => cg.containerPath('/docker/abc', 'abc')).toThrow('is not slice:prefix:name');
    expect(cg.group('/system.slice/runc-abc.scope').dir).toBe(join(dir, 'cg/cpu/system.slice/runc-abc.scope'));
  });

  test('chosen once from the probe: hybrid and v1 → v1, v2 → v2, --systemd-cgroup → systemd naming', () => {
    const root = join(dir, 'cg');
    expect(hostCgroups({ cgroup: 'hybrid' }, false, root)).toBeInstanceOf(V1Cgroups);
    expect(hostCgroups({ cgroup: 'v1' }, false, root)).toBeInstanceOf(V1Cgroups);
    expect(hostCgroups({ cgroup: 'v2' }, false, root)).toBeInstanceOf(V2Cgroups);
    const sd = hostCgroups({ cgroup: 'v2' }, true, root);
    expect(sd).toBeInstanceOf(SystemdCgroups);
    expect(sd.version).toBe('v2');
    expect(sd.root.dir).toBe(root);
  });
});

describe('a helper entering its own group (own-group.ts)', () => {
  test('a group removed between the mkdir and the move (a concurrent gc) is made again', () => {
    const cg = new V1Cgroups(join(dir, 'cg'));
    const g = cg.group('/vkernel-adaptive-x');
    let setups = 0;
    // the first time, the group goes away right after it was made (what a gc in between does)
    joinOwnGroup(g, () => { if (++setups === 1) rmSync(g.dir, { recursive: true }); });
    expect(setups).toBe(2);
    expect(readFileSync(join(g.dir, 'cgroup.procs'), 'utf8')).toBe(String(process.pid));
  });

  test('gives up after a few tries, and at once on other errors', () => {
    const cg = new V1Cgroups(join(dir, 'cg'));
    const g = cg.group('/vkernel-rt-y');
    let setups = 0;
    expect(() => joinOwnGroup(g, () => { setups++; rmSync(g.dir, { recursive: true }); })).toThrow(/ENOENT/);
    expect(setups).toBe(5);
    setups = 0;
    expect(() => joinOwnGroup(g, () => { setups++; throw Object.assign(new Error('EACCES: no'), { code: 'EACCES' }); })).toThrow(/EACCES/);
    expect(setups).toBe(1);
  });
});
