import type { Invocation } from '../oci/argv.js';
import type { Logger } from '../log/logger.js';
import { runcCapture, runcInherit } from '../oci/runc.js';
import type { RuntimeConfig } from '../policy/config.js';
import { DEFAULT_ROOT, StateStore, type ContainerState } from '../store/state.js';
import type { UndoContext } from './applier.js';
import { selfCommand } from '../oci/self.js';

/** One invocation of vkernel-runtime: parsed argv, logger, config, and where runc and our state are. */
export class Runtime {
  readonly root: string;
  readonly store: StateStore;

  constructor(readonly inv: Invocation, readonly log: Logger, readonly runc: string, readonly config?: RuntimeConfig) {
    this.root = inv.globals.root ?? DEFAULT_ROOT;
    this.store = new StateStore(this.root);
  }

  /** runc with the caller's global flags (ours removed) and the given subcommand argv */
  runcArgv(...rest: string[]): string[] {
    return [...this.inv.runcGlobals, ...rest];
  }

  /** the caller's own subcommand argv, unchanged */
  callerArgv(): string[] {
    return this.inv.command === undefined ? this.runcArgv() : this.runcArgv(this.inv.command, ...this.inv.args);
  }

  /** what undo/started steps get */
  stepContext(state: ContainerState): UndoContext {
    return { id: state.id, state, log: this.log, config: this.config, root: this.root, self: selfCommand(), globals: this.inv.runcGlobals };
  }

  inherit(argv: string[], fds: readonly number[] = []): Promise<number> {
    return runcInherit(this.runc, argv, fds);
  }

  /** like inherit, through another program that ends by exec'ing runc (same pid, e.g. unshare) */
  inheritAs(bin: string, argv: string[], fds: readonly number[] = []): Promise<number> {
    return runcInherit(bin, argv, fds);
  }

  /** `runc state <id>` as JSON, or undefined when runc does not know the container */
  async runcState(id: string): Promise<{ pid: number; status: string; bundle: string } | undefined> {
    const r = await runcCapture(this.runc, this.runcArgv('state', id));
    if (r.status !== 0) return undefined;
    return JSON.parse(r.stdout) as { pid: number; status: string; bundle: string };
  }
}
