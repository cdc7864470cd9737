import { containerId, parseCommandArgs } from '../oci/argv.js';
import { startedAll } from './undo.js';
import type { Runtime } from './runtime.js';
import { withLock } from '../store/lock.js';
import { faultPoint } from '../store/fault.js';

/**
 * start = `runc start`, then the appliers' post-start step (e.g. the adaptive controller). Once
 * runc has started the container, start's exit status is runc's: a failing post-start step of ours
 * is a warning, never an exit 1 that would make the engine think the container did not start.
 */
export async function start(rt: Runtime): Promise<number> {
  const id = containerId('start', parseCommandArgs('start', rt.inv.args));
  const status = await rt.inherit(rt.callerArgv());
  if (status !== 0) return status;
  try {
    if (!rt.store.read(id)) return status;
    await withLock(rt.root, id, async () => {
      const state = rt.store.read(id);
      if (!state) return;
      try {
        faultPoint('started');
        await startedAll(rt, state);
      } finally {
        rt.store.write(state); // what did start (a helper's pid) is recorded for delete
      }
    });
  } catch (e) {
    rt.log.warn(`start ${id}: the container started, but: ${(e as Error).message}`);
  }
  return status;
}
