import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runcCapture } from '../oci/runc.js';
import { StateStore, type ContainerState } from '../store/state.js';
import { HOOK_ROOT } from './oci-hook.js';

/** the runc roots the engines use on a host (runc, containerd namespaces, docker, our OCI hook) */
export function knownRoots(): string[] {
  const roots = ['/run/runc', '/run/docker/runtime-runc/moby', HOOK_ROOT];
  for (const base of ['/run/containerd/runc']) {
    if (existsSync(base)) for (const ns of readdirSync(base)) roots.push(join(base, ns));
  }
  return roots.filter((r) => existsSync(r));
}

export interface Leftover { root: string; state: ContainerState }

/** state of ours whose container runc no longer knows (a killed runtime, a crash mid-delete) */
export async function findLeftovers(runc: string, roots: string[]): Promise<Leftover[]> {
  const found: Leftover[] = [];
  for (const root of roots) {
    const store = new StateStore(root);
    for (const id of store.list()) {
      const state = store.read(id);
      if (!state) continue;
      // the OCI hook root is ours alone: there, a state whose init is gone is a leftover
      const alive = root === HOOK_ROOT
        ? state.pid !== undefined && existsSync(`/proc/${state.pid}`)
        : (await runcCapture(runc, ['--root', root, 'state', id])).status === 0;
      if (!alive) found.push({ root, state });
    }
  }
  return found;
}
