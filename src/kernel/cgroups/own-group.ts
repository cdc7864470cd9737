import { mkdirSync, rmdirSync } from 'node:fs';
import type { Cgroups, CpuGroup } from './types.js';

/** how often a helper makes its group again when a concurrent gc removed it before it moved in */
const ENTER_TRIES = 5;

/**
 * A helper process (adaptive controller, rt v2 supervisor) making its own group and moving in:
 * mkdir, `setup` (e.g. its CPU share), then its pid into cgroup.procs. gc removes an empty helper
 * group whose container is gone at any time (no grace period: cgroupfs has no reliable age, its
 * inode times are those of the inode's last instantiation), so the group may vanish between the
 * mkdir and the move; then the helper makes it again (ENOENT/ENODEV), a few times.
 */
export function joinOwnGroup(g: CpuGroup, setup: () => void = () => {}): void {
  for (let i = 1; ; i++) {
    try {
      mkdirSync(g.dir, { recursive: true });
      setup();
      g.write('cgroup.procs', String(process.pid));
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (i >= ENTER_TRIES || (code !== 'ENOENT' && code !== 'ENODEV')) throw e;
    }
  }
}

/**
 * A helper process leaving the group it made for itself: back to the hierarchy's root (always
 * allowed), then the group removed. Errors are left to the container's delete/teardown, which
 * removes the group once the helper is gone.
 */
export function leaveOwnGroup(cgroups: Cgroups, g: CpuGroup | undefined): void {
  if (!g) return;
  try {
    cgroups.root.write('cgroup.procs', String(process.pid));
    rmdirSync(g.dir);
  } catch { /* removed by delete once we are gone */ }
}
