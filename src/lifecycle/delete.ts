import { containerId, parseCommandArgs } from '../cli/argv.js';
import { withLock } from '../store/lock.js';
import { checkId } from '../store/state.js';
import type { Runtime } from './runtime.js';
import { undoAll } from './undo.js';

/**
 * delete = `runc delete` (argv unchanged), then, once runc no longer has the container, remove
 * everything of ours. Idempotent; with --force it also clears our leftovers when runc has long
 * forgotten the container.
 */
export async function del(rt: Runtime): Promise<number> {
  const id = containerId('delete', parseCommandArgs('delete', rt.inv.args));
  checkId(id);
  return withLock(rt.root, id, async () => {
    const state = rt.store.read(id);
    const status = await rt.inherit(rt.callerArgv());
    if (!state) return status;
    if (status !== 0 && (await rt.runcState(id))) return status; // still there (e.g. running, no --force)
    await undoAll(rt, state);
    return status;
  });
}
