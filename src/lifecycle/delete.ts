import { containerId, flagSet, parseCommandArgs } from '../oci/argv.js';
import { withLock } from '../store/lock.js';
import { checkId } from '../store/state.js';
import type { Runtime } from './runtime.js';
import { releaseAll, undoAll } from './undo.js';

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
    if (state) {
      const force = flagSet(parseCommandArgs('delete', rt.inv.args), 'force', 'f');
      // runc is about to remove the container: with --force always; without, only a created or
      // stopped one (it refuses running and paused ones), or one it no longer knows
      // (read from runc's state file when it is there: no `runc state` process)
      const init = force ? undefined : rt.runcInit(id);
      const status = force ? undefined : init ? init.status : (await rt.runcState(id))?.status;
      if (force || status === undefined || status === 'created' || status === 'stopped') await releaseAll(rt, state);
    }
    const status = await rt.inherit(rt.callerArgv());
    if (status !== 0 && (await rt.runcState(id))) return status; // still there (e.g. running, no --force)
    // no state: a create killed before it wrote one, or in its first write (its temp file)
    if (!state) rt.store.removeTemps(id);
    else await undoAll(rt, state);
    return status;
  });
}
