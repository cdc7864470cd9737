import { FsCgroups, type Layout } from './fs.js';
import { taskCgroup } from './path.js';

/** cgroup v2: one unified hierarchy at the root, `cgroup.threads`, CPU time in cpu.stat (µs). */
export class V2Cgroups extends FsCgroups {
  readonly version = 'v2' as const;
  readonly layout: Layout = {
    threadsFile: 'cgroup.threads',
    accountingPath: (path) => path,
    usageNs: (g) => BigInt(/^usage_usec (\d+)$/m.exec(g.read('cpu.stat'))?.[1] ?? '0') * 1000n,
  };

  taskPath(pid: number): string | undefined {
    return taskCgroup(pid, '', this.proc);
  }
}
