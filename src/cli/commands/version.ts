import { runcCapture } from '../../oci/runc.js';
import type { Runtime } from '../../lifecycle/runtime.js';

export const VERSION = '0.1.0';

/** ours, then runc's own version text */
export async function version(rt: Runtime): Promise<number> {
  process.stdout.write(`vkernel-runtime version ${VERSION}\nrunc: ${rt.runc}\n`);
  const r = await runcCapture(rt.runc, ['--version']);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.status;
}
