import type { Runtime } from '../../lifecycle/runtime.js';

/** `create` (runc's argv unchanged): the lifecycle's create, imported only when called */
export async function create(rt: Runtime): Promise<number> {
  return (await import('../../lifecycle/create.js')).create(rt);
}
