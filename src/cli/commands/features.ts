import { KEYS, PREFIX } from '../../policy/keys.js';
import { runcCapture } from '../../oci/runc.js';
import type { Runtime } from '../../lifecycle/runtime.js';
import { schedVariant } from '../../kernel/backends/index.js';
import { nsEnableUnsupported } from '../../kernel/ns-enable.js';
import { writeErr, writeOut } from '../../log/out.js';

/** runc's `features` JSON with our annotation keys (and their allowed values) under `annotations`, and the host's fifo backend. */
export async function features(rt: Runtime): Promise<number> {
  const r = await runcCapture(rt.runc, rt.callerArgv());
  writeErr(r.stderr);
  if (r.status !== 0) return r.status;
  const doc = JSON.parse(r.stdout) as { annotations?: Record<string, string> };
  const probe = rt.probe();
  const v = schedVariant(probe);
  const ns = nsEnableUnsupported(probe, ['sched_params', 'mm_policy', 'sysctl_write']);
  const log = nsEnableUnsupported(probe, ['printk_ns']);
  doc.annotations = {
    ...doc.annotations, ...Object.fromEntries(KEYS.map((k) => [PREFIX + k.key, k.allowed])),
    // which way sched.policy=fifo is applied here (kernel, scx, rt v1, rt v2, none) and why
    'org.vkernel-runtime.sched.backend': v.variant, 'org.vkernel-runtime.sched.backend.why': v.why,
    // whether per-container values (wakeup granularity, mm.*, sysctl.writable) can be applied here
    'org.vkernel-runtime.ns.values': ns === undefined ? `kernel (ABI ${probe.vkernelAbi}, /sys/kernel/vkernel/enable)` : `none: ${ns}`,
    // whether io.vkernel.log=private (the container's own kernel log) can be applied here
    'org.vkernel-runtime.log.private': log === undefined ? `kernel (printk_ns, ABI ${probe.vkernelAbi})` : `none: ${log}`,
  };
  writeOut(`${JSON.stringify(doc, null, 4)}\n`);
  return 0;
}
