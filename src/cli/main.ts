import { DEFAULT_PATH, readEnv } from '../env.js';
import { Logger } from '../log/logger.js';
import { loadConfig } from '../policy/config.js';
import { dieBy, runcBinary, runcDeathSignal } from '../oci/runc.js';
import { Runtime } from '../lifecycle/runtime.js';
import { helpRequested, parseArgv, parseCommandArgs, type Invocation } from '../oci/argv.js';
import { wantsRuncHelp } from './commands/help.js';
import { flushProfile, profileCommand, profileTo, timed } from '../profile.js';
import { writeErr } from '../log/out.js';
import { restoreCallerNofile, takeCallerNofile } from '../host/limits.js';

/**
 * The runc-compatible engine: create/run/start/delete/features/--version, one thin file each under
 * commands/; help and every other subcommand pass through to runc.
 */
/** whether the process ends as soon as main() returns (set by main: the short calls) */
let endAtOnce = false;
/** commands whose work may go on after main() returns (timers, streams, child watchers) */
const MAY_LEAVE_WORK = new Set(['vkernel-serve', 'run', 'oci-hook', 'vkernel-hook', 'vkernel-run-watch', 'vkernel-rt-release', 'vkernel-rt-supervise', 'vkernel-adaptive']);

export async function main(args: readonly string[]): Promise<number> {
  const callerNofile = takeCallerNofile(process.env);
  // hooks run with the env their definition gives, often none
  process.env.PATH ??= DEFAULT_PATH;
  // the environment, read once: everything below takes it from the Runtime
  const env = readEnv();
  profileTo(env.profile);
  // the launcher's first step of `run` with a request (it execs runc itself after): see lifecycle/run.ts
  const prepareRun = args[0] === 'vkernel-run-prepare';
  const argv = prepareRun ? args.slice(1) : args;
  let inv: Invocation;
  try {
    inv = parseArgv(argv);
  } catch (e) {
    writeErr(`vkernel-runtime: ${(e as Error).message}\n`);
    return 1;
  }
  profileCommand(inv.command);
  // before anything is started: what runc and our helpers inherit is the caller's open files
  // limit, not bun's (but in the server, which needs its own: host/limits.ts)
  if (inv.command !== 'vkernel-serve') await restoreCallerNofile(callerNofile);
  // the test aid (README.md "Test aids"): imported only when the environment asks for it
  if (env.testFault) {
    const role = prepareRun ? 'run' : inv.command === 'vkernel-hook' ? `hook-${inv.args[0] ?? ''}` : inv.command ?? '';
    try {
      (await import('../store/fault-inject.js')).armFaults(env.testFault, role);
    } catch (e) {
      writeErr(`vkernel-runtime: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const log = new Logger({ file: inv.globals.log, format: inv.globals.logFormat, debug: inv.globals.debug });
  // doctor, install, uninstall, and ps without a container id (ours; `ps <id>` is runc's): in the
  // engine, so that a node without Node.js has them; with an invalid config too (doctor reports it)
  const ours = inv.command === 'doctor' || inv.command === 'install' || inv.command === 'uninstall';
  // (`ps -h|--help` is runc's help, as for every runc subcommand)
  const ourPs = inv.command === 'ps' && !inv.help && !helpRequested('ps', inv.args) && !parseCommandArgs('ps', inv.args).positionals.length;
  if (ours || ourPs) {
    let config;
    try { config = await loadConfig(inv.vkernelConfig, env.configPath, env.lockDir); } catch { /* doctor says why */ }
    const rt = new Runtime(inv, log, runcBinary(inv, config?.runc, env.runc), config, env);
    try {
      if (inv.command === 'doctor') return await (await timed('import', () => import('./commands/doctor.js'))).doctorCommand(rt);
      if (inv.command === 'install' || inv.command === 'uninstall') return await (await timed('import', () => import('./commands/install.js'))).installCommand(rt, inv.command);
      return await (await timed('import', () => import('./commands/ps.js'))).psCommand(rt);
    } catch (e) {
      log.error((e as Error).message);
      return 1;
    }
  }
  // the engine server (the launcher's client starts it): the config is read at each call it serves.
  // It keeps the executable's reluctant JIT policy: each call runs its code once, and with the
  // normal policy a JIT thread kept compiling it: 1.1-1.3 ms CPU per served create after 150 calls,
  // for a main thread 0-0.4 ms faster (issue 15's note)
  if (inv.command === 'vkernel-serve') {
    // the allocator's setting the client started it with (vkernel-client.c exec_server), read by
    // now: not for the processes it starts
    delete process.env.MIMALLOC_PURGE_DELAY;
    // (`vkernel-serve SOCKET`: the client names the socket it computed, VKERNEL_ENGINE_SOCKET being a directory)
    const socket = inv.args[0] ?? env.engineSocket;
    if (socket.endsWith('/')) {
      writeErr(`vkernel-runtime: vkernel-serve: VKERNEL_ENGINE_SOCKET names a directory (${socket}): give the socket (vkernel-serve SOCKET)\n`);
      return 1;
    }
    const code = await (await import('../serve/server.js')).serve({ socket, idleMs: env.engineIdleMs }, env);
    endAtOnce = true;
    return code;
  }
  try {
    const config = await timed('config', () => loadConfig(inv.vkernelConfig, env.configPath, env.lockDir));
    const rt = new Runtime(inv, log, runcBinary(inv, config?.runc, env.runc), config, env);
    if (prepareRun) {
      if (inv.command !== 'run') throw new Error('vkernel-run-prepare: usage: vkernel-run-prepare <runc run argv>');
      return await (await timed('import', () => import('./commands/run.js'))).run(rt, 'prepare');
    }
    // ours alone, help included (runc has no gc)
    if (inv.command === 'gc') return await (await timed('import', () => import('./commands/gc.js'))).gcCommand(rt);
    if (wantsRuncHelp(rt)) return await (await timed('import', () => import('./commands/passthrough.js'))).passthrough(rt);
    // runc prints its version whatever follows --version; ours after
    if (inv.version) return await (await timed('import', () => import('./commands/version.js'))).version(rt);
    // the helpers that live as long as their container: the JIT's normal policy (the executable
    // starts with a reluctant one, for the short calls: scripts/build.mjs --compile-jit-policy)
    if (inv.command === 'vkernel-run-watch' || inv.command === 'vkernel-rt-supervise' || inv.command === 'vkernel-adaptive') normalJit();
    endAtOnce = !MAY_LEAVE_WORK.has(inv.command ?? '');
    switch (inv.command) {
      case 'create': return await (await timed('import', () => import('./commands/create.js'))).create(rt);
      case 'run': return await (await timed('import', () => import('./commands/run.js'))).run(rt);
      case 'start': return await (await timed('import', () => import('./commands/start.js'))).start(rt);
      case 'delete': return await (await timed('import', () => import('./commands/delete.js'))).deleteCommand(rt);
      case 'features': return await (await timed('import', () => import('./commands/features.js'))).features(rt);
      case 'oci-hook': return await (await timed('import', () => import('../lifecycle/oci-hook.js'))).ociHook(rt);
      case 'vkernel-run-watch': return await (await timed('import', () => import('../lifecycle/run.js'))).runWatch(rt);
      case 'vkernel-hook': return await (await timed('import', () => import('../lifecycle/hook.js'))).hook(rt);
      case 'vkernel-rt-release': return await (await timed('import', () => import('../kernel/backends/rt-release.js'))).releaseLater(inv.args[0], rt.backendDeps());
      case 'vkernel-rt-supervise': return await (await timed('import', () => import('../supervisor/main.js'))).supervise(inv.args[0], rt.backendDeps());
      case 'vkernel-adaptive': return await (await timed('import', () => import('../adaptive/controller.js'))).controller(rt);
      default: return await (await timed('import', () => import('./commands/passthrough.js'))).passthrough(rt);
    }
  } catch (e) {
    log.error((e as Error).message);
    return 1;
  }
}

/** JavaScriptCore's normal tier-up thresholds for this process (bun only; node has its own JIT policy) */
function normalJit(): void {
  (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun?.unsafe?.setJITPolicy?.(1);
}

main(process.argv.slice(2)).then(
  (code) => {
    flushProfile();
    // runc died by a signal: so do we (a shell sees 128+n either way; a parent's wait sees the signal)
    const sig = runcDeathSignal(code);
    if (sig) dieBy(sig, code);
    // create/start/delete and pass-through calls: at once, everything they started is done (output
    // is written synchronously, helpers are detached) and the runtime's own teardown is not worth
    // waiting for (~1 ms CPU per call). Other commands may leave work on the event loop (the rt
    // sentinel, run's watcher): their process ends when it is done.
    else if (endAtOnce) process.exit(code);
    else process.exitCode = code;
  },
  (e: unknown) => { writeErr(`vkernel-runtime: ${String(e)}\n`); process.exitCode = 1; },
);
