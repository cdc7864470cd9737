import { faultPoint } from '../store/fault.js';
import type { HostOps } from '../host/ops.js';
import type { HostProbe } from './probe.js';

/**
 * The patched kernel's switch of per-pid-namespace features (kernel/README.md, "enable"): one line
 * `PID WORD... NAME=VALUE...` written to /sys/kernel/vkernel/enable by the host. A namespace the
 * runtime does not enable behaves as on a stock kernel; an enabled one reads the values given here.
 * The kernel checks the whole line first: a bad line fails and changes nothing.
 */

/** The detection ABI that has the enable file. ABI 1 kernels gave every pid namespace its own values. */
export const NS_ENABLE_ABI = 2;

/** feature words of the enable file (the same words /sys/kernel/vkernel/features lists) */
export type NsFeature = 'sched_params' | 'mm_policy' | 'sysctl_write' | 'printk_ns';

export interface NsEnable {
  features: NsFeature[];
  /** sysctl name → value, set in the namespace */
  settings: [string, string][];
}

/** Why this kernel cannot enable `features`, or undefined when it can. */
export function nsEnableUnsupported(probe: HostProbe, features: readonly NsFeature[]): string | undefined {
  if (probe.vkernelAbi === undefined) return 'needs the vkernel kernel (a per-container value has no stock-kernel equivalent)';
  if (probe.vkernelAbi < NS_ENABLE_ABI) {
    return `this vkernel kernel has ABI ${probe.vkernelAbi}, which gives every pid namespace its own values, writable by any root container; `
      + `per-container values need ABI ${NS_ENABLE_ABI} (/sys/kernel/vkernel/enable): boot a kernel built from the current kernel/ series`;
  }
  const missing = features.filter((f) => !probe.vkernelFeatures.includes(f));
  if (missing.length) return `this vkernel kernel lacks the ${missing.join(', ')} feature${missing.length > 1 ? 's' : ''} (has: ${probe.vkernelFeatures.join(' ') || 'none'})`;
  return undefined;
}

/** The enable line for the pid namespace of `pid`. Throws on anything that is not a plain word or number. */
export function enableLine(pid: number, e: NsEnable): string {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`bad pid ${pid}`);
  if (!e.features.length) throw new Error('an enable line needs at least one feature');
  for (const f of e.features) if (!/^[a-z_]+$/.test(f)) throw new Error(`bad feature word ${f}`);
  for (const [k, v] of e.settings) {
    if (!/^[a-z_]+(\.[a-z_]+)+$/.test(k) || !/^[a-z0-9]+$/.test(v)) throw new Error(`bad sysctl ${k}=${v}`);
  }
  return [String(pid), ...e.features, ...e.settings.map(([k, v]) => `${k}=${v}`)].join(' ');
}

/**
 * Enables `e` for the pid namespace of `pid` in one write, then reads every setting back as a task
 * of that namespace (the kernel answers a namespace's read from its own value).
 */
export async function enableNamespace(host: HostOps, pid: number, e: NsEnable): Promise<void> {
  await host.enableNamespace(enableLine(pid, e));
  faultPoint('ns-enabled');
  for (const [key, value] of e.settings) {
    const back = await host.readNsSysctl(pid, key);
    if (back !== value) throw new Error(`${key}: enabled ${value} for the container's pid namespace, reads back ${back}`);
  }
}
