import type { RuntimeEnv } from '../env.js';
import type { HostOps } from '../host/ops.js';
import type { Cgroups } from '../kernel/cgroups/index.js';
import type { HostProbe } from '../kernel/probe.js';
import type { ScxControl } from '../kernel/backends/scx-control.js';
import type { Logger } from '../log/logger.js';
import type { Spec } from '../oci/spec.js';
import type { Policy, PolicyKey } from '../policy/types.js';
import type { ContainerState } from '../store/state.js';
import type { RuntimeConfig } from '../policy/config.js';

/** The host side every step works with (the Runtime provides it, read once per invocation). */
export interface HostContext {
  /** the environment, read at start-up */
  env: RuntimeEnv;
  /** chrt, nsenter, insmod, rmmod, make, helper processes */
  host: HostOps;
  /** the host's cgroups: v1 or v2 from the probe, the systemd driver's naming with --systemd-cgroup */
  cgroups(): Cgroups;
  /** the scx backend's scheduler control (default: the scx_vkernel loader of env.scxLoader; tests give a double) */
  scx?(): ScxControl;
}

/** What an applier is given after `runc create`, when the container's init exists but has not started. */
export interface ApplyContext extends HostContext {
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
  config?: RuntimeConfig;
  /** runc's --systemd-cgroup */
  systemdCgroup: boolean;
  /**
   * Records in the state file, before a change outside the container (e.g. a parent cgroup's RT
   * budget), what undo would need if the process died right after it: a SIGKILL between the
   * change and apply's return must still leave something for `delete --force`/`gc` to undo. The
   * undo must cope with the change not having happened. apply's return value replaces it.
   */
  journal?(undo: unknown): void;
}

/** What a pre-flight check sees (before any side effect). */
export interface CheckContext {
  id: string;
  spec: Spec;
  policy: Policy;
  systemdCgroup: boolean;
  /** the runtime config (the operator's limits), the host probe, the host side: for checks of node-wide limits */
  config?: RuntimeConfig;
  probe?: HostProbe;
  host?: HostContext;
}

/** What undo is given: the saved state (the spec may be gone by then). */
export interface UndoContext extends HostContext {
  id: string;
  state: ContainerState;
  log: Logger;
  config?: RuntimeConfig;
  /** the runtime's --root, where helpers keep their files */
  root: string;
  /** how to start this runtime again (for helper processes) */
  self: string[];
  /** runc global flags of this invocation (for helpers that call back) */
  globals: string[];
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
  /** bad input that no host could apply (throws; never downgraded by strict=false) */
  check?(ctx: CheckContext): void;
  /** undefined when this host can apply it, else why not (shown to the user) */
  unsupported(policy: Policy, probe: HostProbe): string | undefined;
  /** before `runc create`: work that only fills caches (e.g. building the module), never container state */
  prepare?(policy: Policy, ctx: HostContext): Promise<void>;
  /**
   * whether apply changes nothing on this host for this policy (e.g. cfs where the rt backend sets
   * nothing): only records. When every applier of a request is inert, create hands runc's create
   * to the caller's own process where the runtime can (Runtime.handOver) and records the
   * container once runc has ended, under the container's lock, which start and delete wait for
   */
  inert?(policy: Policy, probe: HostProbe): boolean;
  /**
   * whether apply may run after `runc create` has returned to the caller (a create handed over, as
   * an inert one is): what it changes is the container's own and the node's budgets, and it fails
   * only for what the host does at that moment (bad input and the node's limits are refused by
   * check, before runc). The container's process cannot run before it has applied: `start` waits
   * for the create's lock and refuses a container whose request could not be put in force
   * (ContainerState.failed); `delete` cleans up as after a killed create
   */
  late?(policy: Policy, probe: HostProbe): boolean;
  /** returns what undo needs (JSON-serialisable), stored in the container's state */
  apply(ctx: ApplyContext): Promise<unknown>;
  undo(ctx: UndoContext, undo: unknown): Promise<void>;
  /**
   * just before runc removes the container (delete of a stopped container, delete --force,
   * rollback): give back what must not outlive the cgroup
   */
  release?(ctx: UndoContext, undo: unknown): Promise<void>;
  /**
   * whether, for this applied record, release and undo have nothing to do once runc has deleted
   * the container: what apply changed lives and dies with the container's own cgroup or
   * namespaces, or is given back without us by the next operation that needs it (the rt backend's
   * RT ledger holders: kernel/backends/rt-ledger.ts). When every applied applier says so (no
   * helper, no module), create hands the state
   * file to runc's container directory (StateStore.handToRunc) and `delete` goes straight to runc
   * at the launcher: runc removes our state with its own. Absent: the engine runs delete.
   */
  diesWithContainer?(undo: unknown, policy: Policy): boolean;
  /**
   * for a record that dies with the container: the cpu cgroup directory whose RT budget
   * (cpu.rt_runtime_us) must be zeroed before runc removes the group, which the launcher does when
   * it passes `delete` straight to runc (StateStore.linkRtGroup). A removed group's budget keeps
   * counting in the kernel until its task group is freed (up to seconds here), and the next RT
   * grant on the node waits for it meanwhile; zeroed first, it is free at once. The kernel refuses
   * the write while the group has RT tasks (a running or created container): then the launcher
   * runs the engine's delete, whose release demotes them and zeroes the budget before runc.
   */
  rtGroupAtDelete?(undo: unknown): string | undefined;
  /** after a successful `runc start` */
  started?(ctx: UndoContext): Promise<void>;
  /**
   * whether `started` has work for this policy. Only then does `start` go through the engine: for
   * every other container the launcher passes `start` straight to runc (StateStore.markStart).
   */
  startsAfter?(policy: Policy): boolean;
}
