import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withLock } from '../../store/lock.js';
import { faultPoint } from '../../store/fault.js';
import type { Cgroups, CpuGroup } from '../cgroups/index.js';
import type { HostProbe } from '../probe.js';
import type { HostOps } from '../../host/ops.js';
import { NODE_LIMIT_DEFAULT, type Mode, type SchedBackend } from './backend.js';
import { budgetUs, planGrant, restoreTo, withLingering, type Raise } from './rt-budget.js';
import { capProblem, ledgerFile, prune, pruneHolders, readLedger, settle, writeLedger } from './rt-ledger.js';

const RUNTIME = 'cpu.rt_runtime_us';
/** the host-wide lock (under BackendDeps.lockDir) every RT budget change holds */
export const RT_LOCK = 'rt-budget';

const budgetOf = (g: CpuGroup) => Number(g.read(RUNTIME));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeRuntime(g: CpuGroup, us: number): void {
  try {
    g.write(RUNTIME, String(us));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EBUSY' || code === 'EINVAL' ? 'the RT budgets below it would exceed its own, or RT tasks need the budget' : (e as Error).message;
    throw new Error(`cannot set ${join(g.dir, RUNTIME)} to ${us}: ${why}`);
  }
}

/** sum of the RT budgets of g's child groups (but `except`) */
function childrenSum(g: CpuGroup, except?: CpuGroup): number {
  let sum = 0;
  for (const c of g.children()) if (c.dir !== except?.dir && c.has(RUNTIME)) sum += budgetOf(c);
  return sum;
}

/**
 * what teardown needs: the group and the hierarchy's root; `ledger`: the budgets are in the RT
 * ledger (rt-ledger.ts), which release recomputes the parents from. `raised`: the ancestors an
 * older release of the runtime raised itself (state files written before the ledger).
 */
export interface RtUndo { dir: string; base: string; raised: { dir: string; original: number }[]; ledger?: boolean }

/** the node-wide cap of grant: the limit (percent of each CPU) and who asks, for the message */
export interface RtCap { limitPercent: number; id?: string }

/**
 * Gives `group` an RT budget of `us`, raising the budgets of its ancestors (below the hierarchy
 * root, which keeps the kernel's global limit and so the host's share) where they lack room.
 * Order: the ledger first (holders whose group is gone are dropped, the node cap is checked, then
 * this holder and the originals of the parents it will raise are recorded), then the raises. Run
 * under the RT lock. A failure takes the holder out again and settles the parents. Holders dropped
 * here may still count in the kernel (removed a moment ago, e.g. by runc's delete alone): the plan
 * leaves room for them where the root has it (rt-budget.ts withLingering).
 */
async function grant(cgroups: Cgroups, group: CpuGroup, us: number, percent: number, file: string, cap: RtCap, journal?: (u: RtUndo) => void): Promise<RtUndo> {
  const chain: CpuGroup[] = [];
  for (let p = group.parent(); p?.parent(); p = p.parent()) chain.unshift(p);
  const below = (i: number) => chain[i + 1] ?? group;
  const root = cgroups.root;
  const doc = readLedger(file);
  const gone = pruneHolders(doc, cgroups);
  if (gone.length) {
    settle(doc, cgroups);
    faultPoint('rt-ledger-settled');
  }
  delete doc.holders[group.dir]; // a stale record of this very group (an earlier container of the same id)
  const over = capProblem(doc, percent, cap.limitPercent);
  if (over) {
    writeLedger(file, doc);
    throw new Error(over);
  }
  const ancestors = chain.map((a, i) => ({ dir: a.dir, budget: budgetOf(a), others: childrenSum(a, below(i)) }));
  const top = { dir: root.dir, budget: budgetOf(root), others: childrenSum(root, chain[0] ?? group) };
  let plan: Raise[] | undefined;
  if (gone.length) {
    const l = withLingering(ancestors, top, gone.map(([, h]) => ({ parent: h.chain.at(-1) ?? root.dir, us: h.us })));
    try { plan = planGrant(us, l.chain, l.root); } catch { /* no room for them too: the write below waits for the kernel */ }
  }
  plan ??= planGrant(us, ancestors, top);
  for (const r of plan) doc.parents[r.dir] ??= { original: r.original };
  doc.holders[group.dir] = { us, percent, chain: chain.map((a) => a.dir), id: cap.id, since: new Date().toISOString(), ino: group.id() };
  writeLedger(file, doc);
  const undo: RtUndo = { dir: group.dir, base: root.dir, raised: [], ledger: true };
  // the container's state records the holder before any budget moves: a kill from here on leaves
  // delete --force/gc a teardown to run (release copes with raises that never happened)
  journal?.(undo);
  try {
    for (const r of plan) writeRuntime(cgroups.groupAt(r.dir), r.to);
    faultPoint('rt-budget-raised');
    // groups removed a moment ago may still count in the kernel (see release): retry briefly
    for (const deadline = Date.now() + 3000; ;) {
      try {
        writeRuntime(group, us);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(25);
      }
    }
  } catch (e) {
    try { group.write(RUNTIME, '0'); } catch { /* it never got one */ }
    delete doc.holders[group.dir];
    settle(doc, cgroups);
    writeLedger(file, doc);
    throw e;
  }
  return undo;
}

/**
 * The ledger's release of a group: its budget zeroed, its holder removed, every recorded parent
 * recomputed (settle). Throws when the kernel refused a parent's write (it still counts a removed
 * group for a moment): the record stays, and the next call (or any later ledger operation) finishes.
 */
export function releaseInLedger(cgroups: Cgroups, dir: string, file: string): void {
  const own = cgroups.groupAt(dir);
  if (own.exists() && own.has(RUNTIME)) {
    try { own.write(RUNTIME, '0'); } catch { /* still has RT tasks; the group goes with the container */ }
  }
  tidyLedger(cgroups, file, dir);
}

/**
 * The ledger without `drop` and without holders whose group is gone, every recorded parent
 * recomputed (settle), written back. Returns the holders dropped as gone. Throws when the kernel
 * refused a parent's write (it still counts a removed group for a moment): the caller retries.
 */
export function tidyLedger(cgroups: Cgroups, file: string, drop?: string): string[] {
  const doc = readLedger(file);
  if (drop) delete doc.holders[drop];
  const gone = prune(doc, cgroups);
  const refused = settle(doc, cgroups);
  writeLedger(file, doc);
  if (refused.length) throw new Error(`cannot lower the RT budget of ${refused.join(', ')} yet (the kernel still counts a removed group)`);
  return gone;
}

/**
 * Returns what grant raised, as far as the groups still below each ancestor allow. A removed
 * cgroup's task group lingers in the kernel for a moment (freed after an RCU grace period) and
 * still counts against its parent, so a refused write is retried for a bounded time.
 */
export async function release(cgroups: Cgroups, u: RtUndo, retryMs = 3000, file?: string): Promise<void> {
  if (u.ledger && file) {
    for (const deadline = Date.now() + retryMs; ;) {
      try {
        releaseInLedger(cgroups, u.dir, file);
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(20);
      }
    }
  }
  const own = cgroups.groupAt(u.dir);
  if (own.has(RUNTIME)) {
    try { own.write(RUNTIME, '0'); } catch { /* still has RT tasks; the group goes with the container */ }
  }
  for (const r of [...u.raised].reverse()) {
    const g = cgroups.groupAt(r.dir);
    for (const deadline = Date.now() + retryMs; ;) {
      if (!g.has(RUNTIME)) break;
      const want = restoreTo(r.original, childrenSum(g));
      if (budgetOf(g) === want) break;
      try {
        writeRuntime(g, want);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(20);
      }
    }
  }
}

/** checks undo data read back from a state file or an argument before anything is written */
export function checkUndo(cgroups: Cgroups, u: unknown): RtUndo {
  const x = u as RtUndo | undefined;
  if (!x || typeof x.dir !== 'string' || !Array.isArray(x.raised)) throw new Error('bad RT undo record');
  for (const d of [x.dir, ...x.raised.map((r) => r.dir)]) cgroups.groupAt(d);
  return x;
}

/**
 * Every thread of the group to `policy`, in one call of the host (in-process syscalls under bun,
 * no process per task). A thread forked from a not-yet-switched one inherits the old policy: the
 * thread list is read again and the new ones set, until no new thread shows up (at most 5 rounds).
 * A thread that exited meanwhile is fine; a live one that could not be set is an error.
 */
async function setGroupThreads(host: HostOps, group: CpuGroup, policy: 'fifo' | 'other', priority?: number): Promise<void> {
  const done = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const todo = group.threads().filter((t) => !done.has(t));
    if (!todo.length) return;
    const failed = await host.setThreadsScheduler(todo, policy, priority);
    for (const t of todo) done.add(t);
    const live = failed.filter((t) => existsSync(`/proc/${t}`));
    if (live.length) throw new Error(`cannot set ${policy === 'fifo' ? 'SCHED_FIFO' : 'SCHED_OTHER'} on thread ${live.join(', ')} of ${group.dir}: No such process or not permitted`);
  }
}

/** cfs, not adaptive: every task is CFS already, setup sets nothing */
const rtInert = (mode: Mode, adaptive: boolean): boolean => mode === 'cfs' && !adaptive;

/**
 * Stock kernels with RT group scheduling: FIFO is SCHED_FIFO on the container's tasks (children
 * inherit it) with an RT bandwidth budget on the container's cpu cgroup, so a FIFO container can
 * never starve the host. CFS is SCHED_OTHER and needs nothing.
 */
export const rtBackend: SchedBackend = {
  name: 'rt',
  unsupported(mode, probe: HostProbe) {
    if (mode === 'cfs') return undefined;
    if (!probe.rtGroupSched) {
      return probe.cgroup === 'v2'
        ? 'cgroup v2 without RT group scheduling: SCHED_FIFO cannot be bounded per container here (needs the vkernel kernel, or cgroup v1 with CONFIG_RT_GROUP_SCHED)'
        : 'the kernel has no RT group scheduling (CONFIG_RT_GROUP_SCHED): SCHED_FIFO cannot be bounded per container';
    }
    return undefined;
  },
  inert: rtInert,
  async setup(d, group, pid, mode, adaptive, rt, journal) {
    if (rtInert(mode, adaptive)) return undefined;
    const us = budgetUs(Number(group.read('cpu.rt_period_us')), rt.budgetPercent);
    const cap = { limitPercent: rt.nodeLimitPercent ?? NODE_LIMIT_DEFAULT, id: rt.id };
    const undo = await withLock(d.lockDir, RT_LOCK, () => grant(d.cgroups, group, us, rt.budgetPercent, ledgerFile(d.lockDir), cap, journal));
    if (mode === 'fifo') await d.host.setScheduler(pid, 'fifo', rt.priority);
    return undo;
  },
  async switchTo(d, group, mode, rt) {
    await setGroupThreads(d.host, group, mode === 'fifo' ? 'fifo' : 'other', rt.priority);
  },
  async release(d, undo) {
    // A removed cgroup's task group lingers in the kernel (freed after an RCU grace period) and its
    // RT budget keeps counting against the parent meanwhile: demote the tasks and zero the budget
    // while the group still exists, so the budget is free the moment runc removes it.
    if (!undo) return;
    const group = d.cgroups.groupAt(checkUndo(d.cgroups, undo).dir);
    if (!group.has(RUNTIME)) return;
    try { await setGroupThreads(d.host, group, 'other'); } catch { /* exited meanwhile */ }
    try { group.write(RUNTIME, '0'); } catch { /* a task forked FIFO meanwhile; teardown copes */ }
  },
  async teardown(d, undo) {
    if (!undo) return;
    const u = checkUndo(d.cgroups, undo);
    try {
      await withLock(d.lockDir, RT_LOCK, () => release(d.cgroups, u, 300, ledgerFile(d.lockDir)));
    } catch {
      // the kernel still counts the removed group (its task group is freed after an RCU grace
      // period, which lazy RCU can stretch to seconds): finish in the background, off delete's path
      d.host.startHelper([...d.self, 'vkernel-rt-release', JSON.stringify(u)]);
    }
  },
};
