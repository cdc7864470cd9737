import { rmdirSync } from 'node:fs';
import type { Cgroups, CpuGroup } from './types.js';

/**
 * A helper process (adaptive controller, rt v2 supervisor) leaving the group it made for itself:
 * back to the hierarchy's root (always allowed), then the group removed. Errors are left to the
 * container's delete/teardown, which removes the group once the helper is gone.
 */
export function leaveOwnGroup(cgroups: Cgroups, g: CpuGroup | undefined): void {
  if (!g) return;
  try {
    cgroups.root.write('cgroup.procs', String(process.pid));
    rmdirSync(g.dir);
  } catch { /* removed by delete once we are gone */ }
}
