import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { containerId, flagSet, flagValue, parseCommandArgs, replaceFlag } from '../oci/argv.js';
import { bundlePath, type Spec } from '../oci/spec.js';
import { extraFds } from '../oci/runc.js';
import { withLock } from '../store/lock.js';
import { checkId } from '../store/state.js';
import { newState, prepareAll, readRequest } from './request.js';
import type { Runtime } from './runtime.js';
import { selfCommand } from '../oci/self.js';
import { clearStale, undoAll } from './undo.js';

/** where `run` keeps the private bundles of containers with a vkernel request */
export const RUN_BUNDLES = process.env.VKERNEL_RUN_BUNDLES ?? '/run/vkernel-runtime/bundles';


/**
 * The spec `runc run` is given for a container with a vkernel request: the caller's, with paths made
 * absolute against the caller's bundle, plus our createRuntime hook, which applies the policy after
 * the container exists and before its process starts (as create does). runc keeps a terminal,
 * signals and the exit status exactly as in a plain `runc run`.
 */
export function runSpec(spec: Spec, bundle: string, hook: string[], globals: string[], id: string): Spec {
  const abs = (p: string) => (isAbsolute(p) ? p : join(bundle, p));
  const mounts = (spec.mounts as { source?: string; type?: string; options?: string[] }[] | undefined)?.map((m) => {
    const bind = m.type === 'bind' || m.options?.some((o) => o === 'bind' || o === 'rbind');
    return bind && m.source ? { ...m, source: abs(m.source) } : m;
  });
  const ours = { path: hook[0], args: [...hook, ...globals, 'vkernel-hook', 'create-runtime', id], env: hookEnv() };
  return {
    ...spec,
    ...(spec.root ? { root: { ...spec.root, path: abs(spec.root.path) } } : {}),
    ...(mounts ? { mounts } : {}),
    hooks: { ...spec.hooks, createRuntime: [...(spec.hooks?.createRuntime ?? []), ours] },
  };
}

/** runc gives a hook only the env of its spec entry: PATH, and the test aid when it is set */
function hookEnv(): string[] {
  const env = [`PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`];
  if (process.env.VKERNEL_RUNTIME_TEST_FAULT) env.push(`VKERNEL_RUNTIME_TEST_FAULT=${process.env.VKERNEL_RUNTIME_TEST_FAULT}`);
  return env;
}

/** run = create + start + wait, with the policy applied in between (by our hook, see runSpec). */
export async function run(rt: Runtime): Promise<number> {
  const c = parseCommandArgs('run', rt.inv.args);
  const id = containerId('run', c);
  checkId(id);
  const bundle = bundlePath(flagValue(c, 'bundle', 'b'));
  const req = readRequest(rt, id, bundle);
  const fds = extraFds(Number(flagValue(c, 'preserve-fds') ?? 0));
  if (!req.appliers) return rt.inherit(rt.callerArgv(), fds);

  await prepareAll(req.appliers, req);
  const state = newState(id, bundle, req);
  await withLock(rt.root, id, async () => {
    await clearStale(rt, id);
    mkdirSync(RUN_BUNDLES, { recursive: true, mode: 0o700 });
    state.runBundle = mkdtempSync(join(RUN_BUNDLES, `${id}-`));
    writeFileSync(join(state.runBundle, 'config.json'), JSON.stringify(runSpec(req.spec, bundle, selfCommand(), ['--root', rt.root, ...(rt.inv.globals.systemdCgroup ? ['--systemd-cgroup'] : [])], id)));
    rt.store.write(state);
  });
  const argv = rt.runcArgv('run', ...replaceFlag('run', rt.inv.args, ['bundle', 'b'], state.runBundle as string));
  const status = await rt.inherit(argv, fds);
  const detached = flagSet(c, 'detach', 'd') || flagSet(c, 'keep');
  await withLock(rt.root, id, async () => {
    const now = rt.store.read(id);
    if (now && !(detached && (await rt.runcState(id)))) await undoAll(rt, now);
  });
  return status;
}
