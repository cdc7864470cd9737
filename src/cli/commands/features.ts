import { KEYS, PREFIX } from '../../policy/keys.js';
import { runcCapture } from '../../oci/runc.js';
import type { Runtime } from '../../lifecycle/runtime.js';

/** runc's `features` JSON with our annotation keys (and their allowed values) under `annotations`. */
export async function features(rt: Runtime): Promise<number> {
  const r = await runcCapture(rt.runc, rt.callerArgv());
  process.stderr.write(r.stderr);
  if (r.status !== 0) return r.status;
  const doc = JSON.parse(r.stdout) as { annotations?: Record<string, string> };
  doc.annotations = { ...doc.annotations, ...Object.fromEntries(KEYS.map((k) => [PREFIX + k.key, k.allowed])) };
  process.stdout.write(`${JSON.stringify(doc, null, 4)}\n`);
  return 0;
}
