import { libcSymbols } from './libc-ffi.js';

/**
 * pidfd_open(2) and pidfd_send_signal(2) through bun:ffi (glibc ≥ 2.36 wrappers), when we run
 * under bun (the compiled engine). A pidfd names one process for as long as it is open, so
 * "check the stored start time, then signal" has no window in which the pid could be reused
 * (store/proc.ts signalProcess). Under node (tests of the sources), or where libc lacks the
 * wrappers: undefined, and the caller checks and kill(2)s. Loaded on first use only: the hot path
 * (create/start of a container without helpers) never signals a stored pid.
 */
export interface Pidfds {
  /** a pidfd for pid, or undefined when there is no such process */
  open(pid: number): number | undefined;
  /** sends signal number `sig` through the pidfd; false when the process is gone */
  signal(fd: number, sig: number): boolean;
  close(fd: number): void;
}

let loaded: Pidfds | null | undefined;

export async function pidfds(): Promise<Pidfds | undefined> {
  if (loaded !== undefined) return loaded ?? undefined;
  // no bun:ffi, or a libc without the wrappers: null, and the caller checks + kill(2)s
  const libc = await libcSymbols({
    pidfd_open: { args: ['i32', 'u32'], returns: 'i32' },
    pidfd_send_signal: { args: ['i32', 'i32', 'ptr', 'u32'], returns: 'i32' },
    close: { args: ['i32'], returns: 'i32' },
  });
  loaded = libc ? {
    open: (pid) => {
      const fd = libc.pidfd_open(pid, 0);
      return fd >= 0 ? fd : undefined;
    },
    signal: (fd, sig) => libc.pidfd_send_signal(fd, sig, null, 0) === 0,
    close: (fd) => { libc.close(fd); },
  } : null;
  return loaded ?? undefined;
}
