import { readFileSync } from 'node:fs';
import type { CpuGroup } from '../kernel/cgroups/types.js';

/** how many CPUs a cpu list names ("0-3,6" → 5) */
export function countCpuList(list: string): number {
  let n = 0;
  for (const part of list.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`not a cpu list: ${JSON.stringify(list)}`);
    n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return n;
}

/**
 * The CPUs the group's tasks may run on: its effective cpuset (cgroup v2 `cpuset.cpus.effective`,
 * found on the group or its nearest ancestor that has it), else the CPUs online.
 */
export function groupCpus(group: CpuGroup, sys = '/sys'): number {
  for (let g: CpuGroup | undefined = group; g; g = g.parent()) {
    try {
      if (g.has('cpuset.cpus.effective')) {
        const n = countCpuList(g.read('cpuset.cpus.effective'));
        if (n > 0) return n;
      }
    } catch { /* gone meanwhile: the next one up */ }
  }
  return Math.max(1, countCpuList(readFileSync(`${sys}/devices/system/cpu/online`, 'utf8')));
}
