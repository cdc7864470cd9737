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
 * What only a reboot changes: the running kernel and its build. Not the cgroup mounts (a host, or
 * a test, can mount the hierarchies again: v1, then v2) and not sched_ext's state (a BPF scheduler
 * loads and unloads at any time): probeWith reads those each time.
 */
export interface KernelFacts {
  vkernelAbi?: number;
  vkernelFeatures: string[];
  modules: boolean;
  release: string;
  /** CONFIG_RT_GROUP_SCHED in the kernel's config (kernelConfigHas), read when first asked, then kept */
  rtGroupSchedConfig(): boolean | undefined;
}

export function probeKernel(sys = '/sys', proc = '/proc', boot = '/boot'): KernelFacts {
  const abi = read(`${sys}/kernel/vkernel/abi_version`);
  const release = read(`${proc}/sys/kernel/osrelease`) ?? 'unknown';
  let config: { has: boolean | undefined } | undefined;
  return {
    vkernelAbi: abi === undefined ? undefined : Number(abi),
    vkernelFeatures: (read(`${sys}/kernel/vkernel/features`) ?? '').split(/\s+/).filter(Boolean),
    modules: existsSync(`${proc}/modules`),
    release,
    rtGroupSchedConfig: () => (config ??= { has: kernelConfigHas('CONFIG_RT_GROUP_SCHED', release, proc, boot) }).has,
  };
}

/** the host now: the kernel's facts (probeKernel: this process's, or kept from earlier in this boot), the cgroup mounts and sched_ext's state read now */
export function probeWith(kernel: KernelFacts, sys = '/sys', cgroupRoot = '/sys/fs/cgroup'): HostProbe {
  const unified = existsSync(`${cgroupRoot}/cgroup.controllers`);
  const cgroup = unified ? 'v2' : existsSync(`${cgroupRoot}/unified`) ? 'hybrid' : 'v1';
  const rtGroupSched = unified ? existsSync(`${cgroupRoot}/cpu.rt_runtime_us`) : existsSync(`${cgroupRoot}/cpu/cpu.rt_runtime_us`) || existsSync(`${cgroupRoot}/cpu,cpuacct/cpu.rt_runtime_us`);
  return {
    vkernelAbi: kernel.vkernelAbi,
    vkernelFeatures: kernel.vkernelFeatures,
    cgroup,
    rtGroupSched,
    // only where the hierarchy cannot tell (cgroup v2 without the files): the kernel's config
    rtGroupSchedKernel: cgroup === 'v2' && !rtGroupSched ? kernel.rtGroupSchedConfig() : undefined,
    modules: kernel.modules,
    release: kernel.release,
    schedExt: scxStatus(sys),
  };
}

/** `cgroupRoot`: RuntimeEnv.cgroupRoot (VKERNEL_CGROUP_ROOT) */
export function probeHost(sys = '/sys', proc = '/proc', cgroupRoot = '/sys/fs/cgroup', boot = '/boot'): HostProbe {
  return probeWith(probeKernel(sys, proc, boot), sys, cgroupRoot);
}
