import { existsSync, readFileSync } from 'node:fs';

/** What this host can do, read from /sys and /proc (cheap: a few stat and read calls). */
export interface HostProbe {
  /** the patched kernel's ABI version, when /sys/kernel/vkernel exists */
  vkernelAbi?: number;
  vkernelFeatures: string[];
  cgroup: 'v1' | 'v2' | 'hybrid';
  /** CONFIG_RT_GROUP_SCHED: cpu.rt_runtime_us exists in the cpu hierarchy */
  rtGroupSched: boolean;
  /** CONFIG_MODULES: /proc/modules exists */
  modules: boolean;
  release: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** `cgroupRoot`: RuntimeEnv.cgroupRoot (VKERNEL_CGROUP_ROOT) */
export function probeHost(sys = '/sys', proc = '/proc', cgroupRoot = '/sys/fs/cgroup'): HostProbe {
  const abi = read(`${sys}/kernel/vkernel/abi_version`);
  const unified = existsSync(`${cgroupRoot}/cgroup.controllers`);
  const cgroup = unified ? 'v2' : existsSync(`${cgroupRoot}/unified`) ? 'hybrid' : 'v1';
  const rtGroupSched = unified ? existsSync(`${cgroupRoot}/cpu.rt_runtime_us`) : existsSync(`${cgroupRoot}/cpu/cpu.rt_runtime_us`) || existsSync(`${cgroupRoot}/cpu,cpuacct/cpu.rt_runtime_us`);
  return {
    vkernelAbi: abi === undefined ? undefined : Number(abi),
    vkernelFeatures: (read(`${sys}/kernel/vkernel/features`) ?? '').split(/\s+/).filter(Boolean),
    cgroup,
    rtGroupSched,
    modules: existsSync(`${proc}/modules`),
    release: read(`${proc}/sys/kernel/osrelease`) ?? 'unknown',
  };
}
