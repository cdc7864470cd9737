import { Flags } from '@oclif/core';
import { AdminCommand } from './base.js';

export default class Gc extends AdminCommand {
  static override description = 'Remove what vkernel-runtime left behind: state of containers runc no longer knows (undoing RT budgets, helpers, modules), temp and lock files of killed runtimes, private bundles, adaptive controller cgroups (vkernel-adaptive-<id>) and vkernel modules no container uses. Exit 1 when something could not be removed (each is listed).';
  static override flags = {
    root: Flags.string({ description: 'a runc --root to clean (default: every root with state of ours: runc, crun, containerd, docker, our hook, and the roots our state was written under)', multiple: true }),
    runc: Flags.string({ description: 'runc binary', default: process.env.VKERNEL_RUNC ?? 'runc' }),
    'dry-run': Flags.boolean({ description: 'report, change nothing' }),
    // test doubles for hosts that cannot load modules: a directory with a `modules` file, an rmmod
    proc: Flags.string({ hidden: true, default: '/proc' }),
    rmmod: Flags.string({ hidden: true, default: 'rmmod' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Gc);
    const { existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { knownRoots } = await import('../../lifecycle/leftovers.js');
    const { gc } = await import('../../lifecycle/gc.js');
    const { readEnv } = await import('../../env.js');
    const { Logger } = await import('../../log/logger.js');
    const mod = await import('../../module/load.js');
    const proc = flags.proc;
    const env = readEnv();
    let said = 0;
    const failed = await gc({
      runc: flags.runc,
      roots: flags.root ?? knownRoots(env.rootsDir),
      bundles: env.runBundles,
      lockDirs: [env.lockDir, join(env.moduleCache, '.locks')],
      dryRun: flags['dry-run'],
      log: new Logger({ format: 'text', debug: false }),
      modules: existsSync(join(proc, 'modules'))
        ? { loaded: () => mod.loadedVkernelModules(proc), unload: (m) => mod.unloadModule(m, { rmmod: flags.rmmod, proc }) }
        : undefined,
      say: (line) => { said++; this.log(line); },
    });
    if (!said) this.log('no leftovers');
    if (failed.length) process.exitCode = 1;
  }
}
