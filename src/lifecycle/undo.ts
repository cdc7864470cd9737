import { rmSync } from 'node:fs';
import type { ContainerState } from '../store/state.js';
import { cmdline, signalProcess } from '../store/proc.js';
import { APPLIERS } from './appliers/index.js';
import type { Runtime } from './runtime.js';
import { timed } from '../profile.js';
import { faultPoint } from '../store/fault.js';

/**
 * Runs one step of every applied applier, newest first; a failing step is logged and the others
 * run. Returns what failed.
 */
async function eachAppliedReversed(rt: Runtime, state: ContainerState, what: 'release' | 'undo'): Promise<string[]> {
  const failed: string[] = [];
  for (const step of [...state.applied].reverse()) {
    const a = APPLIERS.find((x) => x.name === step.name);
    faultPoint(`${what === 'undo' ? 'undoing' : 'releasing'}:${step.name}`);
    try {
      await timed(`${what} ${step.name}`, async () => a?.[what]?.(rt.stepContext(state), step.undo));
      rt.log.debug(`${state.id}: ${what} ${step.name} done`);
    } catch (e) {
      const msg = `${state.id}: ${what} ${step.name}: ${(e as Error).message}`;
      rt.log.warn(msg);
      failed.push(msg);
    }
  }
  return failed;
}

/** The appliers' last step while the container still exists (see Applier.release). Best effort. */
export function releaseAll(rt: Runtime, state: ContainerState): Promise<string[]> {
  return eachAppliedReversed(rt, state, 'release');
}

/** After a successful start: the appliers' post-start steps (e.g. the adaptive controller). */
export async function startedAll(rt: Runtime, state: ContainerState): Promise<void> {
  for (const step of state.applied) await APPLIERS.find((a) => a.name === step.name)?.started?.(rt.stepContext(state));
}

/**
 * Whether runc's delete leaves nothing of ours to undo for this container (Applier.diesWithContainer
 * for every applied step, no helper, no module, no private bundle): then its state can live in
 * runc's container directory and delete needs no engine.
 */
export function diesWithContainer(state: ContainerState): boolean {
  if (state.module) return false;
  return othersDie(state);
}

/** no helper, no private bundle, and every applied step but `except` dies with the container */
function othersDie(state: ContainerState, except?: string): boolean {
  if (Object.keys(state.helpers).length || state.runBundle) return false;
  return state.applied.every((step) => step.name === except || APPLIERS.find((a) => a.name === step.name)?.diesWithContainer?.(step.undo, state.policy) === true);
}

/**
 * The module's name when it is all that runc's delete leaves to undo (the rest as in
 * diesWithContainer): then the state can live in runc's container directory with the name beside
 * it, and the launcher's delete unloads the module itself (StateStore.markModule).
 */
export function moduleAtDelete(state: ContainerState): string | undefined {
  return state.module && othersDie(state, 'module') ? state.module : undefined;
}

/** the cpu group whose RT budget the launcher zeroes before passing `delete` to runc (Applier.rtGroupAtDelete) */
export function rtGroupAtDelete(state: ContainerState): string | undefined {
  for (const step of state.applied) {
    const dir = APPLIERS.find((a) => a.name === step.name)?.rtGroupAtDelete?.(step.undo);
    if (dir) return dir;
  }
  return undefined;
}

/** Before a new create of `id`: our state left by a container runc no longer knows is undone. */
export async function clearStale(rt: Runtime, id: string): Promise<void> {
  const stale = rt.store.read(id);
  if (stale && !(await rt.runcState(id))) await undoAll(rt, stale);
}

/**
 * Removes everything of ours for a container: undo the applied steps in reverse, stop helpers,
 * drop the private run bundle and the state file. Best effort: a step that fails is logged and the
 * others still run (this is what rollback and `delete --force` rely on).
 */
export async function undoAll(rt: Runtime, state: ContainerState): Promise<string[]> {
  const failed = await eachAppliedReversed(rt, state, 'undo');
  for (const [name, helper] of Object.entries(state.helpers)) {
    // only the helper we started: its pid may belong to another process by now (start time check;
    // a bare pid from an older state counts only when its command line is our helper's for this id)
    const ours = (pid: number) => cmdline(pid).includes(`vkernel-${name} ${state.id}`);
    try {
      await signalProcess(helper, 'SIGTERM', ours);
    } catch (e) {
      const msg = `${state.id}: stop ${name} (pid ${typeof helper === 'number' ? helper : helper.pid}): ${(e as Error).message}`;
      rt.log.warn(msg);
      failed.push(msg);
    }
  }
  if (state.runBundle) rmSync(state.runBundle, { recursive: true, force: true });
  rt.store.remove(state.id);
  rt.log.debug(`${state.id}: state removed`);
  return failed;
}
