import { readFileSync } from 'node:fs';
import type { CpuGroup } from '../kernel/cgroups/types.js';

export interface Sample {
  /** monotonic time, ns */
  at: bigint;
  /** CPU time of the group, ns */
  usage: bigint;
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

/** Samples a group (through the cgroups interface: v1 cpuacct.usage and tasks, v2 cpu.stat and cgroup.threads). */
export function sample(group: Pick<CpuGroup, 'usageNs' | 'threads'>, proc = '/proc'): Sample {
  const usage = group.usageNs();
  const threads = group.threads().map((t) => threadStatus(t, proc));
  return { at: process.hrtime.bigint(), usage, ctx: threads.reduce((n, t) => n + t.ctx, 0), runnable: threads.filter((t) => t.runnable).length };
}

/** CPU percent of one CPU and context switches per second between two samples */
export function rates(a: Sample, b: Sample): { cpu: number; ctx: number } {
  const dt = Number(b.at - a.at);
  if (dt <= 0) return { cpu: 0, ctx: 0 };
  return { cpu: (Number(b.usage - a.usage) / dt) * 100, ctx: (Math.max(0, b.ctx - a.ctx) * 1e9) / dt };
}
