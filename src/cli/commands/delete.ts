import type { Runtime } from '../../lifecycle/runtime.js';

/** `delete` (runc's argv unchanged): the lifecycle's delete, imported only when called */
export async function deleteCommand(rt: Runtime): Promise<number> {
  return (await import('../../lifecycle/delete.js')).del(rt);
}
