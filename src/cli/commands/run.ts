import type { Runtime } from '../../lifecycle/runtime.js';

/** `run` (runc's argv unchanged): the lifecycle's run, imported only when called */
export async function run(rt: Runtime): Promise<number> {
  return (await import('../../lifecycle/run.js')).run(rt);
}
