import { failure, run } from '../host/spawn.js';

/** flock(2) operation bits (<sys/file.h>) */
const LOCK_EX = 2;
const LOCK_NB = 4;
/** util-linux flock(1): the exit status we ask for when the lock is held by someone else */
const BUSY = 101;

/**
 * Try to take an exclusive flock(2) on the open file description behind `fd`, without waiting:
 * true when we now hold it, false when another open file description holds it.
 */
export type TryLock = (fd: number) => Promise<boolean>;

export interface FileLocker { mechanism: 'bun:ffi' | 'util-linux'; tryLock: TryLock }

/**
 * Under bun (the compiled engine): libc's flock() through bun:ffi, one call per attempt.
 * Measured: dlopen ≈ 1.6 ms once per process, then a few µs per attempt.
 */
async function bunFfi(): Promise<FileLocker | undefined> {
  if (typeof (globalThis as { Bun?: unknown }).Bun === 'undefined') return undefined;
  try {
    const { dlopen } = await import('bun:ffi');
    const libc = dlopen('libc.so.6', { flock: { args: ['i32', 'i32'], returns: 'i32' } });
    // -1 is EWOULDBLOCK (held elsewhere) or a transient EINTR/ENOLCK: all mean "not now", and the
    // caller's deadline reports a lock that never comes
    return { mechanism: 'bun:ffi', tryLock: async (fd) => libc.symbols.flock(fd, LOCK_EX | LOCK_NB) === 0 };
  } catch {
    return undefined; // no libc.so.6 (a musl host): util-linux below
  }
}

/**
 * Under node, which has no flock(): util-linux `flock -xn 3` in a short child that inherits our
 * open file description as its fd 3. flock(2) locks belong to the open file description, not to
 * the process that asked, so the lock stays held by the description our process keeps open after
 * the child exits, and the kernel drops it when our last fd to it closes (our exit, or SIGKILL).
 */
const utilLinux: FileLocker = {
  mechanism: 'util-linux',
  async tryLock(fd) {
    const r = await run('flock', ['--exclusive', '--nonblock', '--conflict-exit-code', String(BUSY), '3'], { fds: [fd] });
    if (r.code === 0) return true;
    if (r.code === BUSY) return false;
    if (r.error) throw new Error(`cannot run flock (util-linux) to take a lock: ${r.error.message}`);
    throw new Error(`flock (util-linux) failed (exit ${r.code}): ${failure(r)}`);
  },
};

let chosen: Promise<FileLocker> | undefined;

/** The one flock mechanism of this process, chosen on first use. */
export function fileLocker(): Promise<FileLocker> {
  chosen ??= bunFfi().then((b) => b ?? utilLinux);
  return chosen;
}
