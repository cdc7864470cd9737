import { readFileSync } from 'node:fs';
import { withLock } from '../store/lock.js';
import { checkId } from '../store/state.js';
import { readSpec } from '../oci/spec.js';
import { plan } from './plan.js';
import { applyAll } from './request.js';
import type { Runtime } from './runtime.js';
import { startedAll, undoAll } from './undo.js';

/** the OCI state runc writes to a hook's stdin */
interface HookState { id: string; pid: number; bundle: string }

/**
 * `vkernel-hook create-runtime|poststop <id>`: runc's hooks for `run` with a request (see run.ts),
 * given the container's OCI state on stdin.
 * - create-runtime applies the policy recorded in our state file; a failure exits 1, so runc fails
 *   the container (and runs poststop).
 * - poststart: the appliers' post-start steps, as `start` runs them (the adaptive controller).
 * - poststop (runc removed the container at the end of `run`) removes everything of ours. When
 *   another of our processes holds the container's lock, it is a delete/gc that removes it
 *   itself (and may be the very `runc delete` running this hook): nothing to wait for.
 */
export async function hook(rt: Runtime): Promise<number> {
  const [stage, id] = rt.inv.args;
  if (!['create-runtime', 'poststart', 'poststop'].includes(stage) || !id) throw new Error('usage: vkernel-hook create-runtime|poststart|poststop <container-id>');
  checkId(id);
  const oci = JSON.parse(readFileSync(0, 'utf8')) as HookState;
  if (oci.id !== id) throw new Error(`hook for ${id} got the state of ${oci.id}`);
  if (stage === 'poststart') {
    // what create+start does after `runc start` (the adaptive controller); a failure fails the run
    return withLock(rt.root, id, async () => {
      const state = rt.store.read(id);
      if (!state) throw new Error(`no vkernel-runtime state for ${id} under ${rt.root}`);
      await startedAll(rt, state);
      rt.store.write(state);
      return 0;
    });
  }
  if (stage === 'poststop') {
    try {
      await withLock(rt.root, id, async () => {
        const state = rt.store.read(id);
        if (state) await undoAll(rt, state);
      }, 0);
    } catch (e) {
      rt.log.debug(`vkernel-hook poststop ${id}: ${(e as Error).message}`);
    }
    return 0;
  }
  return withLock(rt.root, id, async () => {
    const state = rt.store.read(id);
    if (!state) throw new Error(`no vkernel-runtime state for ${id} under ${rt.root}`);
    const appliers = plan(state.policy, state.sources, rt.probe(), rt.log, { id, spec: readSpec(oci.bundle), systemdCgroup: rt.inv.globals.systemdCgroup });
    // on failure runc destroys the container and runs our poststop hook
    await applyAll(rt, appliers, state, readSpec(oci.bundle), oci.pid);
    return 0;
  });
}
