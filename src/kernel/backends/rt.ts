import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { withLock } from '../../store/lock.js';
import { selfCommand } from '../../oci/self.js';
import { setPolicy } from '../sched.js';
import { CGROUP_ROOT, type HostProbe } from '../probe.js';
import type { SchedBackend } from './backend.js';

const LOCKS = process.env.VKERNEL_LOCK_DIR ?? '/run/vkernel-runtime/locks';
const RUNTIME = 'cpu.rt_runtime_us';

const readNum = (file: string) => Number(readFileSync(file, 'utf8').trim());

function writeRuntime(dir: string, us: number): void {
  try {
    writeFileSync(join(dir, RUNTIME), String(us));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EBUSY' || code === 'EINVAL' ? 'the RT budgets below it would exceed its own, or RT tasks need the budget' : (e as Error).message;
    throw new Error(`cannot set ${join(dir, RUNTIME)} to ${us}: ${why}`);
  }
}

/** sum of the RT budgets of dir's child groups */
function childrenSum(dir: string, except?: string): number {
  let sum = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const child = join(dir, e.name);
    if (e.isDirectory() && child !== except && existsSync(join(child, RUNTIME))) sum += readNum(join(child, RUNTIME));
  }
  return sum;
}

interface RtUndo { dir: string; base: string; raised: { dir: string; original: number }[] }

/**
 * Gives `dir` an RT budget of `us`, raising the budgets of its ancestors (below the hierarchy
 * root, which keeps the kernel's global limit and so the host's share) where they lack room.
 * Returns the ancestors it raised with their original values.
 */
async function grant(base: string, dir: string, us: number): Promise<RtUndo> {
  const chain: string[] = [];
  for (let d = dirname(dir); d !== base && d.startsWith(`${base}/`); d = dirname(d)) chain.unshift(d);
  // what each ancestor must hold: its other children plus the need of the child on our path
  const need = new Map<string, number>();
  let below = dir;
  let amount = us;
  for (const d of [...chain].reverse()) {
    amount += childrenSum(d, below);
    need.set(d, amount);
    below = d;
  }
  const rootRoom = readNum(join(base, RUNTIME)) - childrenSum(base, chain[0] ?? dir);
  if ((chain.length ? need.get(chain[0]) ?? 0 : us) > rootRoom) {
    throw new Error(`RT budget exhausted: ${us} µs per period asked, ${Math.max(rootRoom, 0)} µs left under ${base} (the kernel keeps the rest for non-RT tasks); delete a fifo container or lower rt.budget_percent in the runtime config`);
  }
  const raised: RtUndo['raised'] = [];
  try {
    for (const d of chain) {
      const original = readNum(join(d, RUNTIME));
      const want = need.get(d) ?? 0;
      if (original < want) {
        writeRuntime(d, want);
        raised.push({ dir: d, original });
      }
    }
    // groups removed a moment ago may still count in the kernel (see release): retry briefly
    for (const deadline = Date.now() + 3000; ;) {
      try {
        writeRuntime(dir, us);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(25);
      }
    }
  } catch (e) {
    await release({ dir, base, raised }, 0);
    throw e;
  }
  return { dir, base, raised };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Returns what grant raised, as far as the groups still below each ancestor allow. A removed
 * cgroup's task group lingers in the kernel for a moment (freed after an RCU grace period) and
 * still counts against its parent, so a refused write is retried for a bounded time.
 */
async function release(u: RtUndo, retryMs = 3000): Promise<void> {
  if (existsSync(join(u.dir, RUNTIME))) {
    try { writeFileSync(join(u.dir, RUNTIME), '0'); } catch { /* still has RT tasks; the group goes with the container */ }
  }
  for (const r of [...u.raised].reverse()) {
    for (const deadline = Date.now() + retryMs; ;) {
      if (!existsSync(join(r.dir, RUNTIME))) break;
      const want = Math.max(r.original, childrenSum(r.dir));
      if (readNum(join(r.dir, RUNTIME)) === want) break;
      try {
        writeRuntime(r.dir, want);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(20);
      }
    }
  }
}

function tasks(dir: string): number[] {
  return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

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
  async setup({ base, dir }, pid, mode, adaptive, rt) {
    if (mode === 'cfs' && !adaptive) return undefined;
    const period = readNum(join(dir, 'cpu.rt_period_us'));
    const us = Math.floor((period * rt.budgetPercent) / 100);
    const undo = await withLock(LOCKS, 'rt-budget', () => grant(base, dir, us));
    if (mode === 'fifo') await setPolicy(pid, 'fifo', rt.priority);
    return undo;
  },
  async switchTo({ dir }, mode, rt) {
    for (const pid of tasks(dir)) {
      try {
        await setPolicy(pid, mode === 'fifo' ? 'fifo' : 'other', rt.priority);
      } catch (e) {
        if (existsSync(`/proc/${pid}`)) throw e; // a task that exited meanwhile is fine
      }
    }
  },
  async release(undo) {
    // A removed cgroup's task group lingers in the kernel (freed after an RCU grace period) and its
    // RT budget keeps counting against the parent meanwhile: demote the tasks and zero the budget
    // while the group still exists, so the budget is free the moment runc removes it.
    const dir = (undo as RtUndo | undefined)?.dir;
    if (!dir || !existsSync(join(dir, RUNTIME))) return;
    for (const pid of tasks(dir)) {
      try { await setPolicy(pid, 'other'); } catch { /* exited meanwhile */ }
    }
    try { writeFileSync(join(dir, RUNTIME), '0'); } catch { /* a task forked FIFO meanwhile; teardown copes */ }
  },
  async teardown(undo) {
    if (!undo) return;
    try {
      await withLock(LOCKS, 'rt-budget', () => release(undo as RtUndo, 300));
    } catch {
      // the kernel still counts the removed group (its task group is freed after an RCU grace
      // period, which lazy RCU can stretch to seconds): finish in the background, off delete's path
      const self = selfCommand();
      spawn(self[0], [...self.slice(1), 'vkernel-rt-release', JSON.stringify(undo)], { detached: true, stdio: 'ignore' }).unref();
    }
  },
};

/** `vkernel-rt-release <undo-json>`: the background end of teardown, retrying for up to a minute */
export async function releaseLater(undoJson: string): Promise<number> {
  const u = JSON.parse(undoJson) as RtUndo;
  if (!u || typeof u.dir !== 'string' || !Array.isArray(u.raised)) throw new Error('vkernel-rt-release: bad argument');
  for (const d of [u.dir, ...u.raised.map((r) => r.dir)]) cpuDirOnly(d);
  for (const deadline = Date.now() + 60_000; ;) {
    try {
      // one attempt per lock hold, so fifo creates are never kept waiting behind us
      await withLock(LOCKS, 'rt-budget', () => release(u, 0));
      return 0;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(250);
    }
  }
}

/** the helper only ever writes inside the cgroup filesystem */
function cpuDirOnly(d: string): void {
  if (!d.startsWith(`${CGROUP_ROOT}/`) || d.split('/').includes('..')) throw new Error(`vkernel-rt-release: ${d} is not a cgroup`);
}
