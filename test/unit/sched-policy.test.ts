import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEnv } from '../../src/env.js';
import { schedPolicy } from '../../src/lifecycle/appliers/sched-policy.js';
import type { ApplyContext } from '../../src/lifecycle/applier.js';
import { Logger } from '../../src/log/logger.js';
import type { ContainerState } from '../../src/store/state.js';
import { MemoryCgroups } from '../doubles/cgroups.js';
import { FAKE_HELPER_PID, FakeHost } from '../doubles/host-ops.js';

const RT = 'cpu.rt_runtime_us';
let locks: string;
beforeAll(() => { locks = mkdtempSync(join(tmpdir(), 'vk-sp-locks-')); });
afterAll(() => rmSync(locks, { recursive: true, force: true }));

function context(policy: ContainerState['policy'], cgroupsPath?: string) {
  const cg = new MemoryCgroups()
    .add('/', { [RT]: 950_000 })
    .add('/runc-parent', { [RT]: 0 })
    .add('/runc-parent/c1', { [RT]: 0, 'cpu.rt_period_us': 1_000_000 }, [100]);
  const host = new FakeHost();
  const env = { ...readEnv({}), lockDir: locks, self: ['/usr/local/bin/vkernel-runtime'] };
  const state: ContainerState = { version: 1, id: 'c1', bundle: '/b', created: '', policy, sources: {}, helpers: {}, applied: [] };
  const ctx: ApplyContext = {
    id: 'c1', bundle: '/b', spec: { linux: { cgroupsPath } }, policy, pid: 100, state, systemdCgroup: false,
    probe: { vkernelFeatures: [], cgroup: 'v1', rtGroupSched: true, modules: false, release: 'test' },
    log: new Logger({ format: 'text', debug: false }), env, host, cgroups: () => cg,
  };
  return { cg, host, ctx, state };
}

describe('sched-policy applier over the cgroups and HostOps doubles', () => {
  test("the group is where runc put the init task (its cgroup), not where the spec's path points", async () => {
    const { cg, host, ctx, state } = context({ 'sched.policy': 'fifo' }, '/elsewhere/c1');
    const undo = await schedPolicy.apply(ctx);
    expect(state.cgroupPath).toBe('/runc-parent/c1');
    expect(state.backend).toBe('rt');
    expect(cg.value('/runc-parent/c1', RT)).toBe('250000');
    expect(host.ops('setScheduler')).toEqual([[100, 'fifo', 1]]);
    expect(undo).toMatchObject({ backend: 'rt', backendUndo: { dir: '/cg/runc-parent/c1' } });
  });

  test('an init listed in the root cgroup (dead: a zombie is; or a container without a group of its own): refused, nothing written to the root', async () => {
    for (const policy of ['fifo', 'cfs', 'adaptive'] as const) {
      const { cg, host, ctx, state } = context({ 'sched.policy': policy });
      cg.add('/', { [RT]: 950_000 }, [200]);
      await expect(schedPolicy.apply({ ...ctx, pid: 200 })).rejects.toThrow(/pid 200\) is in the root cgroup .*would be the host's/);
      expect(cg.value('/', RT)).toBe('950000');
      expect(host.ops('setScheduler')).toEqual([]);
      expect(state.cgroupPath).toBeUndefined();
    }
  });

  test('inert (nothing to apply: a create may be handed to runc whole) only where the backend sets nothing: cfs on the rt backends; not fifo, adaptive, or cfs on the kernel or scx backends', async () => {
    const { ctx, cg, host } = context({ 'sched.policy': 'cfs' });
    const v1 = ctx.probe;
    const v2 = { ...v1, cgroup: 'v2' as const, rtGroupSched: false };
    for (const probe of [v1, v2]) {
      expect(schedPolicy.inert!({ 'sched.policy': 'cfs' }, probe)).toBe(true);
      expect(schedPolicy.inert!({}, probe)).toBe(true);
      for (const policy of ['fifo', 'adaptive'] as const) expect(schedPolicy.inert!({ 'sched.policy': policy }, probe)).toBe(false);
      for (const backend of ['kernel', 'scx'] as const) expect(schedPolicy.inert!({ 'sched.policy': 'cfs', backend }, probe)).toBe(false);
    }
    // and what inert says holds: its apply changes nothing
    await schedPolicy.apply(ctx);
    expect(cg.writes).toEqual([]);
    expect(host.ops('setScheduler')).toEqual([]);
    // (where it is not, apply writes: the test would see it)
    const fifo = context({ 'sched.policy': 'fifo' });
    await schedPolicy.apply(fifo.ctx);
    expect(fifo.cg.writes).not.toEqual([]);
  });

  test('what dies with the container (its delete needs no engine): cfs, and fifo whose budget is in the RT ledger; not adaptive, not a budget from before the ledger', async () => {
    const fifo = context({ 'sched.policy': 'fifo' });
    const fifoUndo = await schedPolicy.apply(fifo.ctx);
    expect(schedPolicy.diesWithContainer!(fifoUndo, { 'sched.policy': 'fifo' })).toBe(true);
    const cfs = context({ 'sched.policy': 'cfs' });
    expect(schedPolicy.diesWithContainer!(await schedPolicy.apply(cfs.ctx), { 'sched.policy': 'cfs' })).toBe(true);
    const adaptive = context({ 'sched.policy': 'adaptive' });
    expect(schedPolicy.diesWithContainer!(await schedPolicy.apply(adaptive.ctx), { 'sched.policy': 'adaptive' })).toBe(false);
    // an older state: the parents it raised itself, not in the ledger
    expect(schedPolicy.diesWithContainer!({ backend: 'rt', backendUndo: { dir: '/cg/c1', base: '/cg', raised: [{ dir: '/cg/p', original: 0 }] } }, { 'sched.policy': 'fifo' })).toBe(false);
    expect(schedPolicy.diesWithContainer!({ backend: 'rt-v2', backendUndo: { dir: '/cg/c1', ledger: true, raised: [] } }, { 'sched.policy': 'fifo' })).toBe(false);
  });

  test('adaptive: the controller is started after start, with our globals, one interval later, and recorded as a helper', async () => {
    const { ctx, host, state } = context({ 'sched.policy': 'adaptive' });
    await schedPolicy.apply(ctx);
    await schedPolicy.started!({ ...ctx, root: '/run/x', self: ctx.env.self, globals: ['--root', '/run/x'] });
    expect(host.ops('startHelper')).toEqual([[['/usr/local/bin/vkernel-runtime', '--root', '/run/x', 'vkernel-adaptive', 'c1'], 1000]]);
    expect(state.helpers.adaptive).toMatchObject({ pid: FAKE_HELPER_PID });
    const every300 = context({ 'sched.policy': 'adaptive', 'sched.adaptive.interval_ms': 300 });
    await schedPolicy.apply(every300.ctx);
    await schedPolicy.started!({ ...every300.ctx, root: '/run/x', self: every300.ctx.env.self, globals: [] });
    expect(every300.host.ops('startHelper')).toEqual([[['/usr/local/bin/vkernel-runtime', '--root', '/run/x', 'vkernel-adaptive', 'c1'], 300]]);
  });
});
