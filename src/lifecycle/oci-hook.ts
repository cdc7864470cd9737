import { readFileSync } from 'node:fs';
import { checkId } from '../store/state.js';
import { HOOK_STAGES } from './hook-stages.js';
import { withLock } from '../store/lock.js';
import { applyAll, newState, readRequest } from './request.js';
import type { Runtime } from './runtime.js';
import { releaseAll, startedAll, undoAll } from './undo.js';

interface OciState { id: string; pid?: number; bundle: string; status?: string }

/**
 * `vkernel-runtime oci-hook createRuntime|poststop`: the same policy as the runtime applies, for
 * engines that keep crun/runc and call us as an OCI hook (podman, CRI-O via hooks.d). The engine
 * writes the container's OCI state to stdin (`input`: read there; the engine server has the
 * client send it). Its state lives under --root, by default HOOK_ROOT (the Runtime's, for
 * oci-hook). createRuntime failures exit 1 (the engine fails the container, after we undid what
 * applied); poststop never fails.
 */
export async function ociHook(rt: Runtime, input: () => string | Promise<string> = () => readFileSync(0, 'utf8')): Promise<number> {
  const stage = rt.inv.args[0];
  const oci = JSON.parse(await input()) as OciState;
  checkId(oci.id);
  if (stage === 'createRuntime' || stage === 'prestart') {
    const req = readRequest(rt, oci.id, oci.bundle);
    if (!req.appliers) return 0;
    if (!oci.pid) throw new Error(`oci-hook ${stage}: the OCI state has no pid`);
    const appliers = req.appliers;
    const pid = oci.pid;
    return withLock(rt.root, oci.id, async () => {
      const state = newState(oci.id, oci.bundle, req);
      try {
        await applyAll(rt, appliers, state, req.spec, pid);
        // no `start` comes our way: what runs after start (the adaptive controller) starts now; it
        // reads the state (under our --root, passed on to it) as soon as it runs: written first
        rt.store.write(state);
        await startedAll(rt, state);
        rt.store.write(state);
        return 0;
      } catch (e) {
        await releaseAll(rt, state);
        await undoAll(rt, state);
        throw e;
      }
    });
  }
  if (stage === 'poststop') {
    try {
      await withLock(rt.root, oci.id, async () => {
        const state = rt.store.read(oci.id);
        if (state) {
          await releaseAll(rt, state);
          await undoAll(rt, state);
        }
      });
    } catch (e) {
      rt.log.warn(`oci-hook poststop ${oci.id}: ${(e as Error).message}`);
    }
    return 0;
  }
  throw new Error(`oci-hook: unknown stage ${JSON.stringify(stage)} (one of ${HOOK_STAGES.join(', ')})`);
}
