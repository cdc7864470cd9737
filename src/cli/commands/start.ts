import type { Runtime } from '../../lifecycle/runtime.js';

/** `start` (runc's argv unchanged): the lifecycle's start, imported only when called */
export async function start(rt: Runtime): Promise<number> {
  return (await import('../../lifecycle/start.js')).start(rt);
}
