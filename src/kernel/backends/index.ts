import type { Policy } from '../../policy/types.js';
import type { HostProbe } from '../probe.js';
import type { SchedBackend } from './backend.js';
import { kernelBackend } from './kernel.js';
import { rtBackend } from './rt.js';

export const BACKENDS: Record<SchedBackend['name'], SchedBackend> = { kernel: kernelBackend, rt: rtBackend };

/** `auto`: the kernel backend when the patched kernel offers it, else rt (ARCHITECTURE.md "Backends") */
export function chooseBackend(policy: Policy, probe: HostProbe): SchedBackend {
  const wanted = policy.backend ?? 'auto';
  if (wanted !== 'auto') return BACKENDS[wanted];
  return kernelBackend.unsupported(policy['sched.policy'] ?? 'cfs', probe) === undefined ? kernelBackend : rtBackend;
}
