import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runcCapture } from '../oci/runc.js';
import { isSameProcess } from '../store/proc.js';
import { registeredRoots } from '../store/roots.js';
import { HOOK_ROOT, StateStore, type ContainerState } from '../store/state.js';

/** where engines keep runc roots: the roots themselves, or directories of per-namespace roots */
const ROOTS = ['/run/runc', '/run/crun', HOOK_ROOT];
const ROOT_PARENTS = ['/run/containerd/runc', '/run/docker/runtime-runc', '/var/run/docker/runtime-runc', '/run/user'];

/** files of ours beside runc's container directories, or a state handed to one (StateStore.handToRunc) */
const ours = (dir: string) => {
  try {
    const store = new StateStore(dir);
    return readdirSync(dir).some((n) => n.startsWith('vkernel@')) || store.list().length > 0;
  } catch {
    return false;
  }
};

/**
 * The runc roots on this host that hold files of ours: the usual ones (runc, crun, containerd's
 * per-namespace roots, docker's, rootless /run/user/<uid>/runc, our OCI hook's), and every root a
 * state of ours was ever written under (store/roots.ts: the registry `rootsDir`, RuntimeEnv.rootsDir).
 */
export function knownRoots(rootsDir: string): string[] {
  const roots = new Set([...ROOTS, ...registeredRoots(rootsDir)]);
  for (const base of ROOT_PARENTS) {
    let names: string[] = [];
    try { names = readdirSync(base); } catch { /* not on this host */ }
    for (const n of names) roots.add(base === '/run/user' ? join(base, n, 'runc') : join(base, n));
  }
  return [...roots].filter((r) => existsSync(r) && ours(r));
}

export interface Leftover { root: string; state: ContainerState }

/**
 * Whether a state of ours belongs to a live container: runc knows it, or (our OCI hook's root,
 * which no runc root backs) its init process still runs, or the vkernel-runtime process that wrote
 * it still runs (`run` between writing the state and `runc run` creating the container).
 */
export async function inUse(runc: string, root: string, state: ContainerState): Promise<boolean> {
  if (state.owner && isSameProcess(state.owner)) return true;
  if (root === HOOK_ROOT) return state.pid !== undefined && isSameProcess({ pid: state.pid, start: state.pidStart }, () => true);
  return (await runcCapture(runc, ['--root', root, 'state', state.id])).status === 0;
}

/** state of ours whose container runc no longer knows (a killed runtime, a crash mid-delete) */
export async function findLeftovers(runc: string, roots: string[]): Promise<Leftover[]> {
  const found: Leftover[] = [];
  for (const root of roots) {
    const store = new StateStore(root);
    for (const id of store.list()) {
      const state = store.read(id);
      if (state && !(await inUse(runc, root, state))) found.push({ root, state });
    }
  }
  return found;
}
