import { Args, Command, Flags } from '@oclif/core';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readEnv } from '../../env.js';
import { buildModule, defaultKdir } from '../../module/build.js';

const env = readEnv();
import { currentName, renameModule } from '../../module/elf.js';

/** `vkernel-runtime module build`: warm the module cache before the first container needs it. */
export class ModuleBuild extends Command {
  static override description =
    'Build the per-container vkernel module for this kernel into the cache (once per kernel and module source), ' +
    'so that the first container with io.vkernel.module or io.vkernel.syscall.deny does not wait for it. Prints the cached .ko path.';
  static override flags = {
    kdir: Flags.string({ description: 'kernel build directory (default: $VKERNEL_KERNEL_BUILD, else /lib/modules/$(uname -r)/build)' }),
    source: Flags.string({ description: 'module source (default: modules/vkernel of this installation)' }),
    cache: Flags.string({ description: `module cache directory (default: ${env.moduleCache}, from $VKERNEL_CACHE)` }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the path of the module' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ModuleBuild);
    const kdir = flags.kdir ?? defaultKdir(env);
    const say = (l: string) => { if (!flags.quiet) process.stderr.write(`${l}\n`); };
    say(`vkernel-runtime module build: kernel build directory ${kdir}`);
    try {
      const r = await buildModule({ env, kdir, source: flags.source, cacheDir: flags.cache, onProgress: (l) => say(`  ${l}`) });
      say(r.cached ? `cached (key ${r.key.slice(0, 16)}…), ${r.ms} ms` : `built (key ${r.key.slice(0, 16)}…) in ${r.ms} ms`);
      this.log(r.ko);
    } catch (e) {
      this.error((e as Error).message, { exit: 1 });
    }
  }
}

/** `vkernel-runtime module rename`: what create does per container, for tests and debugging. */
export class ModuleRename extends Command {
  static override description =
    'Write a copy of a built kernel module under a new name (rewrites struct module in .gnu.linkonce.this_module and name= in .modinfo).';
  static override args = {
    in: Args.string({ description: 'built module (.ko)', required: true }),
    out: Args.string({ description: 'where to write the renamed copy', required: true }),
    name: Args.string({ description: 'new module name: 1 to 55 characters of [A-Za-z0-9_], at most as long as the current one', required: true }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(ModuleRename);
    try {
      const image = readFileSync(args.in);
      const from = currentName(image);
      const out = renameModule(image, args.name);
      const tmp = `${args.out}.${process.pid}.tmp`;
      writeFileSync(tmp, out, { mode: 0o644 });
      renameSync(tmp, args.out);
      this.log(`${args.out}: ${from} -> ${args.name}`);
    } catch (e) {
      this.error(`module rename ${args.in}: ${(e as Error).message}`, { exit: 1 });
    }
  }
}
