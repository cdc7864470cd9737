import type { Runtime } from '../../lifecycle/runtime.js';

/** `run` (runc's argv unchanged); `prepare`: the launcher's first step (it execs runc itself) */
export async function run(rt: Runtime, mode: 'prepare' | 'spawn' = 'spawn'): Promise<number> {
  return (await import('../../lifecycle/run.js')).run(rt, mode);
}
