import type { HostProbe } from '../kernel/probe.js';
import type { Logger } from '../log/logger.js';
import type { Spec } from '../oci/spec.js';
import type { Policy, PolicyKey } from '../policy/types.js';
import type { ContainerState } from '../store/state.js';

/** What an applier is given after `runc create`, when the container's init exists but has not started. */
export interface ApplyContext {
  id: string;
  bundle: string;
  spec: Spec;
  policy: Policy;
  /** init pid, host view */
  pid: number;
  probe: HostProbe;
  log: Logger;
  /** the container's state, which an applier may annotate (backend, cgroupPath, module, helpers) */
  state: ContainerState;
}

/** What undo is given: the saved state (the spec may be gone by then). */
export interface UndoContext {
  id: string;
  state: ContainerState;
  log: Logger;
}

/**
 * One vkernel feature (ARCHITECTURE.md "One applier per feature"): is it requested, can this host
 * do it, apply it between `runc create` and start, undo it. The lifecycle runs the requested ones
 * in order and undoes the applied ones in reverse on failure or delete.
 */
export interface Applier {
  name: string;
  /** the policy keys this applier serves */
  keys: readonly PolicyKey[];
  requested(policy: Policy): boolean;
  /** undefined when this host can apply it, else why not (shown to the user) */
  unsupported(policy: Policy, probe: HostProbe): string | undefined;
  /** returns what undo needs (JSON-serialisable), stored in the container's state */
  apply(ctx: ApplyContext): Promise<unknown>;
  undo(ctx: UndoContext, undo: unknown): Promise<void>;
  /** after a successful `runc start` */
  started?(ctx: UndoContext): Promise<void>;
}
