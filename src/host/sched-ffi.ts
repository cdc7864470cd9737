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

/** sched_setscheduler's policy flag: children of the task start SCHED_OTHER (sched(7)) */
const SCHED_RESET_ON_FORK = 0x40000000;

/**
 * SCHED_FIFO `priority` with SCHED_RESET_ON_FORK for the threads `tids` of this process, under bun;
 * undefined under node (no FFI: the caller falls back to its plain setter). The rt v2 supervisor
 * and its sentinel run at FIFO 99, but the processes they start (each other) must not: an engine's
 * start-up is the costliest part of its life (seconds of CPU under an emulated CPU) and would run
 * above every task of the container. Returns the tids it could not set.
 */
export async function fifoResetOnFork(tids: readonly number[], priority: number): Promise<number[] | undefined> {
  const lib = await libcSymbols({ sched_setscheduler: { args: ['i32', 'i32', 'ptr'], returns: 'i32' } });
  if (!lib) return undefined;
  const param = new Int32Array([priority]);
  return tids.filter((t) => lib.sched_setscheduler(t, SCHED_FIFO | SCHED_RESET_ON_FORK, param) !== 0);
}
