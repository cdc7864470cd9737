import { Flags } from '@oclif/core';
import { findLeftovers, knownRoots } from '../../lifecycle/leftovers.js';
import { AdminCommand } from './base.js';

export default class Gc extends AdminCommand {
  static override description = 'Remove what vkernel-runtime left behind: state of containers runc no longer knows (undoing RT budgets, helpers, modules) and vkernel modules no container uses.';
  static override flags = {
    root: Flags.string({ description: 'a runc --root to clean (default: the roots runc, containerd, docker and our hook use)', multiple: true }),
    runc: Flags.string({ description: 'runc binary', default: process.env.VKERNEL_RUNC ?? 'runc' }),
    'dry-run': Flags.boolean({ description: 'report, change nothing' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Gc);
    const roots = flags.root ?? knownRoots();
    const leftovers = await findLeftovers(flags.runc, roots);
    const { Runtime } = await import('../../lifecycle/runtime.js');
    const { Logger } = await import('../../log/logger.js');
    const { undoAll, releaseAll } = await import('../../lifecycle/undo.js');
    const { parseArgv } = await import('../../oci/argv.js');
    const log = new Logger({ format: 'text', debug: false });
    for (const l of leftovers) {
      this.log(`${flags['dry-run'] ? 'would remove' : 'removing'} ${l.root}: ${l.state.id}${l.state.module ? ` (module ${l.state.module})` : ''}`);
      if (flags['dry-run']) continue;
      const rt = new Runtime(parseArgv(['--root', l.root]), log, flags.runc);
      await releaseAll(rt, l.state);
      await undoAll(rt, l.state);
    }
    // modules no state refers to any more
    const { existsSync } = await import('node:fs');
    if (existsSync('/proc/modules')) {
      const { loadedVkernelModules, unloadModule } = await import('../../module/load.js');
      const { StateStore } = await import('../../store/state.js');
      const used = new Set(roots.flatMap((r) => { const s = new StateStore(r); return s.list().map((id) => s.read(id)?.module); }));
      for (const m of loadedVkernelModules()) {
        if (used.has(m)) continue;
        this.log(`${flags['dry-run'] ? 'would unload' : 'unloading'} module ${m} (no container uses it)`);
        if (!flags['dry-run']) await unloadModule(m);
      }
    }
    if (!leftovers.length) this.log('no leftovers');
  }
}
