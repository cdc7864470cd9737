import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEnv } from '../../src/env.js';
import { chooseBackend, schedVariant } from '../../src/kernel/backends/index.js';
import { scxBackend, scxText } from '../../src/kernel/backends/scx.js';
import type { HostProbe } from '../../src/kernel/probe.js';
import { schedPolicy } from '../../src/lifecycle/appliers/sched-policy.js';
import type { ApplyContext, UndoContext } from '../../src/lifecycle/applier.js';
import { Logger } from '../../src/log/logger.js';
import type { ContainerState } from '../../src/store/state.js';
import { MemoryCgroups } from '../doubles/cgroups.js';
import { FakeHost } from '../doubles/host-ops.js';
import { FakeScx } from '../doubles/scx.js';

let locks: string;
beforeAll(() => { locks = mkdtempSync(join(tmpdir(), 'vk-scx-locks-')); });
afterAll(() => rmSync(locks, { recursive: true, force: true }));

const probe = (schedExt: HostProbe['schedExt']): HostProbe => ({ vkernelFeatures: [], cgroup: 'v2', rtGroupSched: false, modules: false, release: '6.12.117', schedExt });

function context(policy: ContainerState['policy'], scx = new FakeScx()) {
  const cg = new MemoryCgroups().add('/', {}).add('/runc-parent', {}).add('/runc-parent/c1', {}, [100]);
  const host = new FakeHost();
  const env = { ...readEnv({}), lockDir: locks, self: ['/usr/local/bin/vkernel-runtime'] };
  const state: ContainerState = { version: 1, id: 'c1', bundle: '/b', created: '', policy, sources: {}, helpers: {}, applied: [] };
  const ctx: ApplyContext = {
    id: 'c1', bundle: '/b', spec: { linux: {} }, policy, pid: 100, state, systemdCgroup: false, probe: probe(scx.state),
    log: new Logger({ format: 'text', debug: false }), env, host, cgroups: () => cg, scx: () => scx,
  };
  const undoCtx: UndoContext = { id: 'c1', state, log: ctx.log, root: '/run/x', self: env.self, globals: [], env, host, cgroups: () => cg, scx: () => scx };
  return { scx, host, ctx, state, undoCtx };
}

describe('scx backend: which hosts', () => {
  test('a kernel without sched_ext: fifo and adaptive refused with the reason, cfs needs nothing', () => {
    expect(scxBackend.unsupported('fifo', probe(undefined))).toMatch(/sched_ext \(CONFIG_SCHED_CLASS_EXT/);
    expect(scxBackend.unsupported('adaptive', probe(undefined))).toMatch(/sched_ext/);
    expect(scxBackend.unsupported('cfs', probe(undefined))).toBeUndefined();
  });

  test('sched_ext disabled, or our scheduler running: usable', () => {
    expect(scxBackend.unsupported('fifo', probe({ state: 'disabled' }))).toBeUndefined();
    expect(scxBackend.unsupported('fifo', probe({ state: 'enabled', ops: 'vkernel' }))).toBeUndefined();
  });

  test('another BPF scheduler holds sched_ext: refused, naming it', () => {
    expect(scxBackend.unsupported('fifo', probe({ state: 'enabled', ops: 'rusty' }))).toMatch(/another sched_ext scheduler \(rusty\)/);
  });

  test('backend=scx chooses it; auto chooses it where sched_ext is free or ours, after the patched kernel, before rt', () => {
    const p = probe({ state: 'disabled' });
    expect(chooseBackend({ 'sched.policy': 'fifo', backend: 'scx' }, p).name).toBe('scx');
    for (const m of ['fifo', 'adaptive', 'cfs'] as const) expect(chooseBackend({ 'sched.policy': m }, p).name).toBe('scx');
    expect(chooseBackend({ 'sched.policy': 'fifo' }, probe({ state: 'enabled', ops: 'vkernel' })).name).toBe('scx');
    // another BPF scheduler holds sched_ext, or none: the host's rt variant (v2 here), as before
    expect(chooseBackend({ 'sched.policy': 'fifo' }, probe({ state: 'enabled', ops: 'rusty' })).name).toBe('rt-v2');
    expect(chooseBackend({ 'sched.policy': 'fifo' }, probe(undefined)).name).toBe('rt-v2');
    // the patched kernel first
    expect(chooseBackend({ 'sched.policy': 'fifo' }, { ...p, vkernelAbi: 2, vkernelFeatures: ['real_policy'] }).name).toBe('kernel');
    expect(schedVariant(p)).toEqual({ variant: 'scx', why: expect.stringMatching(/sched_ext.*scx_vkernel.*arrival order/) as unknown as string });
    expect(schedVariant(probe({ state: 'enabled', ops: 'rusty' })).variant).toBe('rt v2');
  });

  test('what ps and doctor say', () => {
    expect(scxText({ state: 'enabled', ops: 'vkernel' })).toBe('scheduler vkernel running');
    expect(scxText({ state: 'disabled' })).toMatch(/SCHEDULER GONE .*fair class/);
    expect(scxText({ state: 'enabled', ops: 'lavd' })).toMatch(/ANOTHER sched_ext scheduler \(lavd\)/);
    expect(scxText(undefined)).toMatch(/no sched_ext/);
  });
});

describe('scx backend through the sched-policy applier (ScxControl double)', () => {
  test('fifo: starts the scheduler, puts the group in the map as fifo, switches the init to SCHED_EXT', async () => {
    const { scx, ctx, state } = context({ 'sched.policy': 'fifo', backend: 'scx' });
    const undo = await schedPolicy.apply(ctx);
    expect(scx.ops('start')).toEqual([[join(locks, 'scx_vkernel.log')]]);
    const id = scx.ids.get('/cg/runc-parent/c1');
    expect(id).toBeDefined();
    expect([...scx.map]).toEqual([[id, 'fifo']]);
    expect(scx.ops('switchTasks')).toEqual([[100, 'ext']]);
    expect(state.backend).toBe('scx');
    expect(undo).toEqual({ backend: 'scx', backendUndo: { scx: true, cgid: String(id), dir: '/cg/runc-parent/c1' } });
  });

  test('the map entry is journaled before the map changes', async () => {
    const { scx, ctx } = context({ 'sched.policy': 'fifo', backend: 'scx' });
    const seen: unknown[] = [];
    ctx.journal = (u) => { seen.push([u, scx.map.size]); };
    await schedPolicy.apply(ctx);
    expect(seen).toEqual([[{ backend: 'scx', backendUndo: expect.objectContaining({ scx: true }) }, 0]]);
  });

  test('the scheduler already running: not started again', async () => {
    const scx = new FakeScx();
    scx.state = { state: 'enabled', ops: 'vkernel' };
    const { ctx } = context({ 'sched.policy': 'fifo', backend: 'scx' }, scx);
    await schedPolicy.apply(ctx);
    expect(scx.ops('start')).toEqual([]);
    expect(scx.map.size).toBe(1);
  });

  test('a scheduler that ends before it is enabled: create fails with where to look, nothing in the map', async () => {
    const scx = new FakeScx();
    scx.startEnables = false;
    const { ctx } = context({ 'sched.policy': 'fifo', backend: 'scx' }, scx);
    await expect(schedPolicy.apply(ctx)).rejects.toThrow(/ended before it was enabled: see .*scx_vkernel\.log/);
    expect(scx.map.size).toBe(0);
    expect(scx.ops('switchTasks')).toEqual([]);
  });

  test('another scheduler loaded meanwhile: refused, nothing switched', async () => {
    const scx = new FakeScx();
    scx.state = { state: 'enabled', ops: 'rusty' };
    const { ctx } = context({ 'sched.policy': 'fifo', backend: 'scx' }, scx);
    await expect(schedPolicy.apply(ctx)).rejects.toThrow(/another sched_ext scheduler \(rusty\)/);
    expect(scx.ops('start')).toEqual([]);
    expect(scx.ops('switchTasks')).toEqual([]);
  });

  test('cfs: nothing (the fair class), no scheduler started', async () => {
    const { scx, ctx } = context({ 'sched.policy': 'cfs', backend: 'scx' });
    const undo = await schedPolicy.apply(ctx);
    expect(scx.calls).toEqual([]);
    expect(undo).toEqual({ backend: 'scx', backendUndo: undefined });
  });

  test('adaptive: the group starts as vtime; the controller switches the entry, not the tasks', async () => {
    const { scx, ctx } = context({ 'sched.policy': 'adaptive', backend: 'scx' });
    await schedPolicy.apply(ctx);
    const id = scx.ids.get('/cg/runc-parent/c1')!;
    expect(scx.map.get(id)).toBe('vtime');
    const group = ctx.cgroups().group('/runc-parent/c1');
    await scxBackend.switchTo({ cgroups: ctx.cgroups(), host: ctx.host, lockDir: locks, self: [], scx }, group, 'fifo', { priority: 1, budgetPercent: 25 });
    expect(scx.map.get(id)).toBe('fifo');
    await scxBackend.switchTo({ cgroups: ctx.cgroups(), host: ctx.host, lockDir: locks, self: [], scx }, group, 'cfs', { priority: 1, budgetPercent: 25 });
    expect(scx.map.get(id)).toBe('vtime');
    expect(scx.ops('switchTasks')).toEqual([[100, 'ext']]);
  });

  test('delete removes the entry; again (delete --force) is fine; no pinned map is fine', async () => {
    const { scx, ctx, undoCtx } = context({ 'sched.policy': 'fifo', backend: 'scx' });
    const undo = await schedPolicy.apply(ctx);
    await schedPolicy.undo(undoCtx, undo);
    expect(scx.map.size).toBe(0);
    await schedPolicy.undo(undoCtx, undo);
    scx.delError = new Error('scx_vkernel del 1000: /sys/fs/bpf/vkernel/scx_policies: No such file or directory (the scheduler was never started: scx_vkernel run)');
    await schedPolicy.undo(undoCtx, undo);
    scx.delError = new Error('scx_vkernel del 1000: Operation not permitted');
    await expect(schedPolicy.undo(undoCtx, undo)).rejects.toThrow(/not permitted/);
  });

  test('a forged undo record is refused before anything runs', async () => {
    const { scx, undoCtx } = context({ 'sched.policy': 'fifo', backend: 'scx' });
    await expect(schedPolicy.undo(undoCtx, { backend: 'scx', backendUndo: { scx: true, cgid: '1; rm -rf /', dir: '/x' } })).rejects.toThrow(/bad scx undo record/);
    expect(scx.ops('del')).toEqual([]);
  });
});
