import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { pidfds, type Pidfds } from '../host/pidfd.js';

/**
 * A process as stored in our state: its pid and its start time (/proc/<pid>/stat field 22, clock
 * ticks after boot). A pid alone may name another process by the time we look again (pids are
 * reused); the pair names one process for the whole uptime of the host.
 */
export interface ProcRef { pid: number; start?: string }

/** /proc/<pid>/stat, or undefined when there is no such process */
export function procStat(pid: number, proc = '/proc'): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`${proc}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}

/** field 22 of /proc/<pid>/stat, or undefined when there is no such process */
export function startTime(pid: number, proc = '/proc'): string | undefined {
  const stat = procStat(pid, proc);
  return stat === undefined ? undefined : statField(stat, 22);
}

/**
 * Fields `ns` (from 2, numbered as in proc(5)) of a /proc/<pid>/stat text: 2 is comm, which may
 * hold spaces and parentheses, so the others are counted from its last ')'.
 */
export function statFields(stat: string, ...ns: number[]): string[] {
  const close = stat.lastIndexOf(')');
  const rest = stat.slice(close + 2).split(' ');
  return ns.map((n) => (n === 2 ? stat.slice(stat.indexOf('(') + 1, close) : rest[n - 3]));
}

/** field `n` of a /proc/<pid>/stat text (statFields) */
export function statField(stat: string, n: number): string {
  return statFields(stat, n)[0];
}

/**
 * the start time of pid while it runs: undefined when there is no such process or it has ended and
 * is not reaped yet (state Z or X: its /proc entry stays, with the same start time, until its
 * parent waits for it, and lists the root of every cgroup hierarchy). runc's own test of a
 * container's init; what every check of a stored process (isSameProcess, a helper watching the
 * container's init) goes by.
 */
export function liveStartTime(pid: number, proc = '/proc'): string | undefined {
  const stat = procStat(pid, proc);
  if (stat === undefined) return undefined;
  const [state, start] = statFields(stat, 3, 22);
  return state === 'Z' || state === 'X' || state === 'x' ? undefined : start;
}

/** the reference to a live process, to be stored */
export function procRef(pid: number): ProcRef {
  return { pid, start: startTime(pid) };
}

/**
 * Whether `p` is still the process it was when stored, and runs (an ended one that is not reaped
 * yet is gone: liveStartTime). A reference stored without a start time (state written by an older
 * version) is judged by `legacy` (e.g. its command line), else false.
 */
export function isSameProcess(p: ProcRef | number, legacy?: (pid: number) => boolean): boolean {
  const ref = typeof p === 'number' ? { pid: p } : p;
  const now = liveStartTime(ref.pid);
  if (now === undefined) return false;
  if (ref.start === undefined) return legacy?.(ref.pid) ?? false;
  return now === ref.start;
}

/** the command line of pid, NUL-separated arguments joined by spaces ('' when gone) */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/**
 * Sends `signal` to the stored process only if it is still that process (same start time, checked
 * right before the signal). The one way anything of ours signals a pid it stored (helpers, the
 * adaptive controller). Under bun: a pidfd is opened first, the start time checked, and the signal
 * sent through the pidfd, so the process checked is the process signalled (a pidfd keeps naming
 * its process even if the pid is reused meanwhile). Under node: check, then kill(2): not atomic,
 * but a pid is reused only after its process was reaped and pid_max cycled through, so the window
 * is the time between two syscalls against a whole cycle of pids. Returns whether it was signalled.
 */
export async function signalProcess(p: ProcRef | number, signal: NodeJS.Signals, legacy?: (pid: number) => boolean, fds?: Pidfds | null): Promise<boolean> {
  const pid = typeof p === 'number' ? p : p.pid;
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const pf = fds === null ? undefined : fds ?? (await pidfds());
  if (pf) {
    const fd = pf.open(pid);
    if (fd === undefined) return false; // no such process
    try {
      return isSameProcess(p, legacy) && pf.signal(fd, constants.signals[signal]);
    } finally {
      pf.close(fd);
    }
  }
  if (!isSameProcess(p, legacy)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}
