import { libcSymbols } from './libc-ffi.js';

/**
 * sched_setscheduler(2) in-process through bun:ffi, when we run under bun (the compiled engine):
 * switching a container's N threads costs N syscalls instead of N chrt processes. Under node
 * (tests of the sources) there is no FFI: undefined, and the caller falls back to chrt.
 */
export type SetThreadPolicy = (tid: number, policy: 'fifo' | 'other', priority: number) => boolean;

const SCHED_OTHER = 0;
const SCHED_FIFO = 1;

let loaded: SetThreadPolicy | null | undefined;

export async function threadPolicySetter(): Promise<SetThreadPolicy | undefined> {
  if (loaded !== undefined) return loaded ?? undefined;
  const lib = await libcSymbols({ sched_setscheduler: { args: ['i32', 'i32', 'ptr'], returns: 'i32' } });
  const param = new Int32Array(1);
  loaded = lib
    ? (tid, policy, priority) => {
      param[0] = policy === 'fifo' ? priority : 0;
      return lib.sched_setscheduler(tid, policy === 'fifo' ? SCHED_FIFO : SCHED_OTHER, param) === 0;
    }
    : null;
  return loaded ?? undefined;
}
