/**
 * The rt v2 supervisor's bound on its own CPU time (issue 16 §1). It runs at SCHED_FIFO 99, above
 * every task it supervises, so nothing in the kernel limits it: on a slow CPU (qemu TCG: 15–35 ms
 * per sample against 0.3–0.7 ms on the test host) its samples alone could take most of a CPU.
 *
 * Two rules, pure functions of what it measured (its process CPU time, all threads, from
 * process.cpuUsage()), unit-tested in test/unit/rt-supervisor.test.ts:
 *  - a token bucket: it earns `cap` ns of CPU per ns of wall time, up to `burstNs`; after a sample
 *    that left it in debt, it sleeps until the debt is paid. So over any interval its CPU time is at
 *    most cap × interval + burst, whatever a sample costs — at the price of later samples.
 *  - its window and sweep follow its cost (an average per sample): a window holds the few samples
 *    the budget needs (promotion, the check when the group may have used its budget, demotion), so
 *    the window is at least SAMPLES_PER_WINDOW samples' worth of the bucket's rate, and the sweep for
 *    joining tasks at least one sample's; both at most MAX_WINDOW_MS. The budget stays the same
 *    share of each window (percent of its CPUs), only coarser: on the test host nothing changes
 *    (a 100 ms window, a 20 ms sweep); under TCG windows of ~300–600 ms.
 */

/** the supervisor's CPU time, at most this share of one CPU (plus the burst) */
export const CPU_CAP = 0.2;
/** what it may spend at once beyond the rate (its start-up, a switch of many threads) */
export const BURST_NS = 20_000_000;
/** the longest window (and sweep) its cost may make it use */
export const MAX_WINDOW_MS = 1000;
/** samples a window needs: the promotion at its start, the check when the budget may be used, the demotion */
export const SAMPLES_PER_WINDOW = 3;

export interface Scale { windowMs: number; tickMs: number }

export class SelfLimit {
  /** CPU time it may still spend now, ns (negative: a debt) */
  credit: number;
  /** average CPU time per sample, ns (exponential, weight 1/4 for the newest) */
  costNs = 0;
  private samples = 0;

  constructor(readonly base: Scale, readonly cap = CPU_CAP, readonly burstNs = BURST_NS) {
    this.credit = burstNs;
  }

  /**
   * After a sample: `wallNs` since the last call and `cpuNs` this process used meanwhile (the
   * sample and whatever ran while it slept). Returns the least it must sleep now, ns.
   */
  account(wallNs: number, cpuNs: number): number {
    this.credit = Math.min(this.burstNs, this.credit + wallNs * this.cap - cpuNs);
    this.costNs = this.samples++ === 0 ? cpuNs : (this.costNs * 3 + cpuNs) / 4;
    return this.credit < 0 ? -this.credit / this.cap : 0;
  }

  /** the window and sweep its cost calls for (never below the base ones) */
  scale(): Scale {
    const perSampleMs = this.costNs / this.cap / 1e6; // the bucket's spacing of samples at this cost
    const windowMs = Math.min(MAX_WINDOW_MS, Math.max(this.base.windowMs, SAMPLES_PER_WINDOW * perSampleMs));
    const tickMs = Math.min(windowMs, Math.max(this.base.tickMs, perSampleMs));
    return { windowMs: Math.round(windowMs), tickMs: Math.round(tickMs) };
  }
}
