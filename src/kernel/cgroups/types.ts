/**
 * cgroups behind one interface (ARCHITECTURE.md "One implementation per mechanism"): v1.ts and
 * v2.ts (the hierarchy's layout), systemd.ts (the systemd driver's naming on either), chosen once
 * from the host probe by index.ts; test/doubles/cgroups.ts is the in-memory double. Only the cpu
 * controller is used: its hierarchy is "the hierarchy" below.
 */

/** One group of the cpu controller's hierarchy. Errors from the kernel keep their errno `code`. */
export interface CpuGroup {
  /** path relative to the hierarchy's root ('/' for the root) */
  readonly path: string;
  /** the group's directory */
  readonly dir: string;
  exists(): boolean;
  /**
   * the group's identity in this boot, undefined when it is gone: the directory's inode number,
   * which cgroupfs (kernfs) never gives twice in a boot, so a group removed and made again under
   * the same path (a container id used again) is another group
   */
  id(): number | undefined;
  /** whether the controller file exists (e.g. cpu.rt_runtime_us only with RT group scheduling) */
  has(file: string): boolean;
  /** a controller file's content, trimmed */
  read(file: string): string;
  write(file: string, value: string): void;
  /** undefined for the hierarchy's root */
  parent(): CpuGroup | undefined;
  children(): CpuGroup[];
  /** pids of the group's processes (cgroup.procs) */
  procs(): number[];
  /** tids of the group's threads (v1 tasks, v2 cgroup.threads) */
  threads(): number[];
  /** CPU time used by the group, ns (v1 cpuacct.usage, v2 cpu.stat usage_usec) */
  usageNs(): bigint;
}

export interface Cgroups {
  readonly version: 'v1' | 'v2';
  readonly driver: 'cgroupfs' | 'systemd';
  /** the hierarchy's root group (its limits are the kernel's, never changed by us) */
  readonly root: CpuGroup;
  /** where runc puts a container with this `linux.cgroupsPath` and id; throws on bad input */
  containerPath(cgroupsPath: string | undefined, id: string): string;
  /** the task's group in the hierarchy (/proc/<pid>/cgroup), undefined when it has no line for it */
  taskPath(pid: number): string | undefined;
  /**
   * a group by its path; throws when it would be outside the hierarchy. `accountingPid`: a task
   * of the group, for v1's cpuacct hierarchy, where a relative path may nest elsewhere.
   */
  group(path: string, accountingPid?: number): CpuGroup;
  /** a group by its directory (records kept in undo data); throws when outside the hierarchy */
  groupAt(dir: string): CpuGroup;
}
