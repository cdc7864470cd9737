import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeEnv } from '../env.js';
import type { Logger } from '../log/logger.js';
import { loadedVkernelModules, unloadModule } from '../module/load.js';
import type { GcOptions } from './gc.js';
import { knownRoots } from './leftovers.js';

/** what `gc` is asked on the command line (the engine's and the admin command's alike) */
export interface GcRequest {
  /** runc --root directories to clean; none: every root with state of ours (knownRoots) */
  roots?: string[];
  runc: string;
  dryRun: boolean;
  /** test doubles for hosts that cannot load modules: a directory with a `modules` file, an rmmod */
  proc: string;
  rmmod: string;
}

/** gc's options on this host: the roots, bundle and lock directories of the environment, kmod */
export function hostGcOptions(env: RuntimeEnv, req: GcRequest, log: Logger, say: (line: string) => void): GcOptions {
  const { proc, rmmod } = req;
  return {
    runc: req.runc,
    roots: req.roots?.length ? req.roots : knownRoots(env.rootsDir),
    bundles: env.runBundles,
    lockDirs: [env.lockDir, join(env.moduleCache, '.locks')],
    dryRun: req.dryRun,
    log,
    modules: existsSync(join(proc, 'modules'))
      ? { loaded: () => loadedVkernelModules(proc), unload: (m) => unloadModule(m, { rmmod, proc }) }
      : undefined,
    say,
  };
}
