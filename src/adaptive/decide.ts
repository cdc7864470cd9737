import type { Mode } from '../kernel/backends/backend.js';

export interface Thresholds { cpuHigh: number; cpuLow: number; ctxHigh: number; ctxLow: number }

/**
 * The seed's rule: FIFO for few long CPU-bound tasks (cpu_usage > α1 and ctx_switches > β1), CFS
 * for many tasks that each must get a turn (cpu_usage < α2 and ctx_switches < β2), else keep.
 */
export function decide(current: Mode, cpuPercent: number, ctxPerSec: number, t: Thresholds): Mode {
  if (cpuPercent > t.cpuHigh && ctxPerSec > t.ctxHigh) return 'fifo';
  if (cpuPercent < t.cpuLow && ctxPerSec < t.ctxLow) return 'cfs';
  return current;
}

/**
 * The controller's step: the seed's rule, except that a FIFO group whose threads are runnable is
 * not idle even when it got no CPU in the interval: the rt backend's RT budget throttles it for the
 * rest of each period (e.g. 750 ms of every second at 25 %), and an interval inside that window
 * reads as 0 % CPU and no context switches. It stays FIFO until its threads really sleep.
 */
export function nextMode(current: Mode, r: { cpu: number; ctx: number }, runnable: number, t: Thresholds): Mode {
  const next = decide(current, r.cpu, r.ctx, t);
  return current === 'fifo' && next === 'cfs' && runnable > 0 ? 'fifo' : next;
}

/**
 * Whether this tick needs the group's context switches (a read per thread): only when the CPU
 * usage alone could lead to a switch. CFS stays CFS at cpu <= cpu_high and FIFO stays FIFO at
 * cpu >= cpu_low whatever the switches, so a steady group costs one file read per tick.
 */
export function needsScan(current: Mode, cpuPercent: number, t: Thresholds): boolean {
  return current === 'cfs' ? cpuPercent > t.cpuHigh : cpuPercent < t.cpuLow;
}
