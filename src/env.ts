import { join } from 'node:path';

/**
 * The runtime's environment, read once at start-up and handed down in the Runtime (ARCHITECTURE.md
 * "Shape of the code"): every variable vkernel-runtime honours and the paths derived from them.
 * Modules take what they need from here or from their callers, never from process.env, so that a
 * module's behaviour does not depend on when it was imported.
 */
export interface RuntimeEnv {
  /** VKERNEL_CGROUP_ROOT: where the cgroup filesystems are mounted (/sys/fs/cgroup) */
  cgroupRoot: string;
  /** VKERNEL_LOCK_DIR: host-wide locks, e.g. the RT budget (/run/vkernel-runtime/locks) */
  lockDir: string;
  /** VKERNEL_RUN_BUNDLES: private bundles of `run` (/run/vkernel-runtime/bundles) */
  runBundles: string;
  /** VKERNEL_ROOTS_DIR: the registry of every --root our state was written under (store/roots.ts) */
  rootsDir: string;
  /** $VKERNEL_CACHE/modules: the module build cache (/var/cache/vkernel-runtime/modules) */
  moduleCache: string;
  /** VKERNEL_KERNEL_BUILD: kernel build tree for the module (default /lib/modules/$(uname -r)/build) */
  kernelBuild?: string;
  /** VKERNEL_MODULE_SOURCE: modules/vkernel to build (default: found beside the installation) */
  moduleSource?: string;
  /** VKERNEL_RUNTIME_HOME: the installation (set by the launcher or the user) */
  home?: string;
  /** VKERNEL_RUNTIME_SELF: the launcher that started us */
  selfPath?: string;
  /** how to start this runtime again (hooks, helper processes) */
  self: string[];
  /** VKERNEL_MAKE: make binary for module builds */
  make: string;
  /** VKERNEL_FUTEX_BUCKETS: futex hash size of the per-container module (default: the kernel's sizing) */
  futexBuckets?: number;
  /** VKERNEL_RMMOD_TIMEOUT_MS: how long delete retries rmmod of a pinned module */
  rmmodTimeoutMs: number;
  /** VKERNEL_RUNC: runc binary when neither --runc nor the config names one */
  runc?: string;
  /** VKERNEL_RUNTIME_CONFIG: the config file when --vkernel-config is not given */
  configPath?: string;
  /** VKERNEL_RUNTIME_TEST_FAULT: the documented test aid */
  testFault?: string;
  /** VKERNEL_PROFILE: append a per-phase timing line to this file (src/profile.ts) */
  profile?: string;
  /** LISTEN_FDS (systemd socket activation: fds 3.. for the container), 0 when unset */
  listenFds: number;
  /** LISTEN_PID: the process LISTEN_FDS is addressed to */
  listenPid?: string;
  /** VKERNEL_SCX_LOADER: the scx backend's scheduler loader (modules/scx_vkernel; default scx_vkernel from PATH) */
  scxLoader: string;
  /**
   * VKERNEL_ENGINE_SOCKET: the engine server's socket (src/serve/server.ts; "off": none). With a
   * final '/', a directory of one socket per environment, named by the client
   * (client/vkernel-client.c default_socket), which passes it to the server it starts (`vkernel-serve
   * SOCKET`); unset: /run/vkernel-runtime/ for the client, this path for a server started by hand
   */
  engineSocket: string;
  /** VKERNEL_ENGINE_IDLE_MS: the engine server ends after this long without a call */
  engineIdleMs: number;
  /** PATH (hooks may start us without one: a default then) */
  path: string;
  /**
   * the runtime's own variables of OWN_VARIABLES that are set, as NAME=value: what a process of ours
   * that runc starts with an environment of the spec's (the hooks of `run`) must be given to work
   * as this one does
   */
  own: readonly string[];
}

/** the variables readEnv() takes as the runtime's own (not LISTEN_*: those are the container's) */
export const OWN_VARIABLES = [
  'VKERNEL_CGROUP_ROOT', 'VKERNEL_LOCK_DIR', 'VKERNEL_RUN_BUNDLES', 'VKERNEL_ROOTS_DIR', 'VKERNEL_CACHE',
  'VKERNEL_KERNEL_BUILD', 'VKERNEL_MODULE_SOURCE', 'VKERNEL_RUNTIME_HOME', 'VKERNEL_RUNTIME_SELF', 'VKERNEL_MAKE',
  'VKERNEL_FUTEX_BUCKETS', 'VKERNEL_RMMOD_TIMEOUT_MS', 'VKERNEL_RUNC', 'VKERNEL_RUNTIME_CONFIG',
  'VKERNEL_RUNTIME_TEST_FAULT', 'VKERNEL_PROFILE', 'VKERNEL_SCX_LOADER', 'VKERNEL_ENGINE_SOCKET', 'VKERNEL_ENGINE_IDLE_MS',
] as const;
type OwnVariable = (typeof OWN_VARIABLES)[number];

/** every variable readEnv() reads (the engine server takes only these from a caller's environment) */
export const READ_VARIABLES: ReadonlySet<string> = new Set<string>([...OWN_VARIABLES, 'LISTEN_FDS', 'LISTEN_PID', 'PATH']);

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const positiveInt = (s: string | undefined): number | undefined => {
  const n = Number(s);
  return s && Number.isInteger(n) && n > 0 ? n : undefined;
};

/** how to start this runtime again: the launcher when known; the bun binary is self-contained, node needs its script */
export function selfCommand(selfPath: string | undefined, execPath: string, script: string | undefined): string[] {
  if (selfPath) return [selfPath];
  return /\/(node|nodejs)$/.test(execPath) && script ? [execPath, script] : [execPath];
}

/** Reads the environment (once, at start-up). */
export function readEnv(env: NodeJS.ProcessEnv = process.env, execPath = process.execPath, script = process.argv[1]): RuntimeEnv {
  const e = (k: OwnVariable | 'LISTEN_FDS' | 'LISTEN_PID' | 'PATH') => env[k] || undefined;
  return Object.freeze({
    cgroupRoot: e('VKERNEL_CGROUP_ROOT') ?? '/sys/fs/cgroup',
    lockDir: e('VKERNEL_LOCK_DIR') ?? '/run/vkernel-runtime/locks',
    runBundles: e('VKERNEL_RUN_BUNDLES') ?? '/run/vkernel-runtime/bundles',
    rootsDir: e('VKERNEL_ROOTS_DIR') ?? '/run/vkernel-runtime/roots',
    moduleCache: join(e('VKERNEL_CACHE') ?? '/var/cache/vkernel-runtime', 'modules'),
    kernelBuild: e('VKERNEL_KERNEL_BUILD'),
    moduleSource: e('VKERNEL_MODULE_SOURCE'),
    home: e('VKERNEL_RUNTIME_HOME'),
    selfPath: e('VKERNEL_RUNTIME_SELF'),
    self: selfCommand(e('VKERNEL_RUNTIME_SELF'), execPath, script),
    make: e('VKERNEL_MAKE') ?? 'make',
    futexBuckets: positiveInt(e('VKERNEL_FUTEX_BUCKETS')),
    rmmodTimeoutMs: positiveInt(e('VKERNEL_RMMOD_TIMEOUT_MS')) ?? 10_000,
    runc: e('VKERNEL_RUNC'),
    configPath: e('VKERNEL_RUNTIME_CONFIG'),
    testFault: e('VKERNEL_RUNTIME_TEST_FAULT'),
    profile: e('VKERNEL_PROFILE'),
    listenFds: positiveInt(e('LISTEN_FDS')) ?? 0,
    listenPid: e('LISTEN_PID'),
    scxLoader: e('VKERNEL_SCX_LOADER') ?? 'scx_vkernel',
    engineSocket: e('VKERNEL_ENGINE_SOCKET') ?? '/run/vkernel-runtime/engine.sock',
    engineIdleMs: positiveInt(e('VKERNEL_ENGINE_IDLE_MS')) ?? 600_000,
    path: e('PATH') ?? DEFAULT_PATH,
    own: OWN_VARIABLES.flatMap((k) => (e(k) ? [`${k}=${env[k]}`] : [])),
  });
}
