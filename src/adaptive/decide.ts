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
