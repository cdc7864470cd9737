import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { run, spawnInherited } from '../host/spawn.js';
import type { Invocation } from './argv.js';
import { timed } from '../profile.js';

/** Which runc to delegate to: `--runc`, then the config file's `runc:`, then VKERNEL_RUNC (RuntimeEnv.runc), then `runc` on PATH. */
export function runcBinary(inv: Invocation, configured?: string, fromEnv?: string): string {
  return inv.runc ?? configured ?? fromEnv ?? 'runc';
}

/**
 * Every signal we can catch goes on to runc, as runc itself forwards every signal to the container
 * (it handles SIGCHLD and SIGWINCH itself: the latter resizes its pty, so it must reach runc too).
 * Not SIGKILL/SIGSTOP (uncatchable), SIGCHLD (ours), nor the fault signals that leave a JS runtime
 * unable to run a listener (SIGSEGV, SIGBUS, SIGFPE, SIGILL: a handler would hide a real crash of
 * ours); one name per signal number (SIGIOT is SIGABRT). Under bun, SIGSTKFLT and SIGPWR cannot be
 * caught (bun has no name for the first and keeps the second for itself); the launcher execs runc
 * for every call, so only an engine started without it has that gap.
 */
const NOT_FORWARDED = ['SIGKILL', 'SIGSTOP', 'SIGCHLD', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL'];
const FORWARDED = (Object.keys(constants.signals) as NodeJS.Signals[])
  .filter((s, i, all) => !NOT_FORWARDED.includes(s) && all.findIndex((t) => constants.signals[t] === constants.signals[s]) === i);

let lastDeath: { signal: NodeJS.Signals; status: number } | undefined;

/** the signal runc died by, when `status` is what the last inherited runc call returned for it */
export function runcDeathSignal(status: number): NodeJS.Signals | undefined {
  return lastDeath && lastDeath.status === status ? lastDeath.signal : undefined;
}

/** Dies by `signal` (default action restored); if it is ignored or caught anyway, exits 128+n. */
export function dieBy(signal: NodeJS.Signals, status: number): void {
  for (const s of FORWARDED) process.removeAllListeners(s);
  try {
    process.kill(process.pid, signal);
  } catch { /* fall through to the exit status */ }
  setTimeout(() => process.exit(status), 200);
}

/** O_CLOEXEC in the `flags:` line of /proc/<pid>/fdinfo/<fd> (octal) */
const O_CLOEXEC = 0o2000000;

/**
 * Whether `fd` is one our caller handed us: open, without close-on-exec. Every fd node and bun
 * open themselves (event loop, files, our lock) is O_CLOEXEC; an fd that came through exec never
 * is (exec would have closed it).
 */
export function callersFd(fd: number, fdinfo = '/proc/self/fdinfo'): boolean {
  let info: string;
  try {
    info = readFileSync(`${fdinfo}/${fd}`, 'utf8');
  } catch {
    return false; // not open
  }
  const flags = /^flags:\s*([0-7]+)/m.exec(info)?.[1];
  return flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0;
}

/**
 * The fds a runc child must inherit besides stdio: runc passes `--preserve-fds N` fds (3..3+N-1)
 * and socket-activation fds (`LISTEN_FDS`) into the container. Listed explicitly, because bun
 * closes every fd that is not in `stdio`. Only our caller's: where the caller had nothing open,
 * our runtime has its own fds (the event loop's epoll and eventfd, a lock file), which must never
 * reach the container; runc gets nothing there ('ignore'), as when the caller calls it directly.
 */
export function extraFds(preserveFds: number, listenFds = 0, isCallers: (fd: number) => boolean = callersFd): (number | 'ignore')[] {
  const n = Math.max(Number.isFinite(preserveFds) ? preserveFds : 0, Number.isFinite(listenFds) ? listenFds : 0);
  const fds: (number | 'ignore')[] = Array.from({ length: n }, (_, i) => (isCallers(3 + i) ? 3 + i : 'ignore'));
  while (fds.at(-1) === 'ignore') fds.pop();
  return fds;
}

/** LISTEN_FDS addressed to this process (systemd socket activation, sd_listen_fds rules) */
export function listenFdsForUs(env: { listenFds: number; listenPid?: string }, pid = process.pid): boolean {
  return env.listenFds > 0 && env.listenPid === String(pid);
}

/** exit code as a shell reports it: the code, or 128+signal */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] ?? 1 : 1);
}

/**
 * Runs runc with our stdio and extra fds, forwarding every catchable signal we receive, and
 * resolves with runc's exit status.
 */
export function runcInherit(bin: string, args: readonly string[], fds: readonly (number | 'ignore')[] = [], socketActivation = false): Promise<number> {
  const bun = bunSpawn();
  if (bun) return runcInheritBun(bun, bin, args, fds, socketActivation);
  return new Promise((resolveStatus, reject) => {
    const child = timed('spawn (node:child_process)', () => (socketActivation
      // socket activation: runc takes LISTEN_FDS only when LISTEN_PID is its own pid, so runc is
      // started by a constant sh snippet that sets it to its pid and execs runc (args stay argv)
      ? spawnInherited('/bin/sh', ['-c', 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"', bin, ...args], fds)
      : spawnInherited(bin, args, fds)));
    const forward = (sig: NodeJS.Signals) => { child.kill(sig); };
    for (const s of FORWARDED) {
      try { process.on(s, forward); } catch { /* a name this JS runtime cannot watch */ }
    }
    const done = () => { for (const s of FORWARDED) process.off(s, forward); };
    child.on('error', (e) => {
      done();
      reject(new Error(`cannot run ${bin}: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      done();
      const status = exitStatus(code, signal);
      lastDeath = signal ? { signal, status } : undefined;
      resolveStatus(status);
    });
  });
}

/** the part of Bun.spawn runcInherit uses (present only under bun: the compiled engine) */
type BunSpawn = (cmd: string[], o: { stdio: (number | 'inherit' | 'ignore')[] }) => {
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number>;
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
};

/** Bun.spawn when we run under bun (the compiled engine), else undefined (node) */
function bunSpawn(): BunSpawn | undefined {
  const spawn = (globalThis as { Bun?: { spawn?: BunSpawn } }).Bun?.spawn;
  return typeof spawn === 'function' ? spawn : undefined;
}

/**
 * runcInherit under bun: Bun.spawn directly. node:child_process in the compiled engine costs ~10 ms
 * more CPU per call (its emitter and stream layer over the same spawn; bench/spawn-cost.mjs), paid
 * by every create and delete that goes through the engine. Same contract: our stdio and the listed
 * fds ('ignore' leaves a slot closed), every catchable signal forwarded, runc's status back.
 */
function runcInheritBun(spawn: BunSpawn, bin: string, args: readonly string[], fds: readonly (number | 'ignore')[], socketActivation: boolean): Promise<number> {
  const argv = socketActivation ? ['/bin/sh', '-c', 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"', bin, ...args] : [bin, ...args];
  let child: ReturnType<BunSpawn>;
  try {
    child = timed('spawn (Bun.spawn)', () => spawn(argv, { stdio: ['inherit', 'inherit', 'inherit', ...fds] }));
  } catch (e) {
    return Promise.reject(new Error(`cannot run ${bin}: ${(e as Error).message}`));
  }
  const forward = (sig: NodeJS.Signals) => { child.kill(sig); };
  for (const s of FORWARDED) {
    try { process.on(s, forward); } catch { /* a name this JS runtime cannot watch */ }
  }
  return child.exited.then(() => {
    for (const s of FORWARDED) process.off(s, forward);
    const signal = child.signalCode;
    const status = exitStatus(signal ? null : child.exitCode, signal);
    lastDeath = signal ? { signal, status } : undefined;
    return status;
  });
}

export interface Captured { status: number; stdout: string; stderr: string }

/** Runs runc and captures its output (for `state`, `features`, `--version`). */
export async function runcCapture(bin: string, args: readonly string[]): Promise<Captured> {
  const r = await run(bin, args);
  if (r.error) throw new Error(`cannot run ${bin}: ${r.error.message}`);
  return { status: exitStatus(r.code, r.signal), stdout: r.stdout, stderr: r.stderr };
}
