import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { withLock } from '../../store/lock.js';
import { faultPoint } from '../../store/fault.js';
import { cmdline, isSameProcess, procRef, signalProcess, startTime, statField, type ProcRef } from '../../store/proc.js';
import { SUPERVISE, SUPERVISOR_PRIORITY, supervisorGroupPath, TICK_MS, WINDOW_MS, type SupervisorArgs } from '../../supervisor/args.js';
import type { Cgroups, CpuGroup } from '../cgroups/index.js';
import { CPU_CAP } from '../../supervisor/self-limit.js';
import type { HostProbe } from '../probe.js';
import { NODE_LIMIT_DEFAULT, type Mode, type SchedBackend } from './backend.js';
import { RT_LOCK, tidyLedger } from './rt.js';
import { capProblem, ledgerFile, prune, readLedger, settle, writeLedger } from './rt-ledger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { SUPERVISE };

/**
 * What teardown needs: the container's group, the supervisor's group (known before the supervisor
 * starts, so a kill at any point leaves it to remove), its log, and the supervisor once started.
 * `v2: true` tells it from the v1 backend's record.
 */
export interface RtV2Undo {
  v2: true; id: string; dir: string; own: string; log: string; supervisor?: ProcRef;
  /** what the supervisor was started with (gc starts it again with these if it is gone) */
  args?: SupervisorArgs;
}

/** how long create waits for the supervisor to have made the init SCHED_FIFO (TCG guests are slow) */
const READY_MS = 20_000;

/** the scheduling policy of a task from /proc/<pid>/stat (field 41), undefined when gone */
export function taskPolicy(pid: number, proc = '/proc'): number | undefined {
  try {
    return Number(statField(readFileSync(`${proc}/${pid}/stat`, 'utf8'), 41));
  } catch {
    return undefined;
  }
}

const SCHED_FIFO = 1;

/**
 * The node's RT ledger records this container as a holder of `percent` (counted in the node cap
 * like any rt-backend container; no parent budget to raise on cgroup v2). Under the RT lock.
 */
function hold(cgroups: Cgroups, group: CpuGroup, us: number, percent: number, file: string, limitPercent: number, id?: string): void {
  const doc = readLedger(file);
  if (prune(doc, cgroups).length) settle(doc, cgroups);
  delete doc.holders[group.dir]; // a stale record of this very group (an earlier container of the same id)
  const over = capProblem(doc, percent, limitPercent);
  if (over) {
    writeLedger(file, doc);
    throw new Error(over);
  }
  doc.holders[group.dir] = { us, percent, chain: [], id, since: new Date().toISOString(), ino: group.id() };
  writeLedger(file, doc);
}

/** the supervisor processes in its group (only those: the group is its alone), or the recorded one */
function supervisors(cgroups: Cgroups, u: RtV2Undo): ProcRef[] {
  const found: ProcRef[] = [];
  try {
    const own = cgroups.groupAt(u.own);
    if (own.exists()) for (const pid of own.procs()) found.push(procRef(pid));
  } catch { /* gone */ }
  if (u.supervisor && !found.some((p) => p.pid === u.supervisor!.pid)) found.push(u.supervisor);
  return found;
}

/**
 * Stops the supervisor and its sentinel (SIGTERM: the supervisor demotes the group's tasks and
 * leaves, the sentinel leaves; SIGKILL after a second) and removes their group. The group is
 * listed again until it is empty: a sentinel may have started a new supervisor, or the supervisor
 * a new sentinel, meanwhile. Only processes that are this container's supervisor or sentinel
 * (command line) are signalled.
 */
async function stopSupervisor(cgroups: Cgroups, u: RtV2Undo): Promise<void> {
  const ours = isOurs(u);
  const termed = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const procs = supervisors(cgroups, u).filter((p) => isSameProcess(p, ours) && ours(p.pid));
    if (!procs.length) break;
    for (const p of procs) {
      const key = `${p.pid}:${p.start}`;
      if (i >= 100) await signalProcess(p, 'SIGKILL', ours);
      else if (!termed.has(key)) {
        termed.add(key);
        await signalProcess(p, 'SIGTERM', ours);
      }
    }
    await sleep(10);
  }
  let own: CpuGroup | undefined;
  try { own = cgroups.groupAt(u.own); } catch { return; }
  for (let i = 0; i < 100 && own.exists(); i++) {
    try { rmdirSync(own.dir); } catch { await sleep(10); /* a killed supervisor is still leaving it */ }
  }
}

const isOurs = (u: RtV2Undo) => (pid: number) => {
  const c = cmdline(pid);
  return c.includes(SUPERVISE) && c.includes(`{"id":${JSON.stringify(u.id)},`);
};

/** how a running rt v2 container is supervised (vkernel-runtime ps, gc) */
export interface SupervisionStatus {
  /** the supervisor's and its sentinel's pids (none when gone) */
  supervisor?: number;
  sentinel?: number;
  /** threads of the container's group, and how many of them are SCHED_FIFO */
  threads: number;
  fifo: number;
  /** one line for people */
  text: string;
}

/** the supervisor and sentinel of the container of `undo` (their group's processes), and its tasks' policies */
export function supervisionStatus(cgroups: Cgroups, undo: unknown): SupervisionStatus {
  const u = checkV2Undo(cgroups, undo);
  const ours = isOurs(u);
  let supervisor: number | undefined;
  let sentinel: number | undefined;
  for (const p of supervisors(cgroups, u)) {
    if (!isSameProcess(p, ours) || !ours(p.pid)) continue;
    if (cmdline(p.pid).includes('"role":"sentinel"')) sentinel ??= p.pid;
    else supervisor ??= p.pid;
  }
  let tids: number[] = [];
  try {
    const g = cgroups.groupAt(u.dir);
    if (g.exists()) tids = g.threads();
  } catch { /* gone */ }
  const fifo = tids.filter((t) => taskPolicy(t) === SCHED_FIFO).length;
  let text: string;
  if (supervisor !== undefined) text = `supervised (supervisor ${supervisor}, sentinel ${sentinel ?? 'none: the supervisor starts one'})`;
  else if (fifo) text = `UNSUPERVISED: ${fifo} of ${tids.length} thread(s) SCHED_FIFO without a budget (supervisor and sentinel gone; vkernel-runtime gc starts a new supervisor)`;
  else text = `unsupervised: every thread SCHED_OTHER (supervisor gone${sentinel !== undefined ? `, sentinel ${sentinel} still there` : ''}; vkernel-runtime gc starts a new supervisor)`;
  return { supervisor, sentinel, threads: tids.length, fifo, text };
}

/**
 * gc, for a running container: starts its supervisor again if both it and its sentinel are gone
 * (killed together) and the container's init is still the one it supervised. Returns what it did.
 */
export function reviveSupervisor(d: { cgroups: Cgroups; host: { startHelper(argv: readonly string[]): number }; self: readonly string[] }, undo: unknown): string | undefined {
  const u = checkV2Undo(d.cgroups, undo);
  if (!u.args) return undefined;
  const st = supervisionStatus(d.cgroups, u);
  if (st.supervisor !== undefined || st.sentinel !== undefined) return undefined;
  if (!isSameProcess(u.args.init)) return undefined;
  const args: SupervisorArgs = { ...u.args };
  delete args.restarts;
  const pid = d.host.startHelper([...d.self, SUPERVISE, JSON.stringify(args)]);
  return `started a new rt v2 supervisor ${pid} for ${u.id} (it was ${st.text})`;
}

/** checks undo data read back from a state file before anything is written */
export function checkV2Undo(cgroups: Cgroups, x: unknown): RtV2Undo {
  const u = x as RtV2Undo | undefined;
  if (!u || u.v2 !== true || typeof u.id !== 'string' || typeof u.dir !== 'string' || typeof u.own !== 'string' || typeof u.log !== 'string') throw new Error('bad rt v2 undo record');
  cgroups.groupAt(u.dir);
  cgroups.groupAt(u.own);
  return u;
}

/** cfs: every task is CFS already, setup sets nothing (adaptive is not served here: unsupported) */
const rtV2Inert = (mode: Mode): boolean => mode === 'cfs';

/**
 * rt v2: stock kernels on cgroup v2 without RT group scheduling (Debian, Ubuntu, Fedora). FIFO is
 * SCHED_FIFO on the container's tasks, its RT budget (the v1 backend's: percent of each CPU of the
 * group) enforced by a supervisor process per container (src/supervisor/) that demotes the group's
 * tasks to SCHED_OTHER for the rest of a window once it used its budget in it, and follows tasks
 * that join later. The budget is a holder in the RT ledger like the v1 backend's, counted in the
 * node's cap. CFS needs nothing.
 */
export const rtV2Backend: SchedBackend = {
  name: 'rt-v2',
  unsupported(mode, probe: HostProbe) {
    if (mode === 'cfs') return undefined;
    if (probe.cgroup !== 'v2') return 'the rt v2 backend needs cgroup v2 (the unified hierarchy at /sys/fs/cgroup)';
    if (probe.rtGroupSched || probe.rtGroupSchedKernel) {
      return 'the kernel has RT group scheduling (CONFIG_RT_GROUP_SCHED) but cgroup v2 gives a group no RT budget: SCHED_FIFO is refused in a container\'s group (use cgroup v1, or a kernel without RT group scheduling)';
    }
    if (mode === 'adaptive') return 'sched.policy=adaptive is not available with the rt v2 backend (cgroup v2 without RT group scheduling): use fifo or cfs';
    return undefined;
  },
  inert: rtV2Inert,
  async setup(d, group, pid, mode, _adaptive, rt, journal) {
    if (rtV2Inert(mode)) return undefined;
    if (rt.priority >= SUPERVISOR_PRIORITY) throw new Error(`rt.priority ${rt.priority}: the rt v2 backend needs it below ${SUPERVISOR_PRIORITY}, its supervisor's priority`);
    const id = rt.id ?? group.path.split('/').pop() ?? 'container';
    const file = ledgerFile(d.lockDir);
    // the ledger's unit: the budget per second of one CPU, as the v1 backend's per-period budget
    const us = Math.floor((1_000_000 * rt.budgetPercent) / 100);
    await withLock(d.lockDir, RT_LOCK, async () => hold(d.cgroups, group, us, rt.budgetPercent, file, rt.nodeLimitPercent ?? NODE_LIMIT_DEFAULT, rt.id));
    const u: RtV2Undo = {
      v2: true, id, dir: group.dir, own: d.cgroups.group(supervisorGroupPath(group.path, id)).dir, log: join(d.lockDir, `rt-supervisor@${id}.log`),
    };
    // recorded before the supervisor exists: a kill from here on leaves delete --force/gc its group to stop and remove
    journal?.(u);
    faultPoint('rt-v2-held');
    const args: SupervisorArgs = {
      id, dir: group.dir, own: u.own, percent: rt.budgetPercent, priority: rt.priority, windowMs: WINDOW_MS, tickMs: TICK_MS,
      init: { pid, start: startTime(pid) }, log: u.log, cpuCapPercent: rt.supervisorCpuPercent ?? CPU_CAP * 100,
    };
    u.args = args;
    rmSync(u.log, { force: true });
    const sup = d.host.startHelper([...d.self, SUPERVISE, JSON.stringify(args)]);
    u.supervisor = procRef(sup);
    journal?.(u);
    faultPoint('rt-v2-supervisor-started');
    // create returns once the init is SCHED_FIFO under a running supervisor
    for (const deadline = Date.now() + READY_MS; ;) {
      if (taskPolicy(pid) === SCHED_FIFO) return u;
      if (!isSameProcess(u.supervisor)) {
        let said = '';
        try { said = readFileSync(u.log, 'utf8').trim().split('\n').pop() ?? ''; } catch { /* no log */ }
        throw new Error(`the RT supervisor ended before the container's tasks were SCHED_FIFO${said ? `: ${said.replace(/^\S+ /, '')}` : ''}`);
      }
      if (Date.now() > deadline) throw new Error(`the RT supervisor (pid ${sup}) did not make the container's init SCHED_FIFO within ${READY_MS / 1000} s`);
      await sleep(5);
    }
  },
  async switchTo() {
    throw new Error('the rt v2 backend does not switch a running container (adaptive is not available with it)');
  },
  async release(d, undo) {
    // the supervisor first (it demotes on SIGTERM), so nothing promotes the tasks again; then every
    // task that is left to SCHED_OTHER while the group still exists
    if (!undo) return;
    const u = checkV2Undo(d.cgroups, undo);
    await stopSupervisor(d.cgroups, u);
    const group = d.cgroups.groupAt(u.dir);
    if (!group.exists()) return;
    try { await d.host.setThreadsScheduler(group.threads(), 'other'); } catch { /* exited meanwhile */ }
  },
  async teardown(d, undo) {
    if (!undo) return;
    const u = checkV2Undo(d.cgroups, undo);
    await stopSupervisor(d.cgroups, u);
    rmSync(u.log, { force: true });
    const file = ledgerFile(d.lockDir);
    if (existsSync(file)) await withLock(d.lockDir, RT_LOCK, async () => tidyLedger(d.cgroups, file, u.dir));
  },
};
