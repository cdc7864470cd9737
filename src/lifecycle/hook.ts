import { readFileSync } from 'node:fs';
import { withLock } from '../store/lock.js';
import { checkId } from '../store/state.js';
import { readSpec } from '../oci/spec.js';
import { plan } from './plan.js';
import { probeHost } from '../kernel/probe.js';
import { applyAll } from './request.js';
import type { Runtime } from './runtime.js';

/** the OCI state runc writes to a hook's stdin */
interface HookState { id: string; pid: number; bundle: string }

/**
 * `vkernel-hook create-runtime <id>`: called by runc (for `run`) with the container's OCI state on
 * stdin; applies the policy recorded in our state file. A failure undoes what applied and exits 1,
 * so runc fails the container.
 */
export async function hook(rt: Runtime): Promise<number> {
  const [stage, id] = rt.inv.args;
  if (stage !== 'create-runtime' || !id) throw new Error('usage: vkernel-hook create-runtime <container-id>');
  checkId(id);
  const oci = JSON.parse(readFileSync(0, 'utf8')) as HookState;
  if (oci.id !== id) throw new Error(`hook for ${id} got the state of ${oci.id}`);
  return withLock(rt.root, id, async () => {
    const state = rt.store.read(id);
    if (!state) throw new Error(`no vkernel-runtime state for ${id} under ${rt.root}`);
    const appliers = plan(state.policy, state.sources, probeHost(), rt.log, { id, spec: readSpec(oci.bundle), systemdCgroup: rt.inv.globals.systemdCgroup });
    // on failure runc destroys the container; `run` then undoes what the state file records
    await applyAll(rt, appliers, state, readSpec(oci.bundle), oci.pid);
    return 0;
  });
}
