import { readFileSync } from 'node:fs';
import { libcSymbols } from './libc-ffi.js';

/**
 * Resource limits. The engine runs under bun, which raises its open files' soft limit to the hard
 * one (at most 2^20) when it starts; runc (and through a runc that hands its caller's on, the
 * container's init where config.json sets no RLIMIT_NOFILE) and every helper would inherit that
 * instead of the caller's. The launchers name the caller's soft limit in VKERNEL_CALLER_NOFILE when
 * they exec the engine (client/vkernel-client.c whenever it does; bin/vkernel-runtime for a create
 * only, where runc create follows: its $(ulimit -Sn) is a fork); the engine puts it back
 * before it starts anything, when it is at least MIN_SOFT (the engine needs fds of its own: it
 * failed at 4, where runc, whose Go raises its own, still works). Not the server (vkernel-serve),
 * which serves many calls at once with the fds that takes: runc, whose limits the container's init
 * inherits, is the client's child and has the caller's; the helpers the server starts have its
 * raised soft limit (serve/protocol.ts rlimitsOf).
 */
export const CALLER_NOFILE = 'VKERNEL_CALLER_NOFILE';
/** RLIMIT_NOFILE: its number, and its index in /proc/self/limits's lines (RLIMIT_* order) */
export const RLIMIT_NOFILE = 7;
/** the least soft limit put back (measured: the engine creates with 8, fails with 4) */
export const MIN_SOFT = 64n;
const INFINITY = 0xffffffffffffffffn;

/**
 * where a line of /proc/PID/limits has its soft limit ([0], [1]) and its hard one ([1] + 1, [2]):
 * the kernel writes the name in 25 columns, then a space and each limit in 20 columns (a number of
 * at most 20 digits, or `unlimited`) and a space, then the unit
 */
const LIMIT_COLUMNS = [26, 46, 67] as const;

/** /proc/self/limits's lines: name, soft and hard limit (as written: a number or `unlimited`) */
export function limitLines(procLimits: string): [string, string, string][] {
  const [a, b, c] = LIMIT_COLUMNS;
  return procLimits.split('\n').slice(1).filter(Boolean).map((l) => [l.slice(0, 25).trim(), l.slice(a, b).trim() || '?', l.slice(b + 1, c).trim() || '?']);
}

const value = (v: string): bigint | undefined => (v === 'unlimited' ? INFINITY : /^[0-9]{1,20}$/.test(v) ? BigInt(v) : undefined);

/**
 * the open files' limits to set (soft, hard) so that the soft one is the caller's (`caller`, from
 * VKERNEL_CALLER_NOFILE) again; undefined when it already is, or `caller` is not a number under ours
 * (bun only raises it), or is under MIN_SOFT
 */
export function nofileToRestore(caller: string | undefined, procLimits: string): [bigint, bigint] | undefined {
  const line = limitLines(procLimits).find(([name]) => name === 'Max open files');
  const want = caller === undefined ? undefined : value(caller);
  const soft = line && value(line[1]);
  const hard = line && value(line[2]);
  if (want === undefined || soft === undefined || hard === undefined || want >= soft || want < MIN_SOFT) return undefined;
  return [want, hard];
}

/** the caller's open files soft limit the launcher named, taken out of what we pass on */
export function takeCallerNofile(env: NodeJS.ProcessEnv): string | undefined {
  const caller = env[CALLER_NOFILE];
  delete env[CALLER_NOFILE];
  return caller;
}

/**
 * puts the caller's open files' soft limit back (`caller`: takeCallerNofile's); under bun only (node,
 * which raises it too, has no setrlimit); an error leaves the call as it ran before this existed
 */
export async function restoreCallerNofile(caller: string | undefined): Promise<void> {
  if (caller === undefined || !process.versions.bun) return;
  let set: [bigint, bigint] | undefined;
  try {
    set = nofileToRestore(caller, readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return;
  }
  if (!set) return;
  const libc = await libcSymbols({ setrlimit: { args: ['i32', 'ptr'], returns: 'i32' } });
  libc?.setrlimit(RLIMIT_NOFILE, new BigUint64Array(set));
}
