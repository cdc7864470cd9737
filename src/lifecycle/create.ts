import { containerId, flagValue, parseCommandArgs } from '../oci/argv.js';
import { bundlePath } from '../oci/spec.js';
import { LockFileStays, withLock } from '../store/lock.js';
import { checkId, type ContainerState } from '../store/state.js';
import { applyAll, newState, prepareAll, readRequest, type Request } from './request.js';
import type { Applier } from './applier.js';
import type { Runtime } from './runtime.js';
import { clearStale, diesWithContainer, moduleAtDelete, releaseAll, rtGroupAtDelete, undoAll } from './undo.js';
import { faultPoint } from '../store/fault.js';
import { timed } from '../profile.js';

/** the module named beside the state for the launcher's delete, when it is all that is left to undo then */
function markModule(rt: Runtime, id: string, state: ContainerState): boolean {
  const name = moduleAtDelete(state);
  return name !== undefined && state.pid !== undefined && rt.store.markModule(id, name, state.pid);
}

/**
 * After a create's last applier: the launcher's marker for a start with work of ours, or, with
 * nothing to undo after runc's delete (or only the module, which the launcher unloads after it:
 * markModule), our state moved into runc's container directory: runc's delete removes it with its
 * own and the launcher passes delete straight to runc (no engine), zeroing the RT group it links
 */
function handOff(rt: Runtime, id: string, appliers: readonly Applier[], state: ContainerState): void {
  if (appliers.some((a) => a.startsAfter?.(state.policy))) rt.store.markStart(id);
  else if ((diesWithContainer(state) || markModule(rt, id, state)) && rt.store.handToRunc(id)) {
    const group = rtGroupAtDelete(state);
    if (group) rt.store.linkRtGroup(id, group);
  }
}

/**
 * After a create handed over (Runtime.handOver): the container runc made, if it made one (its
 * status and its error were the caller's), recorded as create records one after runc's, its
 * appliers run. Every applier inert (they only record): nothing of ours is in force, so nothing is
 * rolled back, and a failure leaves the container runc's alone (no state; a warning in the log).
 * An applier that applies late (Applier.late: fifo's budget and policy): what applied is undone,
 * and the container is kept from running without its request as a killed create's is (its lock
 * file stays: the launcher sends start to the engine server or the engine, delete to the engine)
 * with a state that says why (ContainerState.failed), which start shows; the caller's delete
 * removes it.
 */
async function recordHandedOver(rt: Runtime, id: string, appliers: readonly Applier[], state: ContainerState, req: Request): Promise<void> {
  const init = rt.runcInit(id);
  if (!init) return; // runc made no container (or left a directory its delete --force removes)
  try {
    if (init.status === 'stopped') throw new Error(`its init (pid ${init.pid}) ended before the container was recorded`);
    await applyAll(rt, appliers, state, req.spec, init.pid, init.start, false);
    handOff(rt, id, appliers, state);
    faultPoint('created');
  } catch (e) {
    const why = (e as Error).message;
    if (appliers.every((a) => a.inert?.(req.policy, rt.probe()))) {
      rt.store.remove(id);
      rt.log.warn(`create ${id}: ${why}: the container is runc's alone (its request has nothing to apply on this host)`);
      return;
    }
    // (whatever happens here, the lock file stays: with no state, start refuses as after a killed create)
    try {
      await releaseAll(rt, state);
      await undoAll(rt, state);
      rt.store.write({ ...state, applied: [], helpers: {}, creating: true, failed: why });
    } catch (u) {
      rt.log.warn(`create ${id}: undoing its request: ${(u as Error).message} (delete --force and gc clean up)`);
    }
    rt.log.error(`create ${id}: ${why}: its io.vkernel.* request is not in force (undone), so its start will be refused: delete it`);
    throw new LockFileStays(why);
  }
}

/** a handed-over create's record, as a profile names it (bench/profile.mjs: not on the caller's path) */
export const RECORD_PHASE = 'record, after runc (the caller not waiting)';

/** create = validate → `runc create` (argv unchanged) → apply → state; rollback on any failure after runc. */
export async function create(rt: Runtime): Promise<number> {
  const c = parseCommandArgs('create', rt.inv.args);
  const id = containerId('create', c);
  checkId(id);
  const bundle = bundlePath(flagValue(c, 'bundle', 'b'));
  const req = readRequest(rt, id, bundle);
  const fds = rt.extraFds(Number(flagValue(c, 'preserve-fds') ?? 0));
  if (!req.appliers) return rt.inherit(rt.callerArgv(), fds);
  const appliers = req.appliers;
  await prepareAll(appliers, req);
  faultPoint('prepared');

  return withLock(rt.root, id, async () => {
    faultPoint('locked');
    await clearStale(rt, id);
    // nothing to apply on this host before runc's create returns (every applier inert, or one
    // that applies late: Applier.late) and no container of that id for runc to refuse: runc's
    // create is the caller's own process where this runtime can make it so (the engine server's
    // client execs runc: no process between the caller and runc, no answer to wait for after it),
    // and the container is recorded (its request applied) once runc has ended, under this lock
    const probe = rt.probe();
    if (rt.handOver && fds.length === 0 && appliers.every((a) => a.inert?.(req.policy, probe) || a.late?.(req.policy, probe)) && rt.runcHas(id) === false) {
      const state = newState(id, bundle, req, rt.callerPid);
      await rt.handOver(rt.callerArgv());
      // (a phase of its own in a profile: the caller, whose runc has ended, does not wait for it)
      await timed(RECORD_PHASE, () => recordHandedOver(rt, id, appliers, state, req));
      return 0;
    }
    const runc = rt.inherit(rt.callerArgv(), fds);
    // made while runc runs (in memory only: nothing of it is written before runc has created)
    const state = newState(id, bundle, req, rt.callerPid);
    const status = await runc;
    if (status !== 0) return status;
    faultPoint('runc-created');
    try {
      // the init's pid from runc's state file; `runc state` (a process more) only if that is unreadable
      const init = rt.runcInit(id);
      // (its pid no longer names it: whatever has that pid now must not get the container's policy)
      if (init?.status === 'stopped') throw new Error(`the container's init (pid ${init.pid}) ended before its request was applied`);
      const pid = init?.pid ?? (await rt.runcState(id))?.pid;
      if (!pid) throw new Error('runc create succeeded but runc state does not know the container');
      // no state written before the first applier (a write fewer on every create's path): until
      // the write that records the last one, the lock file a killed create leaves is what makes
      // `start` refuse the container (start.ts unfinishedCreate: no state, or one that says
      // `creating`), and what an applier must be able to undo before it has applied it is
      // journaled by that applier (its write records the init's pid and `creating` too)
      await applyAll(rt, appliers, state, req.spec, pid, init?.start, false);
      handOff(rt, id, appliers, state);
      faultPoint('created');
      return 0;
    } catch (e) {
      rt.log.warn(`create ${id}: ${(e as Error).message}; rolling back`);
      await releaseAll(rt, state);
      await rt.inherit(rt.runcArgv('delete', '--force', id));
      faultPoint('rollback-runc-deleted');
      await undoAll(rt, state);
      // last: containerd shows the last error line of --log, and runc's delete may have logged since
      rt.log.error(`create ${id}: ${(e as Error).message}; rolled back (container deleted)`);
      return 1;
    }
  });
}
