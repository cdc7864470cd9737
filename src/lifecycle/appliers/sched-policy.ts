import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { adaptiveLog } from '../../adaptive/paths.js';
import { BACKENDS, chooseBackend } from '../../kernel/backends/index.js';
import { RT_DEFAULTS, type Mode } from '../../kernel/backends/backend.js';
import { cpuGroup, resolveCgroupPath, taskCgroup } from '../../kernel/cgroup-path.js';
import type { Applier } from '../applier.js';

interface Undo { backend: 'kernel' | 'rt'; backendUndo: unknown }

/**
 * io.vkernel.sched.policy: cfs, fifo or adaptive inside the container's cgroup, through the
 * kernel backend (cpu.real_policy) or the rt backend (SCHED_FIFO + RT budget). For adaptive the
 * group starts as CFS and a controller process, started after `runc start`, switches it.
 */
export const schedPolicy: Applier = {
  name: 'sched-policy',
  keys: ['sched.policy'],
  requested: (p) => p['sched.policy'] !== undefined,
  check({ spec, id, systemdCgroup }) {
    resolveCgroupPath(spec.linux?.cgroupsPath, id, systemdCgroup);
  },
  unsupported: (p, probe) => chooseBackend(p, probe).unsupported(p['sched.policy'] ?? 'cfs', probe),
  async apply(ctx) {
    const policy = ctx.policy['sched.policy'] ?? 'cfs';
    const backend = chooseBackend(ctx.policy, ctx.probe);
    const v2 = ctx.probe.cgroup === 'v2';
    // where runc really put the init task is the truth; the spec's path was checked before create
    const rel = taskCgroup(ctx.pid, v2 ? '' : 'cpu') ?? resolveCgroupPath(ctx.spec.linux?.cgroupsPath, ctx.id, ctx.systemdCgroup);
    const group = cpuGroup(rel, v2);
    const mode: Mode = policy === 'fifo' ? 'fifo' : 'cfs';
    const backendUndo = await backend.setup(group, ctx.pid, mode, policy === 'adaptive', ctx.config?.rt ?? RT_DEFAULTS);
    ctx.state.backend = backend.name;
    ctx.state.cgroupPath = rel;
    ctx.log.debug(`${ctx.id}: sched.policy=${policy} via ${backend.name} backend on ${group.dir}`);
    return { backend: backend.name, backendUndo } satisfies Undo;
  },
  async started(ctx) {
    if (ctx.state.policy['sched.policy'] !== 'adaptive') return;
    const child = spawn(ctx.self[0], [...ctx.self.slice(1), ...ctx.globals, 'vkernel-adaptive', ctx.id], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    if (!child.pid) throw new Error('cannot start the adaptive controller');
    ctx.state.helpers.adaptive = child.pid;
  },
  async release(_ctx, undo) {
    const u = undo as Undo;
    await BACKENDS[u.backend].release?.(u.backendUndo);
  },
  async undo(ctx, undo) {
    const u = undo as Undo;
    rmSync(adaptiveLog(ctx.root, ctx.id), { force: true });
    await BACKENDS[u.backend].teardown(u.backendUndo);
  },
};
