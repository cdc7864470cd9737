import { containerId, parseCommandArgs } from '../oci/argv.js';
import { startedAll } from './undo.js';
import type { Runtime } from './runtime.js';
import { existsSync } from 'node:fs';
import { lockPath, withLock } from '../store/lock.js';
import { faultPoint } from '../store/fault.js';

/**
 * start = `runc start`, then the appliers' post-start step (e.g. the adaptive controller). Once
 * runc has started the container, start's exit status is runc's: a failing post-start step of ours
 * is a warning, never an exit 1 that would make the engine think the container did not start.
 */
export async function start(rt: Runtime): Promise<number> {
  const id = containerId('start', parseCommandArgs('start', rt.inv.args));
  const unfinished = await unfinishedCreate(rt, id);
  if (unfinished) {
    rt.log.error(`start ${id}: ${unfinished}`);
    return 1;
  }
  const status = await rt.inherit(rt.callerArgv());
  if (status !== 0) return status;
  try {
    // a state handed to runc (StateStore.handToRunc) has no work after start: left where it is
    if (!existsSync(rt.store.path(id))) return status;
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

/**
 * Why `id` must not start: its create took the container's lock (a request: the launcher sends
 * start here while `vkernel@<id>.lock` is there) and was killed before it recorded its last
 * applier (no state yet, or one that says `creating`), or, handed over, could not apply it after
 * runc's create (a state that says why: `failed`), so the container's process would run
 * without its request in force (ARCHITECTURE.md: never with a half-applied policy). undefined:
 * no such create, or it finished. A create still running holds the lock: this waits for it.
 */
async function unfinishedCreate(rt: Runtime, id: string): Promise<string | undefined> {
  if (!existsSync(lockPath(rt.root, id))) return undefined;
  // the file stays: the delete that follows removes it (the launcher sends delete to the engine for it)
  return withLock(rt.root, id, async () => {
    const state = rt.store.read(id);
    if (state && !state.creating) return undefined;
    if (!state && !rt.runcInit(id)) return undefined; // runc does not know it: runc start says so
    if (state?.failed) {
      return `its create could not put its io.vkernel.* request in force after runc had created it (${state.failed}), `
        + 'so its process will not run without it: delete it and create it again';
    }
    return 'the create of this container did not finish (it was killed before its io.vkernel.* request was in force), '
      + 'so its process will not run without it: delete it (delete --force) and create it again';
  }, { keepFile: true });
}
