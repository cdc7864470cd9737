import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Sample {
  /** monotonic time, ns */
  at: bigint;
  /** CPU time of the group, ns */
  usage: bigint;
  /** voluntary + involuntary context switches of the group's live threads */
  ctx: number;
}

function ctxSwitches(tid: string, proc: string): number {
  try {
    const status = readFileSync(`${proc}/${tid}/status`, 'utf8');
    let n = 0;
    for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s*(\d+)$/gm)) n += Number(m[1]);
    return n;
  } catch {
    return 0; // exited between listing and reading
  }
}

/** where the group's CPU time and threads are, for cgroup v1 (cpuacct + cpu) or v2 */
export interface GroupFiles { usage: string; usageUnit: 'ns' | 'usec'; threads: string }

export function groupFiles(cgroupRoot: string, v2: boolean, cpuRel: string, cpuacctRel: string): GroupFiles {
  if (v2) {
    const dir = join(cgroupRoot, cpuRel);
    return { usage: join(dir, 'cpu.stat'), usageUnit: 'usec', threads: join(dir, 'cgroup.threads') };
  }
  return { usage: join(cgroupRoot, 'cpuacct', cpuacctRel, 'cpuacct.usage'), usageUnit: 'ns', threads: join(cgroupRoot, 'cpu', cpuRel, 'tasks') };
}

export function sample(f: GroupFiles, proc = '/proc'): Sample {
  const raw = readFileSync(f.usage, 'utf8');
  const usage = f.usageUnit === 'ns' ? BigInt(raw.trim()) : BigInt(/^usage_usec (\d+)$/m.exec(raw)?.[1] ?? '0') * 1000n;
  const tids = readFileSync(f.threads, 'utf8').split('\n').filter(Boolean);
  return { at: process.hrtime.bigint(), usage, ctx: tids.reduce((n, t) => n + ctxSwitches(t, proc), 0) };
}

/** CPU percent of one CPU and context switches per second between two samples */
export function rates(a: Sample, b: Sample): { cpu: number; ctx: number } {
  const dt = Number(b.at - a.at);
  if (dt <= 0) return { cpu: 0, ctx: 0 };
  return { cpu: (Number(b.usage - a.usage) / dt) * 100, ctx: (Math.max(0, b.ctx - a.ctx) * 1e9) / dt };
}
