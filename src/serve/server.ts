import { chmodSync, closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { READ_VARIABLES, readEnv, type RuntimeEnv } from '../env.js';
import { Logger } from '../log/logger.js';
import { flagValue, helpRequested, parseArgv, parseCommandArgs, type Invocation } from '../oci/argv.js';
import { runcBinary } from '../oci/runc.js';
import { forgetBuildHits } from '../module/build.js';
import { probeKernel, type KernelFacts } from '../kernel/probe.js';
import { loadConfig } from '../policy/config.js';
import { fileLocker } from '../store/flock.js';
import { HolderGone, LockFileStays } from '../store/lock.js';
import { liveStartTime } from '../store/proc.js';
import { HOOK_STAGES } from '../lifecycle/hook-stages.js';
import { flushProfile, profileCall, timed } from '../profile.js';
import { Runtime } from '../lifecycle/runtime.js';
import { peerReader } from '../host/peer-cred.js';
import { callerOf } from './caller.js';
import { contextOf, otherContext, procFacts } from './context.js';
import { listenUnix, type Connection, type ConnectionHandlers, type Listener } from './listen.js';
import { Decoder, encode, parseEnd, parseRequest, runPayload, type Request, type RuncEnd, type Wire } from './protocol.js';

/**
 * `vkernel-serve`: the engine, started once and kept, serving client/vkernel-client.c: `create` (the
 * launcher's way for a create with a request), `start` and `delete` of a container with work of
 * ours after runc's (its markers under --root: vkernel@<id>.start, e.g. the adaptive controller;
 * vkernel@<id>.json, e.g. a helper to stop), and the OCI hook as hooks.d runs it (`oci-hook STAGE`,
 * its stdin asked of the client once the call is taken: W, I). A call through the engine
 * executable pays a JavaScript runtime's start-up and the evaluation of its modules (~25 ms here)
 * before runc starts; here that is paid once. Each call runs the same lifecycle code as the engine
 * (lifecycle/create.ts, start.ts, delete.ts, oci-hook.ts) with a Runtime whose runc calls are run
 * by the client, as the client's children: runc must stay a descendant of the caller
 * (containerd's shim reaps the container's init as a child subreaper), with the caller's stdio,
 * fds and signals. Anything this cannot serve
 * exactly as the engine would is answered "fallback" before anything changes, and the client execs
 * the engine: another environment than the server's (VKERNEL_*, PATH), umask, namespaces, resource
 * limits or credentials (uids, capabilities, no_new_privs, seccomp, LSM label: what the engine's
 * work would be allowed), socket activation fds, --preserve-fds, a relative path the engine would
 * resolve against the caller's directory, help, another executable than the one this server runs
 * (a new build: then the server also ends). The caller's pid and context are the kernel's and
 * /proc's (caller.ts: the socket's peer), not the client's word: a caller that could make them up
 * would have its call done with the server's privileges.
 *
 * The running kernel's facts (kernel/probe.ts probeKernel: its vkernel ABI, release, config) are
 * probed once per server; the cgroup mounts and sched_ext's state, which change while it runs, at
 * each call.
 *
 * One server per socket: a flock on `<socket>.lock` held for its life. The socket is root's alone
 * (0600, in a directory made 0700). It ends after `idleMs` without a call.
 */
export interface ServeOptions {
  socket: string;
  /** end after this long without a call */
  idleMs: number;
}

/** the executable's identity: a new build at the same path is another engine */
export const identity = (path: string): string => {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return '';
  }
};

/** the server: its executable, that file's identity, its umask and namespaces */
export interface Self { engine: string; identity: string; context: string }

const REBUILT = 'the engine was rebuilt since this server started';

/**
 * the fields of the environment that decide what a call does, but the caller's socket activation and
 * the launcher it ran (VKERNEL_RUNTIME_SELF: the path helpers are started by, which each call takes
 * from its caller: `asCaller`), so that the C entry point, the sh launcher and a symlink to either
 * are served alike
 */
const SELF = 'VKERNEL_RUNTIME_SELF=';
const notSelf = (e: RuntimeEnv) => e.own.filter((kv) => !kv.startsWith(SELF));
const comparable = (e: RuntimeEnv): string =>
  JSON.stringify({ ...e, listenFds: 0, listenPid: undefined, selfPath: undefined, self: undefined, own: notSelf(e) });
/** comparable of the server's own environment, made once: it does not change */
const comparables = new WeakMap<RuntimeEnv, string>();
const comparableOwn = (own: RuntimeEnv): string => {
  let c = comparables.get(own);
  if (c === undefined) comparables.set(own, (c = comparable(own)));
  return c;
};

/** the caller's environment as the engine it would exec reads it */
export const callerEnv = (req: Pick<Wire, 'env'>, self: Pick<Self, 'engine'>): RuntimeEnv => readEnv(req.env, self.engine, undefined);

/** the server's environment with the caller's launcher (`theirs`: callerEnv), as the caller's engine would have it */
export const asCaller = (own: RuntimeEnv, theirs: RuntimeEnv): RuntimeEnv =>
  ({ ...own, selfPath: theirs.selfPath, self: theirs.self, own: [...notSelf(own), ...theirs.own.filter((kv) => kv.startsWith(SELF))] });

/** why this call goes to the engine instead (undefined: served here) */
export function refusal(req: Request, inv: Invocation, own: RuntimeEnv, self: Self, theirs = callerEnv(req, self)): string | undefined {
  if (identity(self.engine) !== self.identity) return REBUILT;
  // (the caller's engine at our path: the same file, just checked)
  if (req.engine !== self.engine && identity(req.engine) !== self.identity) return `another engine (${req.engine})`;
  const context = otherContext(req.context, self.context);
  if (context) return context;
  if (theirs.listenFds > 0) return 'socket activation (LISTEN_FDS)';
  if (comparable(theirs) !== comparableOwn(own)) return 'another environment';
  // (the profiler, VKERNEL_PROFILE, only as the server's own: the environment is the same)
  if (theirs.testFault) return 'a test aid';
  const cmd = inv.command;
  if (!isServed(cmd) || inv.help || inv.version || (cmd === 'oci-hook' ? !(inv.args.length === 1 && HOOK_STAGES.includes(inv.args[0])) : helpRequested(cmd, inv.args))) {
    return 'not a create, start, delete or OCI hook';
  }
  const c = cmd === 'create' ? parseCommandArgs('create', inv.args) : undefined;
  if (c && Number(flagValue(c, 'preserve-fds') ?? 0) !== 0) return '--preserve-fds';
  const bundle = c && flagValue(c, 'bundle', 'b');
  for (const p of [bundle, inv.globals.root, inv.globals.log, inv.vkernelConfig]) {
    if (p !== undefined && !isAbsolute(p)) return `a relative path (${p})`;
  }
  if (c && bundle === undefined) return 'no --bundle (the caller\'s directory)';
  return undefined;
}

/**
 * the calls served: create (the launcher's for a request), start and delete of a container with
 * work of ours after runc's (the launcher's markers: vkernel@<id>.start, vkernel@<id>.json), and
 * the OCI hook as hooks.d runs it (`oci-hook STAGE`: podman's, CRI-O's, with runc or crun)
 */
const SERVED = ['create', 'start', 'delete', 'oci-hook'] as const;
type Served = typeof SERVED[number];
const isServed = (cmd: string | undefined): cmd is Served => (SERVED as readonly (string | undefined)[]).includes(cmd);

/** a served call's lifecycle code: its Runtime, and its connection (an OCI hook's input, its stdin, from the client) */
type Lifecycle = (rt: Runtime, ch: Channel) => Promise<number>;

async function load(cmd: Served): Promise<Lifecycle> {
  if (cmd === 'create') return (await import('../lifecycle/create.js')).create;
  if (cmd === 'start') return (await import('../lifecycle/start.js')).start;
  if (cmd === 'oci-hook') {
    const { ociHook } = await import('../lifecycle/oci-hook.js');
    return (rt, ch) => ociHook(rt, () => ch.input());
  }
  return (await import('../lifecycle/delete.js')).del;
}

/** each command's lifecycle code, imported by its first call (a dynamic import per call: ~40 µs of the loader's) */
const lifecycles = new Map<Served, Lifecycle>();
async function lifecycle(cmd: Served): Promise<Lifecycle> {
  let f = lifecycles.get(cmd);
  if (!f) lifecycles.set(cmd, (f = await load(cmd)));
  return f;
}

/**
 * when a handed-over call's process is first looked at, and how often then (Channel.handOver): only
 * for a runtime whose child keeps the connection past runc's end (runc's end closes it). Not while
 * runc usually runs: each look wakes the server, which then competes with runc for the CPU (two
 * vCPUs here: the one-call row was +1.5 and +0.6 ms slower with a look every 10 ms, two A/B runs)
 */
const HANDED_FIRST_MS = 100;
const HANDED_POLL_MS = 25;
/** a taken call's A goes out alone after this long without a message (Channel.take) */
const TELL_MS = 100;
/** one connection: its messages in, ours out */
export class Channel {
  gone = false;
  private waiting?: { resolve: (e: RuncEnd) => void; reject: (e: Error) => void };
  private reading?: { resolve: (text: string) => void; reject: (e: Error) => void };

  /** an R or Y was sent: the client may have run something for the call */
  ran = false;

  /** a handed-over call (handOver): its end (with why, when the client's exec failed) */
  private handed?: (failed?: string) => void;

  /** handed over (Y sent): the connection is runc's, nothing more is sent on it */
  private over = false;

  /** taken, and the client not told yet (take): the timer that tells it alone */
  private taken?: ReturnType<typeof setTimeout>;

  constructor(private readonly conn: Connection) {}

  /**
   * the call is taken (A): said with the next message, in the same write (every taken call sends
   * one: R, W, E or X), so that the client is woken once, not once more while the call is checked;
   * alone if none is sent within TELL_MS (a lock another call holds, a module to build): the client
   * waits only so long for a server to take its call (VKERNEL_ENGINE_WAIT_MS)
   */
  take(): void {
    this.taken = setTimeout(() => this.send(''), TELL_MS);
  }

  /** a message (type '': none, A alone) */
  send(type: string, payload: Buffer | string = ''): void {
    if (this.gone || this.over) return;
    const m = type ? encode(type, payload) : Buffer.alloc(0);
    if (this.taken) clearTimeout(this.taken);
    this.conn.write(this.taken ? Buffer.concat([encode('A'), m]) : m);
    this.taken = undefined;
  }

  /** the client runs argv; how it ended */
  run(argv: readonly string[]): Promise<RuncEnd> {
    if (this.gone) return Promise.reject(new HolderGone('the client went away'));
    this.ran = true;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.send('R', runPayload(argv));
    });
  }

  /**
   * Y: the client becomes argv (it execs runc, keeping this connection open across the exec, so
   * that runc holds it until it ends). Resolves once that process has ended: this connection's
   * end (runc's, which the caller's wait sees too), or the process (`pid`, the client's: the same
   * after its exec) no longer running with the start time it had, looked at after HANDED_FIRST_MS,
   * then every HANDED_POLL_MS:
   * a runtime whose child keeps the fds it inherits (a created container's init, waiting for
   * start) would keep the connection open past its own end. Nothing is sent on the connection
   * after Y (runc holds it), unless the client's exec failed: it says why (S, "x:<why>"), which
   * this resolves with, and waits for the call's end as after R.
   */
  handOver(argv: readonly string[], pid: number): Promise<string | undefined> {
    if (this.gone) return Promise.reject(new Error('the client went away before it ran runc (nothing was changed for the call)'));
    this.ran = true;
    const start = liveStartTime(pid);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout>;
      const look = () => {
        if (liveStartTime(pid) !== start) done();
        else timer = setTimeout(look, HANDED_POLL_MS);
      };
      timer = setTimeout(look, HANDED_FIRST_MS);
      const done = (failed?: string) => {
        clearTimeout(timer);
        this.handed = undefined;
        this.over = failed === undefined;
        resolve(failed);
      };
      this.handed = done;
      this.send('Y', runPayload(argv));
      this.over = true;
    });
  }

  /** the client's stdin, whole (asked for with W, sent as I): read only once the call is taken */
  input(): Promise<string> {
    if (this.gone) return Promise.reject(new HolderGone('the client went away'));
    return new Promise((resolve, reject) => {
      this.reading = { resolve, reject };
      this.send('W');
    });
  }

  got(payload: Buffer): void {
    const r = this.reading;
    this.reading = undefined;
    r?.resolve(payload.toString('utf8'));
  }

  ended(payload: Buffer): void {
    if (this.handed) {
      let end: RuncEnd | undefined;
      try { end = parseEnd(payload); } catch { /* below */ }
      this.handed(end && 'execError' in end ? end.execError : `a bad report of its exec (${payload.toString('utf8')})`);
      return;
    }
    const w = this.waiting;
    this.waiting = undefined;
    try {
      w?.resolve(parseEnd(payload));
    } catch (e) {
      w?.reject(e as Error);
    }
  }

  lost(): void {
    this.gone = true;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(new HolderGone('the client went away while runc ran'));
    const r = this.reading;
    this.reading = undefined;
    r?.reject(new HolderGone('the client went away before its input'));
    this.handed?.();
  }

  end(): void {
    if (!this.gone) this.conn.end();
  }
}

/**
 * The engine's Runtime, but runc with the caller's stdio runs in the client. The caller gone, its
 * own runc call is not made (HolderGone: the call ends there, its lock file stays, as a killed
 * engine's does; a create's, when no runc was run for it yet, a failure that changed nothing);
 * another runc call (a create's rollback: runc delete) runs here, with the server's stdio.
 */
class ServedRuntime extends Runtime {
  /** runc's death by a signal, reported back as ours (the engine dies by it: src/cli/main.ts) */
  death?: { signal: number; status: number };

  constructor(inv: Invocation, log: Logger, runc: string, config: Awaited<ReturnType<typeof loadConfig>>, env: RuntimeEnv,
    private readonly channel: Channel, private readonly kernel: KernelFacts) {
    super(inv, log, runc, config, env);
  }

  /** the kernel's facts as the server probed them (the cgroup mounts and sched_ext: Runtime.probe, per call) */
  protected override kernelFacts(): KernelFacts {
    return this.kernel;
  }

  override async inherit(argv: string[], fds: readonly (number | 'ignore')[] = []): Promise<number> {
    const sub = argv[this.inv.runcGlobals.length];
    if (this.channel.gone && sub !== this.inv.command) return super.inherit(argv, fds);
    // a create's client gone before its runc ran: nothing was changed for the container (create
    // changes nothing before runc's create), so a plain failure, whose lock goes with it, not
    // HolderGone, whose lock file stays. So a call the server takes late, its client gone to the
    // engine meanwhile, leaves nothing behind
    if (this.channel.gone && !this.channel.ran && sub === 'create') {
      throw new Error('the client went away before it ran runc (nothing was changed for the call)');
    }
    // (the phase as the engine names it, measured here from R sent to S read: the socket's round trip too)
    const end = await timed(`runc ${sub ?? ''} (client)`, () => this.channel.run([this.runc, ...argv]));
    if ('execError' in end) throw new Error(`cannot run ${this.runc}: ${end.execError}`);
    if ('signal' in end) {
      this.death = { signal: end.signal, status: 128 + end.signal };
      return this.death.status;
    }
    this.death = undefined;
    return end.code;
  }

  /** the client becomes runc (Channel.handOver); resolves once runc has ended */
  override async handOver(argv: string[]): Promise<void> {
    const failed = await timed('runc create (the caller\'s process)', () => this.channel.handOver([this.runc, ...argv], this.callerPid));
    if (failed !== undefined) throw new Error(`cannot run ${this.runc}: ${failed}`);
  }
}

/** one call: the engine's create, its runc in the client */
async function serveCall(req: Request, ch: Channel, own: RuntimeEnv, self: Self, kernel: KernelFacts, stop: () => void, arrived = performance.now()): Promise<void> {
  let inv: Invocation;
  let why: string | undefined;
  const theirs = callerEnv(req, self);
  try {
    inv = parseArgv(req.argv);
    why = refusal(req, inv, own, self, theirs);
  } catch (e) {
    why = (e as Error).message; // the engine says it as the caller expects
    inv = undefined as never;
  }
  if (why) {
    if (why === REBUILT) stop();
    ch.send('F', why);
    ch.end();
    return;
  }
  ch.take();
  profileCall(inv.command ?? '', arrived);
  const log = new Logger({ file: inv.globals.log, format: inv.globals.logFormat, debug: inv.globals.debug }, (t) => ch.send('E', t));
  let code: number;
  let rt: ServedRuntime | undefined;
  try {
    forgetBuildHits();
    const config = await loadConfig(inv.vkernelConfig, own.configPath, own.lockDir);
    rt = new ServedRuntime(inv, log, runcBinary(inv, config?.runc, own.runc), config, asCaller(own, theirs), ch, kernel);
    rt.callerPid = req.pid;
    code = await (await lifecycle(inv.command as Served))(rt, ch);
  } catch (e) {
    // (no one to tell: the client gone, HolderGone; or a create handed over, whose caller had
    // runc's status, and which logged why its request is not in force)
    if (e instanceof LockFileStays) return;
    log.error((e as Error).message);
    code = 1;
  }
  const d = rt?.death;
  flushProfile();
  ch.send('X', d && d.status === code ? `s:${d.signal}` : `e:${code}`);
  ch.end();
}

/** `vkernel-serve`: serves until idle (or SIGTERM); 0 also when another server holds the socket */
export async function serve(o: ServeOptions, own: RuntimeEnv = readEnv()): Promise<number> {
  const engine = process.execPath;
  const mask = process.umask(0o22); // read: set and put back
  process.umask(mask);
  // ours as a caller's is read (caller.ts): the same files, the same function
  const facts = procFacts('/proc/self');
  const self = { engine, identity: identity(engine), context: contextOf(facts) };
  // the callers' LSM label read only where ours is (procFacts)
  const lsm = facts.lsm !== undefined;
  // who connected, from the kernel (under node, which has no FFI: no one, and every call goes to the engine)
  const peerOf = await peerReader();
  // once per server: the running kernel does not change under it
  const kernel = probeKernel();
  mkdirSync(dirname(o.socket), { recursive: true, mode: 0o700 });
  // one server per socket, for its whole life (the kernel drops the flock however it ends)
  const lockFd = openSync(`${o.socket}.lock`, 'a+', 0o600);
  if (!(await (await fileLocker()).tryLock(lockFd))) {
    closeSync(lockFd);
    return 0;
  }
  try { unlinkSync(o.socket); } catch { /* none left */ }
  let active = 0;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let stopping = false;
  let listener: Listener | undefined;
  const accept = (conn: Connection): ConnectionHandlers => {
    if (stopping) {
      conn.destroy();
      return { data: () => {}, close: () => {} };
    }
    active++;
    clearTimeout(idle);
    const accepted = performance.now();
    const ch = new Channel(conn);
    const dec = new Decoder();
    let served = false;
    // the connection, and its call while it runs: a call handed over (Channel.handOver) has its
    // work after the connection's end, and the server must not end before it
    let parts = 1;
    const settle = () => {
      if (--parts > 0) return;
      active--;
      arm();
    };
    let first: number | undefined;
    const data = (chunk: Buffer) => {
      first ??= performance.now();
      let msgs;
      try {
        msgs = dec.push(chunk);
      } catch {
        conn.destroy();
        return;
      }
      for (const m of msgs) {
        if (m.type === 'Q' && !served) {
          served = true;
          let req: Request;
          try {
            const wire = parseRequest(m.payload, READ_VARIABLES);
            const caller = callerOf(conn.fd === undefined ? undefined : peerOf?.(conn.fd), performance.now() - accepted, '/proc', lsm);
            if (typeof caller === 'string') throw new Error(caller);
            req = { ...wire, ...caller };
          } catch (e) {
            ch.send('F', (e as Error).message);
            ch.end();
            continue;
          }
          parts++;
          void serveCall(req, ch, own, self, kernel, stop, first).catch(() => conn.destroy()).finally(settle);
        } else if (m.type === 'S') ch.ended(m.payload);
        else if (m.type === 'I') ch.got(m.payload);
      }
    };
    const close = () => {
      ch.lost();
      settle();
    };
    return { data, close };
  };
  const arm = () => {
    clearTimeout(idle);
    if (stopping && active === 0) { finish(); return; }
    if (active === 0) idle = setTimeout(stop, o.idleMs);
  };
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => { resolveDone = r; });
  function stop(): void {
    if (stopping) return;
    stopping = true;
    listener?.close();
    // the path is ours while we hold the flock: a next server unlinks and binds it after us
    try { unlinkSync(o.socket); } catch { /* gone */ }
    arm();
  }
  function finish(): void {
    closeSync(lockFd);
    resolveDone(0);
  }
  process.umask(0o177);
  try {
    listener = await listenUnix(o.socket, accept);
  } finally {
    process.umask(mask);
  }
  chmodSync(o.socket, 0o600);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  arm();
  return done;
}
