import { containerId, parseCommandArgs } from '../oci/argv.js';
import { startedAll } from './undo.js';
import type { Runtime } from './runtime.js';
import { withLock } from '../store/lock.js';

/** start = `runc start`, then the appliers' post-start step (e.g. the adaptive controller). */
export async function start(rt: Runtime): Promise<number> {
  const id = containerId('start', parseCommandArgs('start', rt.inv.args));
  const status = await rt.inherit(rt.callerArgv());
  if (status !== 0 || !rt.store.read(id)) return status;
  return withLock(rt.root, id, async () => {
    const state = rt.store.read(id);
    if (!state) return status;
    await startedAll(rt, state);
    rt.store.write(state);
    return 0;
  });
}
