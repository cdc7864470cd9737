import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsCgroups, type Layout } from './fs.js';
import { taskCgroup } from './path.js';

/**
 * cgroup v1 (and hybrid hosts, whose cpu controller is on v1): the cpu hierarchy at
 * `<root>/cpu`, threads in `tasks`, CPU time in the cpuacct hierarchy (`cpuacct.usage`, ns), where
 * runc places the container at the same path or, for a relative path, under the caller's own
 * cpuacct group: a task's own line says which.
 */
export class V1Cgroups extends FsCgroups {
  readonly version = 'v1' as const;
  readonly layout: Layout;

  constructor(cgroupRoot: string, proc = '/proc') {
    super(join(cgroupRoot, 'cpu'), proc);
    this.layout = {
      threadsFile: 'tasks',
      // the task gone (or ended: a zombie's line names the root, which would be the host's CPU
      // time): runc used the same path in every hierarchy
      accountingPath: (path, pid) => {
        try {
          const own = pid === undefined ? undefined : taskCgroup(pid, 'cpuacct', this.proc);
          return own && own !== '/' ? own : path;
        } catch {
          return path;
        }
      },
      usageNs: (_g, path) => BigInt(readFileSync(join(cgroupRoot, 'cpuacct', path, 'cpuacct.usage'), 'utf8').trim()),
    };
  }

  taskPath(pid: number): string | undefined {
    return taskCgroup(pid, 'cpu', this.proc);
  }
}
