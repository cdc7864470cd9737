import { existsSync, readFileSync } from 'node:fs';
import { scxStatus, type ScxStatus } from './backends/scx-control.js';

/** What this host can do, read from /sys and /proc (cheap: a few stat and read calls). */
export interface HostProbe {
  /** the patched kernel's ABI version, when /sys/kernel/vkernel exists */
  vkernelAbi?: number;
  vkernelFeatures: string[];
  cgroup: 'v1' | 'v2' | 'hybrid';
  /** CONFIG_RT_GROUP_SCHED: cpu.rt_runtime_us exists in the cpu hierarchy */
  rtGroupSched: boolean;
  /**
   * on cgroup v2 (which has no RT budget files in 6.1): whether the kernel's config says
   * CONFIG_RT_GROUP_SCHED=y (/boot/config-<release>, /proc/config.gz); undefined when no config is
   * found (then a refused SCHED_FIFO at create says it)
   */
  rtGroupSchedKernel?: boolean;
  /** CONFIG_MODULES: /proc/modules exists */
  modules: boolean;
  release: string;
  /** sched_ext (Linux >= 6.12, CONFIG_SCHED_CLASS_EXT): /sys/kernel/sched_ext's state and loaded scheduler; undefined without it */
  schedExt?: ScxStatus;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Whether the running kernel was built with `option` (e.g. CONFIG_RT_GROUP_SCHED), from its config
 * as distributions install it (/boot/config-<release>) or /proc/config.gz (CONFIG_IKCONFIG_PROC);
 * undefined when neither is there.
 */
export function kernelConfigHas(option: string, release: string, proc = '/proc', boot = '/boot'): boolean | undefined {
  let text: string | undefined;
  try {
    text = readFileSync(`${boot}/config-${release}`, 'utf8');
  } catch {
    // zlib on first use only: a static import costs every engine start ~15-20 ms CPU (test/unit/engine-imports.test.ts)
    try { text = process.getBuiltinModule('node:zlib').gunzipSync(readFileSync(`${proc}/config.gz`)).toString('utf8'); } catch { return undefined; }
  }
  return text.includes(`\n${option}=y\n`) || text.startsWith(`${option}=y\n`);
}

/**
 * the facts only a reboot changes (the kernel, its build, how the cgroup hierarchies are mounted):
 * all of HostProbe but sched_ext's state, which changes whenever a BPF scheduler loads or unloads
 */
export type BootProbe = Omit<HostProbe, 'schedExt'>;

/** the host now: `facts` (probeBoot, read earlier in this boot) and sched_ext's state read now */
export const probeWith = (facts: BootProbe, sys = '/sys'): HostProbe => ({ ...facts, schedExt: scxStatus(sys) });

/** `cgroupRoot`: RuntimeEnv.cgroupRoot (VKERNEL_CGROUP_ROOT) */
export function probeHost(sys = '/sys', proc = '/proc', cgroupRoot = '/sys/fs/cgroup', boot = '/boot'): HostProbe {
  return probeWith(probeBoot(sys, proc, cgroupRoot, boot), sys);
}

/** BootProbe: what probeHost reads but sched_ext's state */
export function probeBoot(sys = '/sys', proc = '/proc', cgroupRoot = '/sys/fs/cgroup', boot = '/boot'): BootProbe {
  const abi = read(`${sys}/kernel/vkernel/abi_version`);
  const unified = existsSync(`${cgroupRoot}/cgroup.controllers`);
  const cgroup = unified ? 'v2' : existsSync(`${cgroupRoot}/unified`) ? 'hybrid' : 'v1';
  const rtGroupSched = unified ? existsSync(`${cgroupRoot}/cpu.rt_runtime_us`) : existsSync(`${cgroupRoot}/cpu/cpu.rt_runtime_us`) || existsSync(`${cgroupRoot}/cpu,cpuacct/cpu.rt_runtime_us`);
  const release = read(`${proc}/sys/kernel/osrelease`) ?? 'unknown';
  return {
    vkernelAbi: abi === undefined ? undefined : Number(abi),
    vkernelFeatures: (read(`${sys}/kernel/vkernel/features`) ?? '').split(/\s+/).filter(Boolean),
    cgroup,
    rtGroupSched,
    // only where the hierarchy cannot tell (cgroup v2 without the files): a read of the kernel config
    rtGroupSchedKernel: cgroup === 'v2' && !rtGroupSched ? kernelConfigHas('CONFIG_RT_GROUP_SCHED', release, proc, boot) : undefined,
    modules: existsSync(`${proc}/modules`),
    release,
  };
}
