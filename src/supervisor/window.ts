/**
 * The RT supervisor's decisions (rt v2: SCHED_FIFO on cgroup v2 without RT group scheduling), pure
 * functions of what it sampled, unit-tested in test/unit/rt-supervisor.test.ts.
 *
 * The budget works like the v1 rt backend's RT bandwidth, in fixed windows: in each window of
 * `windowNs` the group may use `budgetNs` of CPU time (all its CPUs together) as SCHED_FIFO; once
 * it has, its tasks are demoted to SCHED_OTHER for the rest of the window, and promoted again at
 * the start of the next. While FIFO, the supervisor wakes no later than the moment the group, on
 * all its CPUs at once, could have used up what is left, so an overrun is bounded by its wake-up
 * and switch latency (it runs SCHED_FIFO above the group). What a window overran (up to the moment
 * the demotion reached the last thread: supervisor.ts; or, for a window still FIFO when a late sample
 * sees it over, what it used beyond its budget) is carried into the next, one beyond a budget into
 * the windows after, as the kernel's RT bandwidth carries rt_time, so that over many windows a
 * late or slow supervisor does not add up to more than the budget. A window starts when the
 * supervisor sees the previous one over (not on a fixed grid): a late promotion shortens no window,
 * so the budget is never granted over less time.
 */

export type SupMode = 'fifo' | 'other';

export interface Budget {
  /** the window, ns (the v1 backend's period counterpart) */
  windowNs: bigint;
  /** CPU time the group may use as FIFO per window, ns (percent × window × CPUs of the group) */
  budgetNs: bigint;
  /** CPUs the group may run on (its effective cpuset) */
  cpus: number;
  /** longest sleep between two samples while FIFO, ns (the sweep interval for tasks that join) */
  tickNs: bigint;
  /**
   * shortest sleep, ns: the group's CPU time advances in scheduler ticks (1-4 ms), so shorter
   * sleeps see no change and only cost samples; what a window overruns by it is owed by the next
   */
  minSleepNs: bigint;
}

export interface SupState {
  mode: SupMode;
  /** monotonic ns at which the current window started */
  windowStart: bigint;
  /** the group's CPU time at the window's start, ns, less what the previous window overran */
  usageAtStart: bigint;
  /** CPU time the group used beyond its budget in this window before it was demoted, ns */
  overrun: bigint;
}

export interface Step {
  state: SupState;
  /** the group's tasks must be switched to this policy now */
  switchTo?: SupMode;
  /** when to sample next, ns from now */
  sleepNs: bigint;
  /** CPU time used in the current window so far, ns */
  used: bigint;
}

/** the budget of a group: `percent` of `windowNs` on each of `cpus` CPUs */
export function budgetFor(percent: number, windowMs: number, cpus: number, tickMs: number): Budget {
  const windowNs = BigInt(Math.round(windowMs * 1e6));
  return {
    windowNs,
    budgetNs: BigInt(Math.floor((Number(windowNs) * percent * cpus) / 100)),
    cpus,
    tickNs: BigInt(Math.round(tickMs * 1e6)),
    minSleepNs: 2_000_000n,
  };
}

/** the start: FIFO, a fresh window */
export function initial(now: bigint, usage: bigint): SupState {
  return { mode: 'fifo', windowStart: now, usageAtStart: usage, overrun: 0n };
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * One sample: `now` (monotonic ns) and the group's CPU time `usage` (ns). A new window (the old
 * one over) starts now with the group promoted, owing what the last one overran; in a window, the
 * group is demoted once it used its budget.
 */
export function step(s: SupState, now: bigint, usage: bigint, b: Budget): Step {
  let state = s;
  let switchTo: SupMode | undefined;
  if (now - state.windowStart >= b.windowNs) {
    // what the window overran: recorded at its demotion; a window still FIFO at its end (a sample
    // late past it: a self-limit wait, a slow guest) overran by what it used beyond its budget up to
    // this sample, as much owed as a demoted one's. All of it: one beyond a budget leaves the next
    // window no FIFO time and the rest owed again
    const owed = state.mode === 'fifo' ? max(0n, usage - state.usageAtStart - b.budgetNs) : state.overrun;
    state = { mode: state.mode, windowStart: now, usageAtStart: usage - owed, overrun: 0n };
    if (state.mode === 'other') {
      state = { ...state, mode: 'fifo' };
      switchTo = 'fifo';
    }
  }
  const used = max(0n, usage - state.usageAtStart);
  if (state.mode === 'fifo' && used >= b.budgetNs) {
    state = { ...state, mode: 'other', overrun: used - b.budgetNs };
    // promoted and used up in the same sample (a zero budget, or a debt of a whole budget): the tasks never left SCHED_OTHER
    switchTo = switchTo === 'fifo' ? undefined : 'other';
  }
  const toWindowEnd = state.windowStart + b.windowNs - now;
  // demoted: nothing to do before the window ends (a task joining now is SCHED_OTHER already: a
  // fork of a demoted task, or a runc exec, starts so); FIFO: sweep for tasks that join every tick
  // (a window that ends meanwhile is noticed then: nothing changes for a FIFO group at its end)
  let sleepNs = toWindowEnd;
  if (state.mode === 'fifo') {
    sleepNs = b.tickNs;
    // the earliest the group can exhaust what is left: all its CPUs busy from now on
    const left = b.budgetNs - used;
    sleepNs = min(sleepNs, left / BigInt(Math.max(1, b.cpus)));
  }
  return { state, switchTo, sleepNs: max(b.minSleepNs, sleepNs), used };
}
