import { readFileSync } from 'node:fs';
import type { Peer } from '../host/peer-cred.js';
import { liveStartTime } from '../store/proc.js';
import { contextOf, procFacts } from './context.js';

/** /proc's clock ticks per second (USER_HZ: 100 in every Linux ABI) */
const TICKS = 100;

/** who called the server, as the kernel has it */
export interface Caller {
  pid: number;
  /** contextOf, read from /proc/<pid> */
  context: string;
}

/**
 * whether a process that started at `startTicks` (/proc/PID/stat, clock ticks since boot) started
 * after a connection accepted `msSinceAccept` ago, at an uptime of `uptimeSeconds` (/proc/uptime, the
 * same clock): then it is not the process that connected. One tick of slack each way (both clocks
 * are read in 10 ms steps)
 */
export function startedAfter(startTicks: number, uptimeSeconds: number, msSinceAccept: number): boolean {
  const accepted = uptimeSeconds * TICKS - (msSinceAccept * TICKS) / 1000;
  return startTicks > Math.ceil(accepted) + 1;
}

/**
 * The caller of a connection: the process the kernel says connected (SO_PEERCRED, `peer`) and its
 * context read by us from /proc/<pid>, so that what a call is allowed (server.ts refusal) never rests
 * on what the client says of itself: any process that can open the socket could say anything.
 * A peer's pid is a number the kernel noted at connect(2): if that process ended (handing the
 * socket to another) the number may be another process's by now, so one that started after the
 * connection was accepted is refused. The start time is read after the context: a process that is
 * alive then and started before the accept had the pid throughout (a live process keeps its pid),
 * so the context read is its own. A string: why there is no caller to serve (the call goes to the
 * engine, which the client execs with its own context). `lsm` false: no LSM label to read (procFacts).
 */
export function callerOf(peer: Peer | undefined, msSinceAccept: number, proc = '/proc', lsm = true): Caller | string {
  if (!peer) return 'the caller is not known (no SO_PEERCRED)';
  const gone = `the caller (pid ${peer.pid}) is gone`;
  let context: string;
  let uptime: number;
  try {
    context = contextOf(procFacts(`${proc}/${peer.pid}`, lsm));
    uptime = Number(readFileSync(`${proc}/uptime`, 'utf8').split(' ')[0]);
  } catch {
    return gone;
  }
  const start = liveStartTime(peer.pid, proc);
  if (start === undefined) return gone;
  if (!(uptime > 0) || startedAfter(Number(start), uptime, msSinceAccept)) return `pid ${peer.pid} is not the process that connected (it started after)`;
  return { pid: peer.pid, context };
}
