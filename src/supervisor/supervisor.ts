import { existsSync } from 'node:fs';
import type { HostOps } from '../host/ops.js';
import type { CpuGroup } from '../kernel/cgroups/types.js';
import { initial, step, type Budget, type SupMode, type SupState } from './window.js';

/** what one sample did */
export interface TickResult {
  /** the policy the group was switched to in this sample */
  switched?: SupMode;
  /** threads seen for the first time and given the current policy */
  joined: number[];
  /** live threads whose policy could not be set (retried next sample) */
  failed: number[];
  sleepNs: bigint;
  /** CPU time used in the current window, ns */
  used: bigint;
  /**
   * how many CPUs the group keeps busy as FIFO (its CPU time over the wall time): since the last
   * sample; at a promotion, over the last interval it was FIFO throughout (the demoted interval's
   * says nothing of it as FIFO), or 0 before any
   */
  rate: number;
}

/** the counters the supervisor reports when it ends */
export interface SupStats {
  samples: number; demotions: number; promotions: number; joined: number;
  /** demotions before the budget was used, because the self-limit made the next sample too late */
  earlyDemotions: number;
  /** the largest CPU time beyond the budget a window used before its demotion */
  maxOverrunNs: bigint;
  /** the latest a sample came after it was due (the supervisor's wake-up latency) */
  maxLateNs: bigint;
  /** CPU time the group used as FIFO (up to each demotion; the last window up to now) */
  fifoNs: bigint;
}

const alive = (tid: number, proc: string) => existsSync(`${proc}/${tid}`);

/**
 * The RT supervisor of one container group (rt v2): per sample, the group's CPU time (one read of
 * cpu.stat) and its thread list (one read of cgroup.threads); the window rule of window.ts decides
 * whether the group is promoted (SCHED_FIFO) or demoted (SCHED_OTHER), and threads that joined since
 * the last sample (runc exec, forks of a task that was not yet switched) get the current policy.
 * The kernel and the processes are reached only through CpuGroup and HostOps (doubles in the tests).
 */
export class Supervisor {
  private state: SupState | undefined;
  /** threads whose policy is the current mode's */
  private known = new Set<number>();
  private lastUsage: bigint | undefined;
  private lastNow: bigint | undefined;
  /** the rate measured over the last interval the group was FIFO throughout */
  private fifoRate = 0;
  readonly stats: SupStats = { samples: 0, demotions: 0, promotions: 0, joined: 0, earlyDemotions: 0, maxOverrunNs: 0n, maxLateNs: 0n, fifoNs: 0n };

  constructor(private readonly group: CpuGroup, private readonly host: HostOps, private budget: Budget, private readonly priority: number, private readonly proc = '/proc') {}

  /** a new window and sweep (the self-limit, self-limit.ts): the current window runs on under it */
  rescale(budget: Budget): void { this.budget = budget; }

  get mode(): SupMode | undefined { return this.state?.mode; }

  private async set(tids: number[], mode: SupMode): Promise<number[]> {
    if (!tids.length) return [];
    const failed = await this.host.setThreadsScheduler(tids, mode, mode === 'fifo' ? this.priority : undefined);
    return failed.filter((t) => alive(t, this.proc));
  }

  /** one sample at monotonic time `now` (ns) */
  async tick(now: bigint): Promise<TickResult> {
    const usage = this.group.usageNs();
    this.stats.samples++;
    let switched: SupMode | undefined;
    let s;
    if (!this.state) {
      this.state = initial(now, usage);
      s = step(this.state, now, usage, this.budget);
    } else {
      s = step(this.state, now, usage, this.budget);
      switched = s.switchTo;
    }
    const before = this.state;
    this.state = s.state;
    // FIFO CPU time: the usage since the last sample, while the group was FIFO up to this sample
    if (this.lastUsage !== undefined && before.mode === 'fifo') this.stats.fifoNs += usage - this.lastUsage;
    const measured = this.lastUsage !== undefined && this.lastNow !== undefined && now > this.lastNow ? Number(usage - this.lastUsage) / Number(now - this.lastNow) : undefined;
    if (measured !== undefined && before.mode === 'fifo') this.fifoRate = measured;
    const rate = switched === 'fifo' ? this.fifoRate : measured ?? 0;
    this.lastUsage = usage;
    this.lastNow = now;
    if (switched === 'fifo') this.stats.promotions++;
    const threads = this.group.threads();
    const mode = this.state.mode;
    // a switch sets every thread; otherwise only those not yet seen under this mode
    const todo = switched || before.mode !== mode ? threads : threads.filter((t) => !this.known.has(t));
    const joined = switched ? [] : todo;
    const failed = await this.set(todo, mode);
    if (switched === 'other') {
      this.stats.demotions++;
      this.chargeDemotion();
    }
    if (switched) this.known = new Set();
    for (const t of [...this.known]) if (!threads.includes(t)) this.known.delete(t);
    for (const t of todo) if (!failed.includes(t)) this.known.add(t);
    this.stats.joined += joined.length;
    return { switched, joined, failed, sleepNs: s.sleepNs, used: s.used, rate };
  }

  /**
   * Demotes the group for the rest of the current window before it used its budget: the
   * supervisor must sleep longer (its self-limit) than the group would take to use what is left,
   * so it could not demote it in time. The group gets less FIFO time than its budget, never more.
   */
  async demoteEarly(): Promise<number[]> {
    if (!this.state || this.state.mode !== 'fifo') return [];
    this.state = { ...this.state, mode: 'other', overrun: 0n };
    this.stats.demotions++;
    this.stats.earlyDemotions++;
    const threads = this.group.threads();
    const failed = await this.set(threads, 'other');
    this.chargeDemotion();
    this.known = new Set(threads.filter((t) => !failed.includes(t)));
    return failed;
  }

  /**
   * After a demotion reached the group's threads: they ran on as FIFO from the sample's read up to
   * their switch (long where a sample is slow: a TCG guest), so the window's use is read again. What
   * it used beyond the budget is its overrun, owed by the next window (window.ts); the time counts
   * as FIFO time in the statistics.
   */
  private chargeDemotion(): void {
    if (!this.state || this.lastUsage === undefined) return;
    const usage = this.group.usageNs();
    const used = usage - this.state.usageAtStart;
    const over = used > this.budget.budgetNs ? used - this.budget.budgetNs : 0n;
    this.state = { ...this.state, overrun: over };
    if (over > this.stats.maxOverrunNs) this.stats.maxOverrunNs = over;
    this.stats.fifoNs += usage - this.lastUsage;
    this.lastUsage = usage;
  }

  /** every thread of the group back to SCHED_OTHER (the supervisor is stopping) */
  async demoteAll(): Promise<number[]> {
    if (!this.group.exists()) return [];
    this.state = this.state && { ...this.state, mode: 'other' };
    return this.set(this.group.threads(), 'other');
  }
}
