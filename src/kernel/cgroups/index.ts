import type { HostProbe } from '../probe.js';
import { SystemdCgroups } from './systemd.js';
import type { Cgroups } from './types.js';
import { V1Cgroups } from './v1.js';
import { V2Cgroups } from './v2.js';

export type { Cgroups, CpuGroup } from './types.js';

/** The host's cgroups, chosen once: the hierarchy from the probe, the naming from runc's --systemd-cgroup. */
export function hostCgroups(probe: Pick<HostProbe, 'cgroup'>, systemd: boolean, cgroupRoot: string, proc = '/proc'): Cgroups {
  const fs = probe.cgroup === 'v2' ? new V2Cgroups(cgroupRoot, proc) : new V1Cgroups(cgroupRoot, proc);
  return systemd ? new SystemdCgroups(fs) : fs;
}
