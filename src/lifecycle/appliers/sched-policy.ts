import { rmSync } from 'node:fs';
import { adaptiveLog } from '../../adaptive/paths.js';
import { BACKENDS, chooseBackend } from '../../kernel/backends/index.js';
import { RT_DEFAULTS, type BackendDeps, type Mode } from '../../kernel/backends/backend.js';
import { resolveCgroupPath } from '../../kernel/cgroups/path.js';
import type { Applier, HostContext } from '../applier.js';

interface Undo { backend: 'kernel' | 'rt'; backendUndo: unknown }

const deps = (ctx: HostContext): BackendDeps => ({ cgroups: ctx.cgroups(), host: ctx.host, lockDir: ctx.env.lockDir, self: ctx.env.self });

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
    const cgroups = ctx.cgroups();
    // where runc really put the init task is the truth; the spec's path was checked before create
    const path = cgroups.taskPath(ctx.pid) ?? cgroups.containerPath(ctx.spec.linux?.cgroupsPath, ctx.id);
    const group = cgroups.group(path, ctx.pid);
    const mode: Mode = policy === 'fifo' ? 'fifo' : 'cfs';
    const backendUndo = await backend.setup(deps(ctx), group, ctx.pid, mode, policy === 'adaptive', ctx.config?.rt ?? RT_DEFAULTS);
    ctx.state.backend = backend.name;
    ctx.state.cgroupPath = path;
    ctx.log.debug(`${ctx.id}: sched.policy=${policy} via ${backend.name} backend on ${group.dir}`);
    return { backend: backend.name, backendUndo } satisfies Undo;
  },
  async started(ctx) {
    if (ctx.state.policy['sched.policy'] !== 'adaptive') return;
    try {
      ctx.state.helpers.adaptive = ctx.host.startHelper([...ctx.self, ...ctx.globals, 'vkernel-adaptive', ctx.id]);
    } catch {
      throw new Error('cannot start the adaptive controller');
    }
  },
  async release(ctx, undo) {
    const u = undo as Undo;
    await BACKENDS[u.backend].release?.(deps(ctx), u.backendUndo);
  },
  async undo(ctx, undo) {
    const u = undo as Undo;
    rmSync(adaptiveLog(ctx.root, ctx.id), { force: true });
    await BACKENDS[u.backend].teardown(deps(ctx), u.backendUndo);
  },
};
