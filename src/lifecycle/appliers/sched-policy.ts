import { rmdirSync, rmSync } from 'node:fs';
import { posix } from 'node:path';
import { adaptiveLog, controllerGroupPath } from '../../adaptive/paths.js';
import { BACKENDS, chooseBackend } from '../../kernel/backends/index.js';
import { NODE_LIMIT_DEFAULT, RT_DEFAULTS, type BackendDeps, type Mode, type RtSettings, type SchedBackend } from '../../kernel/backends/backend.js';
import { capProblem, holderLive, ledgerFile, readLedger } from '../../kernel/backends/rt-ledger.js';
import type { RtUndo } from '../../kernel/backends/rt.js';
import { linuxScx } from '../../kernel/backends/scx-control.js';
import type { RuntimeConfig } from '../../policy/config.js';
import { defaults } from '../../policy/validate.js';
import { resolveCgroupPath } from '../../kernel/cgroups/path.js';
import type { Applier, CheckContext, HostContext } from '../applier.js';
import { cmdline, isSameProcess, procRef, signalProcess } from '../../store/proc.js';
import type { UndoContext } from '../applier.js';
import { SUPERVISOR_PRIORITY } from '../../supervisor/args.js';

interface Undo { backend: SchedBackend['name']; backendUndo: unknown }

const deps = (ctx: HostContext): BackendDeps => ({
  cgroups: ctx.cgroups(), host: ctx.host, lockDir: ctx.env.lockDir, self: ctx.env.self, scx: ctx.scx?.() ?? linuxScx(ctx.env.scxLoader),
});

/** the rt backend's settings for this container: the config's, with the node's limit */
const rtSettings = (config: RuntimeConfig | undefined, id: string): RtSettings => ({
  ...(config?.rt ?? RT_DEFAULTS), nodeLimitPercent: config?.operator.limits.rtBudgetPercent ?? NODE_LIMIT_DEFAULT, id,
});

/**
 * Before `runc create`: would this container's RT budget exceed the node's limit (all vkernel
 * containers, from the RT ledger)? Holders whose group is gone do not count. The grant checks
 * again under the RT lock (two creates racing for the last slot: the second is rolled back).
 */
function nodeCapCheck(ctx: CheckContext): void {
  const p = ctx.policy['sched.policy'];
  if ((p !== 'fifo' && p !== 'adaptive') || !ctx.probe || !ctx.host) return;
  const backend = chooseBackend(ctx.policy, ctx.probe);
  if ((backend.name !== 'rt' && backend.name !== 'rt-v2') || backend.unsupported(p, ctx.probe) !== undefined) return;
  const rt = rtSettings(ctx.config, ctx.id);
  const doc = readLedger(ledgerFile(ctx.host.env.lockDir));
  const cgroups = ctx.host.cgroups();
  for (const [dir, h] of Object.entries(doc.holders)) if (!holderLive(cgroups, dir, h)) delete doc.holders[dir];
  const over = capProblem(doc, rt.budgetPercent, rt.nodeLimitPercent ?? NODE_LIMIT_DEFAULT);
  if (over) throw new Error(`io.vkernel.sched.policy=${p}: ${over}${ctx.config ? ` (limits.rt_budget_percent in ${ctx.config.path})` : ''}`);
}

/**
 * Before `runc create`: the rt v2 backend's supervisor runs at SCHED_FIFO 99 and must preempt the
 * container's tasks to hold them to their budget, so it cannot serve tasks at 99 (`rt.priority`,
 * the operator's): refused with the reason, whatever `strict` says (the container would not get
 * what the config asks for).
 */
function rtV2PriorityCheck(ctx: CheckContext): void {
  if (ctx.policy['sched.policy'] !== 'fifo' || !ctx.probe) return;
  const backend = chooseBackend(ctx.policy, ctx.probe);
  if (backend.name !== 'rt-v2' || backend.unsupported('fifo', ctx.probe) !== undefined) return;
  const priority = ctx.config?.rt.priority ?? RT_DEFAULTS.priority;
  if (priority < SUPERVISOR_PRIORITY) return;
  throw new Error(`io.vkernel.sched.policy=fifo: rt.priority ${priority}${ctx.config ? ` (in ${ctx.config.path})` : ''} is not available with the rt v2 backend (cgroup v2 without RT group scheduling): its supervisor runs at SCHED_FIFO ${SUPERVISOR_PRIORITY} and must preempt the container's tasks to hold them to their budget; set rt.priority to 1 to ${SUPERVISOR_PRIORITY - 1}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** the runtime's global flags for a helper: the caller's, with --root made explicit */
function helperGlobals(ctx: UndoContext): string[] {
  const g: string[] = [];
  for (let i = 0; i < ctx.globals.length; i++) {
    const a = ctx.globals[i];
    if (a === '--root' || a === '-root') { i++; continue; }
    if (/^-{1,2}root=/.test(a)) continue;
    g.push(a);
  }
  return ['--root', ctx.root, ...g];
}

/**
 * Stops the adaptive controller (only the process we started: pid and start time) before the
 * group's tasks are demoted, so it cannot switch them back, and removes its cgroup (the
 * controller leaves and removes it itself on SIGTERM; this is for one that was killed).
 */
async function stopController(ctx: UndoContext): Promise<void> {
  const helper = ctx.state.helpers.adaptive;
  if (helper !== undefined) {
    const ours = (pid: number) => cmdline(pid).includes(`vkernel-adaptive ${ctx.id}`);
    if (await signalProcess(helper, 'SIGTERM', ours)) {
      // (it ends within a few ms: looked at after 1, 2, 4, 8 ms, then every 10 ms, ~1 s in all)
      for (let i = 0, ms = 1; i < 100 && isSameProcess(helper, ours); i++, ms = Math.min(ms * 2, 10)) await sleep(ms);
      if (isSameProcess(helper, ours)) await signalProcess(helper, 'SIGKILL', ours);
    }
  }
  if (!ctx.state.cgroupPath) return;
  let g;
  try { g = ctx.cgroups().group(controllerGroupPath(ctx.state.cgroupPath, ctx.id)); } catch { return; }
  for (let i = 0; i < 50 && g.exists(); i++) {
    try { rmdirSync(g.dir); } catch { await sleep(10); /* a killed controller is still leaving it */ }
  }
}

/**
 * io.vkernel.sched.policy: cfs, fifo or adaptive inside the container's cgroup, through the
 * kernel backend (cpu.real_policy), the rt backend (SCHED_FIFO + RT budget) or the scx backend
 * (SCHED_EXT + the sched_ext scheduler's map). For adaptive the
 * group starts as CFS and a controller process, started after `runc start`, switches it.
 */
export const schedPolicy: Applier = {
  name: 'sched-policy',
  keys: ['sched.policy'],
  requested: (p) => p['sched.policy'] !== undefined,
  check(ctx) {
    resolveCgroupPath(ctx.spec.linux?.cgroupsPath, ctx.id, ctx.systemdCgroup);
    rtV2PriorityCheck(ctx);
    nodeCapCheck(ctx);
  },
  unsupported: (p, probe) => chooseBackend(p, probe).unsupported(p['sched.policy'] ?? 'cfs', probe),
  // cfs where the backend sets nothing for it (the rt backends: every task is CFS already)
  inert: (p, probe) => (p['sched.policy'] ?? 'cfs') === 'cfs' && chooseBackend(p, probe).inert?.('cfs', false) === true,
  // fifo on the rt backend (v1): the group's RT budget and the init's policy, set before start as
  // they are now; the node's cap is checked before runc (check: nodeCapCheck), the grant again
  // under the RT lock. Not rt v2 (its supervisor, a process the apply starts), not adaptive
  late: (p, probe) => p['sched.policy'] === 'fifo' && chooseBackend(p, probe).name === 'rt',
  async apply(ctx) {
    const policy = ctx.policy['sched.policy'] ?? 'cfs';
    const backend = chooseBackend(ctx.policy, ctx.probe);
    const cgroups = ctx.cgroups();
    // where runc really put the init task is the truth; the spec's path was checked before create
    const path = cgroups.taskPath(ctx.pid) ?? cgroups.containerPath(ctx.spec.linux?.cgroupsPath, ctx.id);
    // never the root's: a budget or a policy there would be the host's. A dead init (a zombie) is
    // listed in the root of every hierarchy
    if (posix.normalize(path) === '/') throw new Error(`the container's init (pid ${ctx.pid}) is in the root cgroup (it has ended, or the container has no cgroup of its own): its policy would be the host's`);
    const group = cgroups.group(path, ctx.pid);
    const mode: Mode = policy === 'fifo' ? 'fifo' : 'cfs';
    const journal = (backendUndo: unknown) => ctx.journal?.({ backend: backend.name, backendUndo } satisfies Undo);
    const backendUndo = await backend.setup(deps(ctx), group, ctx.pid, mode, policy === 'adaptive', rtSettings(ctx.config, ctx.id), journal);
    ctx.state.backend = backend.name;
    ctx.state.cgroupPath = path;
    ctx.log.debug(`${ctx.id}: sched.policy=${policy} via ${backend.name} backend on ${group.dir}`);
    return { backend: backend.name, backendUndo } satisfies Undo;
  },
  startsAfter: (p) => p['sched.policy'] === 'adaptive',
  // cfs on the rt backends, cfs and fifo on the kernel backend (cpu.real_policy of the container's
  // own group): nothing outside the container's cgroup, no helper. fifo on the rt backend (v1): its
  // budget is in the RT ledger, whose next operation (a fifo create, gc) drops a holder whose group
  // runc removed and puts the parents back (rt-ledger.ts), so its delete needs no engine either.
  // Not adaptive (its controller), not rt v2 (its supervisor).
  diesWithContainer(undo, p) {
    if (p['sched.policy'] === 'adaptive') return false;
    const u = undo as Undo | undefined;
    if (u?.backendUndo === undefined) return true;
    const b = u.backendUndo as Partial<RtUndo>;
    return u.backend === 'rt' && b.ledger === true && Array.isArray(b.raised) && b.raised.length === 0;
  },
  rtGroupAtDelete(undo) {
    const u = undo as Undo | undefined;
    const b = u?.backendUndo as Partial<RtUndo> | undefined;
    return u?.backend === 'rt' && b?.ledger === true && typeof b.dir === 'string' ? b.dir : undefined;
  },
  async started(ctx) {
    const p = ctx.state.policy;
    if (p['sched.policy'] !== 'adaptive') return;
    // its start waits one interval: it switches nothing before its third sample anyway (its first
    // switch now comes three intervals after the container's start, not two), and a container that
    // ends sooner never pays for one (the engine's start-up, ~40 ms CPU here), nor does that
    // start-up compete with the container's own
    const interval = p['sched.adaptive.interval_ms'] ?? defaults['sched.adaptive.interval_ms'];
    try {
      ctx.state.helpers.adaptive = procRef(ctx.host.startHelper([...ctx.self, ...helperGlobals(ctx), 'vkernel-adaptive', ctx.id], interval));
    } catch {
      throw new Error('cannot start the adaptive controller');
    }
  },
  async release(ctx, undo) {
    const u = undo as Undo;
    await stopController(ctx);
    await BACKENDS[u.backend].release?.(deps(ctx), u.backendUndo);
  },
  async undo(ctx, undo) {
    const u = undo as Undo;
    await stopController(ctx);
    rmSync(adaptiveLog(ctx.root, ctx.id), { force: true });
    await BACKENDS[u.backend].teardown(deps(ctx), u.backendUndo);
  },
};
