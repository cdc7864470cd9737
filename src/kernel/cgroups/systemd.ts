import { systemdPath } from './path.js';
import type { Cgroups, CpuGroup } from './types.js';

/**
 * The systemd cgroup driver (`--systemd-cgroup`) on either hierarchy: runc names the container's
 * group after `slice:prefix:name` (a scope in the expanded slice); the groups themselves are the
 * hierarchy's (v1 or v2), so everything else is the inner implementation's.
 */
export class SystemdCgroups implements Cgroups {
  readonly driver = 'systemd' as const;

  constructor(private readonly inner: Cgroups) {}

  get version(): 'v1' | 'v2' { return this.inner.version; }
  get root(): CpuGroup { return this.inner.root; }

  containerPath(cgroupsPath: string | undefined, id: string): string {
    return systemdPath(cgroupsPath, id);
  }

  taskPath(pid: number): string | undefined { return this.inner.taskPath(pid); }
  group(path: string, accountingPid?: number): CpuGroup { return this.inner.group(path, accountingPid); }
  groupAt(dir: string): CpuGroup { return this.inner.groupAt(dir); }
}
