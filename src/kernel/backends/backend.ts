import type { HostOps } from '../../host/ops.js';
import type { Cgroups, CpuGroup } from '../cgroups/index.js';
import type { HostProbe } from '../probe.js';
import type { ScxControl } from './scx-control.js';

export type Mode = 'cfs' | 'fifo';

export interface RtSettings {
  /** SCHED_FIFO priority given to the container's tasks (1..99) */
  priority: number;
  /** the container group's RT budget, percent of cpu.rt_period_us */
  budgetPercent: number;
  /** rt v2: the most CPU its supervisor may use, percent of one CPU (supervisor/self-limit.ts; default 20) */
  supervisorCpuPercent?: number;
  /** the node-wide limit of all vkernel containers' RT budgets, percent of each CPU (config limits.rt_budget_percent) */
  nodeLimitPercent?: number;
  /** the container, named in the node cap's refusal */
  id?: string;
}

/** limits.rt_budget_percent when the config says nothing (ARCHITECTURE.md "Operator policy") */
export const NODE_LIMIT_DEFAULT = 50;

export const RT_DEFAULTS: RtSettings = { priority: 1, budgetPercent: 25 };

/** what a backend works with: the host's cgroups, its operations, where host-wide locks live, how to start us again */
export interface BackendDeps {
  cgroups: Cgroups;
  host: HostOps;
  lockDir: string;
  self: string[];
  /** the scx backend's scheduler control (scx-control.ts) */
  scx?: ScxControl;
}

/**
 * How a scheduling mode is applied to a container's cgroup (ARCHITECTURE.md "Backends"). The
 * siblings: `kernel` (patched kernel, cpu.real_policy), `rt` (stock kernel with RT group
 * scheduling: SCHED_FIFO + RT group budget) and `rt-v2` (stock kernel on cgroup v2 without it:
 * SCHED_FIFO + a supervisor enforcing the budget), and `scx` (Linux >= 6.12 with sched_ext: a BPF
 * scheduler with a map from cgroup to policy).
 */
export interface SchedBackend {
  name: 'kernel' | 'rt' | 'rt-v2' | 'scx';
  /** undefined when usable on this host for this mode, else why not */
  unsupported(mode: Mode | 'adaptive', probe: HostProbe): string | undefined;
  /** at create, before start: make the group run `mode`; returns what teardown needs (JSON) */
  /**
   * `journal`: called with what teardown needs before anything outside the container's group
   * changes (teardown copes with a change that did not happen), so that a crash after it leaves
   * nothing unrecorded (the lifecycle writes it to the state file).
   */
  setup(d: BackendDeps, group: CpuGroup, pid: number, mode: Mode, adaptive: boolean, rt: RtSettings, journal?: (undo: unknown) => void): Promise<unknown>;
  /** whether setup changes nothing for this mode (and returns undefined) */
  inert?(mode: Mode, adaptive: boolean): boolean;
  /** a running container changes mode (the adaptive controller) */
  switchTo(d: BackendDeps, group: CpuGroup, mode: Mode, rt: RtSettings): Promise<void>;
  /** before runc removes the group (its tasks may still exist) */
  release?(d: BackendDeps, undo: unknown): Promise<void>;
  /** after the container is gone */
  teardown(d: BackendDeps, undo: unknown): Promise<void>;
}
