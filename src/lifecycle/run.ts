import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerId, flagValue, parseCommandArgs } from '../oci/argv.js';
import { bundlePath, type Spec } from '../oci/spec.js';
import { withLock } from '../store/lock.js';
import { checkId } from '../store/state.js';
import { newState, prepareAll, readRequest } from './request.js';
import type { RuntimeEnv } from '../env.js';
import type { Runtime } from './runtime.js';
import { clearStale, undoAll } from './undo.js';
import { isSameProcess, procRef, startTime } from '../store/proc.js';
import { faultPoint } from '../store/fault.js';
import { writeOut } from '../log/out.js';

/**
 * How `run` with a request starts runc: in a mount namespace of its own (a slave of the host's, so
 * nothing mounted there leaks out), our config.json is bind-mounted over the caller's
 * `<bundle>/config.json`, then runc is exec'd with the caller's argv unchanged. runc thus reads our
 * hooks from the caller's bundle path: `runc state`/`list` show the caller's bundle, and runc keeps
 * the terminal, the signals, the fds and the exit status as in a plain `runc run` (it is the same
 * process: unshare and sh exec, no fork). The script is constant; paths and argv are arguments.
 */
export const BIND_AND_EXEC = 'mount --bind -- "$1" "$2" || exit 1; shift 2; exec "$@"';
export const unshareArgv = (overlay: string, target: string, runc: string, argv: readonly string[]): string[] =>
  ['--mount', '--propagation', 'slave', '--', '/bin/sh', '-c', BIND_AND_EXEC, 'vkernel-run', overlay, target, runc, ...argv];

/**
 * The spec runc is shown for a container with a vkernel request: the caller's, plus our
 * createRuntime hook (applies the policy after the container exists, before its process starts, as
 * create does), our poststart hook (what `start` does after runc's: the adaptive controller) and our
 * poststop hook (removes what we applied once runc removes the container: at
 * the end of `run`, when the createRuntime hook failed, or by a plain `runc delete`; under our own
 * `delete` it finds the lock held and leaves the work to it). Paths stay relative to the caller's
 * bundle: runc reads this file at the caller's bundle path.
 */
export function runSpec(spec: Spec, self: string[], globals: string[], id: string, env: Pick<RuntimeEnv, 'path' | 'own'>): Spec {
  const hook = (stage: string) => ({ path: self[0], args: [...self, ...globals, 'vkernel-hook', stage, id], env: hookEnv(env) });
  return {
    ...spec,
    hooks: {
      ...spec.hooks,
      createRuntime: [...(spec.hooks?.createRuntime ?? []), hook('create-runtime')],
      poststart: [...(spec.hooks?.poststart ?? []), hook('poststart')],
      poststop: [...(spec.hooks?.poststop ?? []), hook('poststop')],
    },
  };
}

/**
 * runc gives a hook only the env of its spec entry: PATH and the runtime's own variables as the
 * caller set them (VKERNEL_RUNTIME_CONFIG, VKERNEL_LOCK_DIR, the test aid ...), so that the hook
 * applies what the caller's `run` validated, under the same config, locks and ledger
 */
function hookEnv(e: Pick<RuntimeEnv, 'path' | 'own'>): string[] {
  return [`PATH=${e.path}`, ...e.own];
}

interface Prepared { overlay: string; target: string }

/** validate → prepare → state + our config.json; undefined when nothing is requested (plain runc) */
async function prepareRun(rt: Runtime, id: string, bundle: string, owner = process.pid): Promise<Prepared | undefined> {
  const req = readRequest(rt, id, bundle);
  if (!req.appliers) return undefined;
  // runc refuses an id it has: let it say so, with our state of that container untouched
  if (await rt.runcState(id)) return undefined;
  await prepareAll(req.appliers, req);
  faultPoint('prepared');
  const state = newState(id, bundle, req);
  // the process that becomes `runc run`: while it lives, gc must not take this state (runc does not
  // know the container yet) for a leftover
  state.owner = procRef(owner);
  const target = join(bundle, 'config.json');
  if (/\n/.test(target + rt.runc)) throw new Error(`run: a path with a newline is not supported: ${JSON.stringify(target)}`);
  // where `run` keeps the config.json it shows runc (the caller's plus our hooks): named first and
  // recorded in the state before it exists, so a kill at any point leaves either nothing or a
  // state that names it (delete --force and gc remove it with the state)
  const runBundle = join(rt.env.runBundles, `${id}-${process.getBuiltinModule('node:crypto').randomBytes(3).toString('hex')}`);
  await withLock(rt.root, id, async () => {
    faultPoint('locked');
    await clearStale(rt, id);
    state.runBundle = runBundle;
    rt.store.write(state);
    mkdirSync(rt.env.runBundles, { recursive: true, mode: 0o700 });
    mkdirSync(runBundle, { mode: 0o700 });
    faultPoint('bundle-made');
    const globals = ['--root', rt.root, ...(rt.inv.globals.systemdCgroup ? ['--systemd-cgroup'] : [])];
    writeFileSync(join(runBundle, 'config.json'), JSON.stringify(runSpec(req.spec, rt.env.self, globals, id, rt.env)), { mode: 0o600 });
    faultPoint('bundle-written');
  });
  return { overlay: join(runBundle, 'config.json'), target };
}

/**
 * run = runc run with our hooks (see BIND_AND_EXEC). `prepare` mode serves the launcher, which
 * then execs runc itself: prints our config.json, the caller's config.json and runc, one a line
 * (nothing: no request, plain runc). Otherwise (the engine started without the launcher) runc is
 * spawned the same way, with signals forwarded.
 */
export async function run(rt: Runtime, mode: 'prepare' | 'spawn' = 'spawn'): Promise<number> {
  const c = parseCommandArgs('run', rt.inv.args);
  const id = containerId('run', c);
  checkId(id);
  const bundle = bundlePath(flagValue(c, 'bundle', 'b'));
  const prepared = await prepareRun(rt, id, bundle, mode === 'prepare' ? process.ppid : process.pid);
  if (mode === 'prepare') {
    if (prepared) {
      // runc is about to become the launcher's process (our parent): if it fails before the
      // container exists, no hook of ours runs; a watcher cleans up then (see runWatch)
      const runc = procRef(process.ppid);
      rt.host.startHelper([...rt.env.self, '--root', rt.root, 'vkernel-run-watch', String(runc.pid), id, runc.start ?? '']);
      faultPoint('watching');
      writeOut(`${prepared.overlay}\n${prepared.target}\n${rt.runc}\n`);
    }
    return 0;
  }
  const fds = rt.extraFds(Number(flagValue(c, 'preserve-fds') ?? 0));
  if (!prepared) return rt.inherit(rt.callerArgv(), fds);
  const status = await rt.inheritAs('unshare', unshareArgv(prepared.overlay, prepared.target, rt.runc, rt.callerArgv()), fds);
  // our poststop hook cleaned up, unless runc failed before the container existed
  await cleanIfNeverCreated(rt, id);
  return status;
}

/** our state of a `run` whose runc failed before creating the container (no hook of ours ran) */
async function cleanIfNeverCreated(rt: Runtime, id: string): Promise<void> {
  await withLock(rt.root, id, async () => {
    const now = rt.store.read(id);
    if (now && now.pid === undefined && !(await rt.runcState(id))) await undoAll(rt, now);
  });
}

/**
 * `vkernel-run-watch <pid> <id> <start>` (started detached by the prepare step): waits until our
 * createRuntime hook has run (the state records the container's pid: from then on our poststop
 * hook or delete own the cleanup), or until runc (`pid`, whose start time the prepare step read:
 * a pid reused by another process is not runc) is gone without that, and then removes what the
 * prepare step wrote. Lives for the start of one container.
 */
export async function runWatch(rt: Runtime): Promise<number> {
  const [pidText, id, start] = rt.inv.args;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 1 || !id) throw new Error('usage: vkernel-run-watch <runc pid> <container-id> [<its start time>]');
  checkId(id);
  const runc = { pid, start: start || startTime(pid) };
  for (;;) {
    const state = rt.store.read(id);
    if (!state || state.pid !== undefined) return 0;
    if (!isSameProcess(runc)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await cleanIfNeverCreated(rt, id);
  return 0;
}
