import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readEnv, type RuntimeEnv } from '../env.js';
import { linuxHostOps, type HostOps } from '../host/ops.js';
import { hostCgroups, type Cgroups } from '../kernel/cgroups/index.js';
import type { BackendDeps } from '../kernel/backends/backend.js';
import { probeKernel, probeWith, type HostProbe, type KernelFacts } from '../kernel/probe.js';
import { linuxScx } from '../kernel/backends/scx-control.js';
import type { Invocation } from '../oci/argv.js';
import type { Logger } from '../log/logger.js';
import { extraFds, listenFdsForUs, runcCapture, runcInherit } from '../oci/runc.js';
import { readRuncInit, type RuncInit } from '../oci/runc-state.js';
import type { RuntimeConfig } from '../policy/config.js';
import { DEFAULT_ROOT, HOOK_ROOT, StateStore, type ContainerState } from '../store/state.js';
import type { HostContext, UndoContext } from './applier.js';
import { timed } from '../profile.js';

/**
 * One invocation of vkernel-runtime, the context every step is given: parsed argv, logger, config,
 * the environment (read once, at start-up), the host's operations and cgroups, and where runc and
 * our state are.
 */
export class Runtime implements HostContext {
  readonly root: string;
  /**
   * the process this call is for, the owner a state records (gc leaves a state alone while its
   * owner lives): this one, or the engine server's client (src/serve/server.ts)
   */
  callerPid = process.pid;
  readonly store: StateStore;
  private probed?: HostProbe;
  private groups?: Cgroups;

  constructor(readonly inv: Invocation, readonly log: Logger, readonly runc: string, readonly config?: RuntimeConfig,
    readonly env: RuntimeEnv = readEnv(), readonly host: HostOps = linuxHostOps({ make: env.make })) {
    // (an OCI hook's, without --root: the engine's own, not runc's)
    this.root = inv.globals.root ?? (inv.command === 'oci-hook' ? HOOK_ROOT : DEFAULT_ROOT);
    this.store = new StateStore(this.root, env.rootsDir);
  }

  /** what this host can do (probed once per invocation, when first asked) */
  probe(): HostProbe {
    this.probed ??= timed('probe', () => probeWith(this.kernelFacts(), '/sys', this.env.cgroupRoot));
    return this.probed;
  }

  /** the running kernel's facts: probed here (the engine server keeps its own: src/serve/server.ts) */
  protected kernelFacts(): KernelFacts {
    return probeKernel();
  }

  /** the host's cgroups, chosen once from the probe and --systemd-cgroup */
  cgroups(): Cgroups {
    this.groups ??= hostCgroups(this.probe(), this.inv.globals.systemdCgroup, this.env.cgroupRoot);
    return this.groups;
  }

  /** what a scheduling backend works with */
  backendDeps(): BackendDeps {
    return { cgroups: this.cgroups(), host: this.host, lockDir: this.env.lockDir, self: this.env.self, scx: linuxScx(this.env.scxLoader) };
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
    return {
      id: state.id, state, log: this.log, config: this.config, root: this.root, self: this.env.self, globals: this.inv.runcGlobals,
      env: this.env, host: this.host, cgroups: () => this.cgroups(),
    };
  }

  /** the fds runc must pass on besides stdio: `--preserve-fds N` and socket activation (LISTEN_FDS) */
  extraFds(preserveFds: number): (number | 'ignore')[] {
    return extraFds(preserveFds, this.env.listenFds);
  }

  inherit(argv: string[], fds: readonly (number | 'ignore')[] = []): Promise<number> {
    return timed(`runc ${argv[this.inv.runcGlobals.length] ?? ''}`, () => runcInherit(this.runc, argv, fds, listenFdsForUs(this.env)));
  }

  /**
   * runc's call (`argv`, a create's) made by the caller's own process, as the launcher makes a
   * call without a request, resolving once runc has ended; only where this runtime can (the engine
   * server, whose client execs runc; not the engine, whose runc is its child: inherit). runc's
   * status is the caller's alone; what runc did, its state under --root says.
   */
  handOver?(argv: string[]): Promise<void>;

  /**
   * whether runc keeps its state under the --root we know: as root (a rootless runc defaults to
   * $XDG_RUNTIME_DIR/runc), or with --root given
   */
  private runcRootKnown(): boolean {
    return process.getuid?.() === 0 || this.inv.globals.root !== undefined;
  }

  /** whether runc has a directory for `id` under --root (undefined: not where we look: runcRootKnown) */
  runcHas(id: string): boolean | undefined {
    return this.runcRootKnown() ? existsSync(join(this.root, id)) : undefined;
  }

  /** like inherit, through another program that ends by exec'ing runc (same pid, e.g. unshare) */
  inheritAs(bin: string, argv: string[], fds: readonly (number | 'ignore')[] = []): Promise<number> {
    return runcInherit(bin, argv, fds, listenFdsForUs(this.env));
  }

  /**
   * the container's init as runc's own state file under --root says, without a runc process;
   * undefined when that file is not where we look (then ask runcState: runcRootKnown).
   */
  runcInit(id: string): RuncInit | undefined {
    if (!this.runcRootKnown()) return undefined;
    return timed('runc state.json', () => readRuncInit(this.root, id));
  }

  /** `runc state <id>` as JSON, or undefined when runc does not know the container */
  async runcState(id: string): Promise<{ pid: number; status: string; bundle: string } | undefined> {
    const r = await timed('runc state', () => runcCapture(this.runc, this.runcArgv('state', id)));
    if (r.status !== 0) return undefined;
    return JSON.parse(r.stdout) as { pid: number; status: string; bundle: string };
  }
}
