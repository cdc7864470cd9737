import type { Policy } from '../../policy/types.js';
import type { HostProbe } from '../probe.js';
import type { Mode, SchedBackend } from './backend.js';
import { kernelBackend } from './kernel.js';
import { rtBackend } from './rt.js';
import { rtV2Backend } from './rt-v2.js';
import { scxBackend } from './scx.js';

export const BACKENDS: Record<SchedBackend['name'], SchedBackend> = { kernel: kernelBackend, rt: rtBackend, 'rt-v2': rtV2Backend, scx: scxBackend };

/**
 * The rt variant of this host: v1 (RT group scheduling, cpu.rt_runtime_us in the cpu hierarchy)
 * where the hierarchy has the RT budget files, else v2 on the unified hierarchy (whose unsupported()
 * says why not when the kernel has RT group scheduling there), else v1 (whose unsupported() says why).
 */
export function rtFor(probe: HostProbe): SchedBackend {
  return !probe.rtGroupSched && probe.cgroup === 'v2' ? rtV2Backend : rtBackend;
}

/** the sched_ext backend where the kernel has sched_ext and no other BPF scheduler holds it */
const scxFits = (mode: Mode | 'adaptive', probe: HostProbe): boolean => probe.schedExt !== undefined && scxBackend.unsupported(mode, probe) === undefined;

/**
 * `auto`: the kernel backend when the patched kernel offers it, else the sched_ext backend where
 * the kernel has sched_ext (/sys/kernel/sched_ext, and no other BPF scheduler loaded), else the
 * host's rt variant (ARCHITECTURE.md "Backends"); `rt`: the host's rt variant; `scx`, `kernel`:
 * that backend.
 */
export function chooseBackend(policy: Policy, probe: HostProbe): SchedBackend {
  const wanted = policy.backend ?? 'auto';
  if (wanted === 'rt') return rtFor(probe);
  if (wanted !== 'auto') return BACKENDS[wanted];
  const mode = policy['sched.policy'] ?? 'cfs';
  if (kernelBackend.unsupported(mode, probe) === undefined) return kernelBackend;
  return scxFits(mode, probe) ? scxBackend : rtFor(probe);
}

/** which way `sched.policy=fifo` is applied on this host, and why (doctor, features) */
export function schedVariant(probe: HostProbe): { variant: 'kernel' | 'scx' | 'rt v1' | 'rt v2' | 'none'; why: string } {
  const k = kernelBackend.unsupported('fifo', probe);
  if (k === undefined) return { variant: 'kernel', why: `the vkernel kernel (ABI ${probe.vkernelAbi}): cpu.real_policy` };
  if (scxFits('fifo', probe)) return { variant: 'scx', why: 'sched_ext (/sys/kernel/sched_ext): the runtime\'s BPF scheduler (scx_vkernel) runs the container\'s tasks in arrival order, no budget' };
  const rt = rtFor(probe);
  const no = rt.unsupported('fifo', probe);
  if (no === undefined) {
    return rt === rtV2Backend
      ? { variant: 'rt v2', why: 'cgroup v2 without RT group scheduling: SCHED_FIFO with the RT budget enforced by a supervisor per container' }
      : { variant: 'rt v1', why: 'RT group scheduling (cpu.rt_runtime_us): SCHED_FIFO with an RT budget on the container\'s cpu group' };
  }
  return { variant: 'none', why: `${k}; ${no}` };
}
