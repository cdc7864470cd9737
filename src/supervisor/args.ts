import { posix } from 'node:path';
import type { Cgroups } from '../kernel/cgroups/types.js';

/** the FIFO priority of the supervisor itself: above any container task it supervises */
export const SUPERVISOR_PRIORITY = 99;
/**
 * the window (the v1 period's counterpart) and the longest sleep between two samples while FIFO:
 * the sweep for tasks that join (an idle fifo container costs its supervisor a sample per tick:
 * ~0.3 ms CPU each on the 2-core test host, so ~1.5 % of a CPU at 20 ms)
 */
export const WINDOW_MS = 100;
export const TICK_MS = 20;

/** the supervisor's command word (the launcher passes it to the engine) */
export const SUPERVISE = 'vkernel-rt-supervise';

/** how many times a sentinel restarts a supervisor that died within RESTART_WINDOW_MS, at most */
export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 60_000;

/** what `vkernel-rt-supervise <json>` is given (by the rt v2 backend's setup) */
export interface SupervisorArgs {
  id: string;
  /** the container's group (directory) */
  dir: string;
  /** the supervisor's own group (directory), beside the container's */
  own: string;
  /** RT budget, percent of each CPU of the group */
  percent: number;
  /** SCHED_FIFO priority of the container's tasks (1..98) */
  priority: number;
  windowMs: number;
  tickMs: number;
  /** the most CPU it may use, percent of one CPU (self-limit.ts; CPU_CAP when absent) */
  cpuCapPercent?: number;
  /** the container's init: the supervisor ends when it is gone */
  init: { pid: number; start?: string };
  /** where the supervisor writes its start, errors and end (with its counters) */
  log?: string;
  /**
   * `sentinel`: this process is the supervisor's sentinel (sentinel.ts), started by it with a pipe
   * as its stdin; absent: the supervisor
   */
  role?: 'sentinel';
  /** when (ms since the epoch) a sentinel restarted the supervisor lately (the last RESTART_WINDOW_MS) */
  restarts?: number[];
}

/**
 * The supervisor's group of container `id`: a sibling of the container's group
 * (`<parent>/vkernel-rt-<id>`), like the adaptive controller's. Its CPU time counts to the
 * container's parent (a pod's group) and never to the container's usage, which it measures.
 */
export const supervisorGroupPath = (containerPath: string, id: string) => posix.join(posix.dirname(containerPath), `${SUPERVISOR_GROUP_PREFIX}${id}`);

/** the name of a supervisor's group is this prefix and the container id */
export const SUPERVISOR_GROUP_PREFIX = 'vkernel-rt-';

const num = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;

/** parses and checks the argument before anything is touched: groups only inside the hierarchy */
export function parseSupervisorArgs(json: string | undefined, cgroups: Cgroups): SupervisorArgs {
  let a: SupervisorArgs;
  try {
    a = JSON.parse(json ?? '') as SupervisorArgs;
  } catch {
    throw new Error('vkernel-rt-supervise: bad argument');
  }
  if (!a || typeof a.id !== 'string' || typeof a.dir !== 'string' || typeof a.own !== 'string') throw new Error('vkernel-rt-supervise: bad argument');
  if (!num(a.percent, 0.01, 100) || !num(a.priority, 1, SUPERVISOR_PRIORITY - 1) || !num(a.windowMs, 1, 10_000) || !num(a.tickMs, 1, 1000)) {
    throw new Error('vkernel-rt-supervise: percent, priority, windowMs or tickMs out of range');
  }
  if (!a.init || !Number.isInteger(a.init.pid) || a.init.pid <= 0) throw new Error('vkernel-rt-supervise: bad init');
  if (a.log !== undefined && (typeof a.log !== 'string' || !a.log.startsWith('/'))) throw new Error('vkernel-rt-supervise: bad log path');
  if (a.cpuCapPercent !== undefined && !num(a.cpuCapPercent, 1, 100)) throw new Error('vkernel-rt-supervise: cpuCapPercent out of range');
  if (a.role !== undefined && a.role !== 'sentinel') throw new Error('vkernel-rt-supervise: bad role');
  if (a.restarts !== undefined && (!Array.isArray(a.restarts) || a.restarts.length > MAX_RESTARTS || !a.restarts.every((t) => num(t, 0, Number.MAX_SAFE_INTEGER)))) {
    throw new Error('vkernel-rt-supervise: bad restarts');
  }
  try {
    cgroups.groupAt(a.dir);
    cgroups.groupAt(a.own);
  } catch (e) {
    throw new Error(`vkernel-rt-supervise: ${(e as Error).message}`);
  }
  if (a.dir === a.own || posix.dirname(a.own) !== posix.dirname(a.dir)) throw new Error('vkernel-rt-supervise: its own group must be a sibling of the container\'s');
  return a;
}
