import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandSlice, resolveCgroupPath, taskCgroup } from '../../src/kernel/cgroups/path.js';
import { V1Cgroups } from '../../src/kernel/cgroups/v1.js';
import { V2Cgroups } from '../../src/kernel/cgroups/v2.js';
import { decide, needsScan, nextMode } from '../../src/adaptive/decide.js';
import { cpuRate, ctxRate, taskScan, usage } from '../../src/adaptive/sample.js';
import { MemoryCgroups } from '../doubles/cgroups.js';

describe('cgroup path resolution (runc rules)', () => {
  test.each([
    [undefined, 'abc', false, '/', '/abc'],
    [undefined, 'abc', false, '/user/1', '/user/1/abc'],
    ['/docker/abc', 'abc', false, '/user/1', '/docker/abc'],
    ['kube/pod1/abc', 'abc', false, '/', '/kube/pod1/abc'],
    ['kube/pod1/abc', 'abc', false, '/parent', '/parent/kube/pod1/abc'],
    ['//a//./b/', 'x', false, '/', '/a/b'],
    ['system.slice:docker:abc', 'abc', true, '/', '/system.slice/docker-abc.scope'],
    ['kubepods-besteffort-pod1.slice:cri-containerd:abc', 'abc', true, '/', '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope'],
    [undefined, 'abc', true, '/', '/system.slice/runc-abc.scope'],
    [':runc:abc', 'abc', true, '/', '/system.slice/runc-abc.scope'],
  ])('%s (id %s, systemd %s, own %s) → %s', (path, id, systemd, own, expected) => {
    expect(resolveCgroupPath(path, id, systemd, own)).toBe(expected);
  });

  test.each([
    ['/docker/../../etc', false, 'must not contain ".."'],
    ['../escape', false, 'must not contain ".."'],
    ['a/../../b', false, 'must not contain ".."'],
    ['system.slice:docker', true, 'is not slice:prefix:name'],
    ['system.slice:docker:../x', true, 'invalid name'],
    ['system.slice:do/cker:x', true, 'invalid prefix'],
    ['../x.slice:docker:x', true, 'invalid systemd slice'],
  ])('%s is rejected (%s)', (path, systemd, message) => {
    expect(() => resolveCgroupPath(path, 'id', systemd)).toThrow(message);
  });

  test('slices expand like systemd', () => {
    expect(expandSlice('a-b-c.slice')).toBe('/a.slice/a-b.slice/a-b-c.slice');
    expect(expandSlice('-.slice')).toBe('/');
  });

  test('a group never lands outside the cgroup filesystem', () => {
    expect(new V1Cgroups('/sys/fs/cgroup').group('/docker/x').dir).toBe('/sys/fs/cgroup/cpu/docker/x');
    expect(new V2Cgroups('/sys/fs/cgroup').group('/x').dir).toBe('/sys/fs/cgroup/x');
    expect(() => new V1Cgroups('/sys/fs/cgroup').group('/../../etc')).toThrow('escapes');
  });

  test('/proc/<pid>/cgroup parsing (v1 with named and unified lines)', () => {
    const proc = mkdtempSync(join(tmpdir(), 'vk-proc-'));
    mkdirSync(join(proc, '42'));
    writeFileSync(join(proc, '42/cgroup'), '9:name=systemd:/\n4:memory:/m/x\n2:cpu,cpuacct:/docker/x\n0::/u\n');
    expect(taskCgroup(42, 'cpu', proc)).toBe('/docker/x');
    expect(taskCgroup(42, 'cpuacct', proc)).toBe('/docker/x');
    expect(taskCgroup(42, 'memory', proc)).toBe('/m/x');
    expect(taskCgroup(42, 'pids', proc)).toBe('/u');
  });
});

describe('adaptive rule (seed: α1 β1 for FIFO, α2 β2 for CFS)', () => {
  const t = { cpuHigh: 80, cpuLow: 20, ctxHigh: 100, ctxLow: 10 };
  test.each([
    ['cfs', 95, 500, 'fifo'],
    ['cfs', 95, 50, 'cfs'],
    ['fifo', 50, 50, 'fifo'],
    ['fifo', 5, 5, 'cfs'],
    ['fifo', 5, 50, 'fifo'],
    ['cfs', 80, 500, 'cfs'],
  ] as const)('%s at cpu %d%% ctx %d/s → %s', (cur, cpu, ctx, next) => {
    expect(decide(cur, cpu, ctx, t)).toBe(next);
  });

  test('rates: percent of one CPU and switches per second; exited threads never make it negative', () => {
    const a = { at: 0n, usage: 0n };
    expect(cpuRate(a, { at: 1_000_000_000n, usage: 500_000_000n })).toBe(50);
    expect(cpuRate(a, { at: 500_000_000n, usage: 1_000_000_000n })).toBe(200);
    const s = { at: 0n, ctx: 100, runnable: 0 };
    expect(ctxRate(s, { at: 1_000_000_000n, ctx: 300, runnable: 0 })).toBe(200);
    expect(ctxRate(s, { at: 500_000_000n, ctx: 10, runnable: 0 })).toBe(0);
  });

  test('the per-thread scan is needed only when the CPU usage alone could lead to a switch', () => {
    // cfs stays cfs at cpu <= cpu_high and fifo stays fifo at cpu >= cpu_low, whatever the switches
    expect(needsScan('cfs', t.cpuHigh, t)).toBe(false);
    expect(needsScan('cfs', t.cpuHigh + 0.1, t)).toBe(true);
    expect(needsScan('fifo', t.cpuLow, t)).toBe(false);
    expect(needsScan('fifo', t.cpuLow - 0.1, t)).toBe(true);
    for (const cpu of [0, t.cpuLow, t.cpuHigh, 100]) {
      for (const mode of ['cfs', 'fifo'] as const) {
        if (needsScan(mode, cpu, t)) continue;
        for (const ctx of [0, 1e6]) for (const runnable of [0, 5]) expect(nextMode(mode, { cpu, ctx }, runnable, t)).toBe(mode);
      }
    }
  });

  test('a FIFO group that is runnable but got no CPU is throttled by its RT budget, not idle: it stays FIFO', () => {
    const idle = { cpu: 0, ctx: 0 };
    expect(nextMode('fifo', idle, 1, t)).toBe('fifo');
    expect(nextMode('fifo', idle, 0, t)).toBe('cfs');
    // the rest of the rule is the seed's
    expect(nextMode('cfs', { cpu: 95, ctx: 500 }, 0, t)).toBe('fifo');
    expect(nextMode('cfs', idle, 3, t)).toBe('cfs');
    expect(nextMode('fifo', { cpu: 50, ctx: 50 }, 0, t)).toBe('fifo');
  });

  test("sample: the group's CPU time and threads through the cgroups interface, switches and run state from /proc", () => {
    const proc = mkdtempSync(join(tmpdir(), 'vk-proc-'));
    const status = (state: string, vol: number, invol: number) => `Name:\tsh\nState:\t${state}\nvoluntary_ctxt_switches:\t${vol}\nnonvoluntary_ctxt_switches:\t${invol}\n`;
    mkdirSync(join(proc, '7'));
    mkdirSync(join(proc, '8'));
    writeFileSync(join(proc, '7/status'), status('R (running)', 10, 5));
    writeFileSync(join(proc, '8/status'), status('S (sleeping)', 1, 2));
    const cg = new MemoryCgroups().add('/c', {}, [7, 8, 9]); // 9 exited before it was read
    cg.nodes.get('/c')!.usage = 123n;
    expect(usage(cg.group('/c'))).toEqual({ at: expect.any(BigInt), usage: 123n });
    expect(taskScan(cg.group('/c'), proc)).toEqual({ at: expect.any(BigInt), ctx: 18, runnable: 1 });
  });
});
