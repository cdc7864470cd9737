import { rmSync } from 'node:fs';
import type { ContainerState } from '../store/state.js';
import { APPLIERS } from './appliers/index.js';
import type { Runtime } from './runtime.js';

/** The appliers' last step while the container still exists (see Applier.release). Best effort. */
export async function releaseAll(rt: Runtime, state: ContainerState): Promise<void> {
  for (const step of [...state.applied].reverse()) {
    const a = APPLIERS.find((x) => x.name === step.name);
    try {
      await a?.release?.(rt.stepContext(state), step.undo);
    } catch (e) {
      rt.log.warn(`${state.id}: release ${step.name}: ${(e as Error).message}`);
    }
  }
}

/**
 * Removes everything of ours for a container: undo the applied steps in reverse, stop helpers,
 * drop the private run bundle and the state file. Best effort: a step that fails is logged and the
 * others still run (this is what rollback and `delete --force` rely on).
 */
export async function undoAll(rt: Runtime, state: ContainerState): Promise<void> {
  for (const step of [...state.applied].reverse()) {
    const a = APPLIERS.find((x) => x.name === step.name);
    try {
      await a?.undo(rt.stepContext(state), step.undo);
    } catch (e) {
      rt.log.warn(`${state.id}: undo ${step.name}: ${(e as Error).message}`);
    }
  }
  for (const [name, pid] of Object.entries(state.helpers)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') rt.log.warn(`${state.id}: stop ${name} (pid ${pid}): ${(e as Error).message}`);
    }
  }
  if (state.runBundle) rmSync(state.runBundle, { recursive: true, force: true });
  rt.store.remove(state.id);
}
