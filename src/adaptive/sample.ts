import { readFileSync } from 'node:fs';
import type { CpuGroup } from '../kernel/cgroups/types.js';

/** the group's CPU time at a moment: one file read (v1 cpuacct.usage, v2 cpu.stat) */
export interface Usage {
  /** monotonic time, ns */
  at: bigint;
  /** CPU time of the group, ns */
  usage: bigint;
}

/** the group's threads' context switches and runnable count at a moment: a read per thread */
export interface TaskScan {
  at: bigint;
  /** voluntary + involuntary context switches of the group's live threads */
  ctx: number;
  /** threads that were runnable (state R) when sampled */
  runnable: number;
}

/** a thread's context switches and whether it is runnable, from /proc/<tid>/status */
function threadStatus(tid: number, proc: string): { ctx: number; runnable: boolean } {
  try {
    const status = readFileSync(`${proc}/${tid}/status`, 'utf8');
    let ctx = 0;
    for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s*(\d+)$/gm)) ctx += Number(m[1]);
    return { ctx, runnable: /^State:\s*R/m.test(status) };
  } catch {
    return { ctx: 0, runnable: false }; // exited between listing and reading
  }
}

export function usage(group: Pick<CpuGroup, 'usageNs'>): Usage {
  return { at: process.hrtime.bigint(), usage: group.usageNs() };
}

/** the per-thread scan (v1 tasks / v2 cgroup.threads, then /proc/<tid>/status of each) */
export function taskScan(group: Pick<CpuGroup, 'threads'>, proc = '/proc'): TaskScan {
  const threads = group.threads().map((t) => threadStatus(t, proc));
  return { at: process.hrtime.bigint(), ctx: threads.reduce((n, t) => n + t.ctx, 0), runnable: threads.filter((t) => t.runnable).length };
}

/** CPU percent of one CPU between two usage samples */
export function cpuRate(a: Usage, b: Usage): number {
  const dt = Number(b.at - a.at);
  return dt <= 0 ? 0 : (Number(b.usage - a.usage) / dt) * 100;
}

/** context switches per second between two scans */
export function ctxRate(a: TaskScan, b: TaskScan): number {
  const dt = Number(b.at - a.at);
  return dt <= 0 ? 0 : (Math.max(0, b.ctx - a.ctx) * 1e9) / dt;
}
