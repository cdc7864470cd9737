import { runcCapture } from '../../oci/runc.js';
import type { Runtime } from '../../lifecycle/runtime.js';
import { writeErr, writeOut } from '../../log/out.js';

export const VERSION = '0.1.0';

/**
 * runc's version text first, unchanged (`runc version X`, `commit:`, `spec:`: tools such as
 * `docker info` parse those lines), then ours.
 */
export async function version(rt: Runtime): Promise<number> {
  const r = await runcCapture(rt.runc, [...rt.inv.runcGlobals]);
  writeOut(r.stdout);
  writeErr(r.stderr);
  writeOut(`vkernel-runtime version ${VERSION}\nvkernel-runtime runc: ${rt.runc}\n`);
  return r.status;
}
