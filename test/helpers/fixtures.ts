import { execa, type Options, type ResultPromise } from 'execa';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StateStore, type ContainerState } from '../../src/store/state.js';
import { lockPath } from '../../src/store/lock.js';
import { RT_LOCK } from '../../src/kernel/backends/rt.js';
import { diesWithContainer } from '../../src/lifecycle/undo.js';

export const REPO = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
/** the sh launcher: the whole implementation of the entry point (every call it is given) */
export const SH_LAUNCHER = join(REPO, 'bin/vkernel-runtime');
/**
 * What the tests run as callers run the runtime: the C entry point (dist/vkernel-runtime, which
 * takes the hot calls itself and passes the rest to the sh launcher) where the build made it (a C
 * compiler: CI's), else the sh launcher. test/unit/launcher-entry.test.ts holds the two to the same
 * decisions.
 */
export const RUNTIME = existsSync(join(REPO, 'dist/vkernel-runtime')) ? join(REPO, 'dist/vkernel-runtime') : SH_LAUNCHER;

/** A busybox rootfs, built once per test process (the container image of every test). */
let rootfs: string | undefined;
export function busyboxRootfs(): string {
  if (rootfs) return rootfs;
  const dir = mkdtempSync(join(tmpdir(), 'vk-rootfs-'));
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(dir, d));
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = ['sh', 'echo', 'cat', 'sleep', 'tty', 'ls', 'true', 'false', 'test', 'grep', 'mkdir', 'chrt', 'id', 'ps', 'head', 'awk', 'nproc', 'yes', 'dd', 'cut', 'readlink'];
  for (const a of applets) symlinkSync('busybox', join(dir, 'bin', a));
  rootfs = dir;
  return dir;
}

export interface BundleOptions {
  args: string[];
  annotations?: Record<string, string>;
  env?: string[];
  terminal?: boolean;
  cgroupsPath?: string;
  /** process.rlimits instead of runc spec's (RLIMIT_NOFILE 1024); [] for none: the init keeps runc's */
  rlimits?: { type: string; soft: number; hard: number }[];
}

/** A bundle made by `runc spec`, pointed at the busybox rootfs. */
export async function makeBundle(o: BundleOptions): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vk-bundle-'));
  await execa('runc', ['spec'], { cwd: dir });
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  spec.root = { path: busyboxRootfs(), readonly: true };
  spec.process.terminal = o.terminal ?? false;
  spec.process.args = o.args;
  if (o.env) spec.process.env = [...spec.process.env, ...o.env];
  if (o.annotations) spec.annotations = o.annotations;
  if (o.cgroupsPath) spec.linux.cgroupsPath = o.cgroupsPath;
  if (o.rlimits) spec.process.rlimits = o.rlimits;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

/**
 * Where the state of `id` under `root` is, wherever the StateStore keeps it: beside runc's
 * container directory (`vkernel@<id>.json`) or handed to it (`<id>/vkernel.json`, a container
 * with nothing to undo after runc's delete: StateStore.handToRunc). undefined: in neither. Looked
 * for once no create holds the container's lock (`recorded`).
 */
export function stateFile(root: string, id: string): string | undefined {
  recorded(root, id);
  return statePaths(root, id).find((f) => existsSync(f));
}

/** every place the StateStore may keep the state of `id` under `root` (a leftover check looks in all) */
export function statePaths(root: string, id: string): string[] {
  const s = new StateStore(root);
  return [s.path(id), s.runcOwnedPath(id)];
}

/** whether a state of `id` is under `root` in any place the StateStore keeps one (once recorded) */
export const hasState = (root: string, id: string): boolean => stateFile(root, id) !== undefined;

/** whether `file` is flock(2)ed now: its inode among /proc/locks' FLOCKs (the inode is that line's third field's last part) */
export function flocked(file: string): boolean {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return false;
  return readFileSync('/proc/locks', 'utf8').split('\n').some((l) => / FLOCK /.test(l) && l.trim().split(/\s+/)[5]?.split(':')[2] === String(st.ino));
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));
/**
 * waits (up to `ms`) while a create of `id` holds its lock: one handed over to runc
 * (src/lifecycle/create.ts) records the container a moment after runc, and so its caller, is done
 */
export function recorded(root: string, id: string, ms = 5000): void {
  const lock = lockPath(root, id);
  for (const end = Date.now() + ms; flocked(lock) && Date.now() < end;) Atomics.wait(PAUSE, 0, 0, 5);
}

/** the state of `id` under `root` (parsed), wherever it is, once recorded; throws when there is none */
export function readState(root: string, id: string): ContainerState {
  const f = stateFile(root, id);
  if (!f) throw new Error(`no state of ${id} under ${root} (looked in ${statePaths(root, id).join(', ')})`);
  return JSON.parse(readFileSync(f, 'utf8')) as ContainerState;
}

/**
 * Changes the state of `id` under `root` (as a test does to stage a case) and writes it where the
 * StateStore would keep a state with that content: inside runc's container directory only while
 * it still has nothing to undo after runc's delete (lifecycle/undo.ts diesWithContainer, as at
 * create); else (e.g. a helper added) beside it, where `delete` goes through the engine.
 */
export function rewriteState(root: string, id: string, change: (s: ContainerState) => void): void {
  const s = readState(root, id);
  change(s);
  const store = new StateStore(root);
  const handed = existsSync(store.runcOwnedPath(id)) && diesWithContainer(s);
  for (const f of statePaths(root, id)) rmSync(f, { force: true });
  writeFileSync(handed ? store.runcOwnedPath(id) : store.path(id), JSON.stringify(s));
}

/**
 * Moves the state of `id` under `root` beside runc's container directory (`vkernel@<id>.json`),
 * where a create killed before its handover (or a container with something to undo) keeps it: a
 * test that makes runc forget the container behind our back then has a leftover of ours to find
 * (a state handed to runc's directory goes with runc's delete: nothing is left to find).
 */
export function keepBesideRunc(root: string, id: string): void {
  const store = new StateStore(root);
  const f = stateFile(root, id);
  if (!f) throw new Error(`no state of ${id} under ${root}`);
  if (f !== store.path(id)) renameSync(f, store.path(id));
}

/** a runc --root for one test, named after this test process (the end-of-run leftover check, test/global/leftovers.cjs, looks in these) */
export function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), `vk-root-${process.pid}-`));
}

/**
 * perl: makes its process a child subreaper (prctl PR_SET_CHILD_SUBREAPER, x86-64's syscall 157),
 * so that a container's init, orphaned when runc ends, becomes its child
 */
export const PERL_SUBREAPER = 'syscall(157, 36, 1, 0, 0, 0) == 0 or die "prctl: $!";';

/** polls `fn` every `every` ms until it holds or `ms` have passed; whether it held at the end */
export async function until(fn: () => boolean | Promise<boolean>, ms = 10_000, every = 25): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, every))) if (await fn()) return true;
  return fn();
}

/** the engine servers (src/serve/server.ts) on a socket (the one their command line names): the benches' finder */
export { engineServers, serverSockets, threadCpuMs } from '../../bench/lib/server.mjs';

let n = 0;
/** a container id unique to this test process */
export function uid(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${n++}`;
}

/**
 * execa's options as the tests use them: an open fd (a number) is fine for stdin/stdout/stderr and
 * in stdio (execa passes it to the child; its types only list 0-2 there), and a string result.
 */
export type RunOptions = Omit<Options, 'stdin' | 'stdout' | 'stderr' | 'stdio'> & {
  stdin?: Options['stdin'] | number;
  stdout?: Options['stdout'] | number;
  stderr?: Options['stderr'] | number;
  stdio?: Options['stdio'] | readonly (string | number | undefined)[];
};
export type Ran = ResultPromise<{ reject: false }>;
/** execa with reject: false and RunOptions (see above) */
export const run = (file: string, args: readonly string[], o: RunOptions = {}): Ran => execa(file, args, { reject: false, ...o } as Options) as unknown as Ran;
export const vk = (args: string[], o: RunOptions = {}): Ran => run(RUNTIME, args, o);

/**
 * the node's RT lock under `lockDir` (src/kernel/backends/rt.ts RT_LOCK) held by another process
 * (`flock`) for `ms`: resolves once it holds it, with that process (`ended`: wrapped, or the
 * async return would wait for its end)
 */
export async function holdRtLock(lockDir: string, ms: number): Promise<{ ended: Ran }> {
  const file = lockPath(lockDir, RT_LOCK);
  const ended = run('flock', [file, 'sleep', String(ms / 1000)], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' });
  if (!(await until(() => flocked(file), 3000))) throw new Error(`flock did not take ${file} within 3 s`);
  return { ended };
}
export const runc = (args: string[], o: RunOptions = {}): Ran => run('runc', args, o);

/** one mounted cgroup hierarchy (v1: one per controller set; v2: the unified one) */
export interface Hierarchy {
  /** the controllers field of /proc/<pid>/cgroup: "cpu", "name=systemd", "" for v2 */
  key: string;
  mount: string;
  /** the cgroup path the mount shows at its mount point (usually /) */
  mountRoot: string;
}

const unescapeMount = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** one line of /proc/self/mountinfo: what the mount shows (root), where (dir), its type and super options */
export interface MountEntry { root: string; dir: string; fstype: string; superOpts: string }

export function mountinfo(): MountEntry[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').flatMap((line) => {
    const [pre, post] = line.split(' - ');
    if (!post) return [];
    const f = pre.split(' ');
    const [fstype, , superOpts = ''] = post.split(' ');
    return [{ root: f[3], dir: unescapeMount(f[4]), fstype, superOpts }];
  });
}

/** every mounted cgroup hierarchy, v1 and v2, from /proc/self/mountinfo */
export function cgroupHierarchies(): Hierarchy[] {
  // the controllers (and name=) of each v1 hierarchy, in /proc/<pid>/cgroup's order and spelling
  const self = readFileSync('/proc/self/cgroup', 'utf8').split('\n').map((l) => l.split(':')[1]).filter((k): k is string => !!k);
  return mountinfo().flatMap((m) => {
    if (m.fstype === 'cgroup2') return [{ key: '', mount: m.dir, mountRoot: m.root }];
    if (m.fstype !== 'cgroup') return [];
    const opts = m.superOpts.split(',');
    const key = self.find((k) => k.split(',').every((c) => opts.includes(c)));
    return key === undefined ? [] : [{ key, mount: m.dir, mountRoot: m.root }];
  });
}

/** the directory of cgroup `path` of hierarchy h, or undefined when the mount does not show it */
function dirIn(h: Hierarchy, path: string): string | undefined {
  const root = h.mountRoot.replace(/\/$/, '');
  if (root && path !== root && !path.startsWith(`${root}/`)) return undefined;
  return join(h.mount, path.slice(root.length));
}

/** the cgroup paths of process pid, per hierarchy key ("" = v2), from /proc/<pid>/cgroup */
function cgroupPaths(pid: number | 'self'): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const i = l.indexOf(':');
    const j = l.indexOf(':', i + 1);
    if (i > 0 && j > i) m.set(l.slice(i + 1, j), l.slice(j + 1));
  }
  return m;
}

/** the real cgroup directories of a live process in every mounted hierarchy, v1 and v2 */
export function cgroupDirsOf(pid: number): string[] {
  const paths = cgroupPaths(pid);
  return cgroupHierarchies().flatMap((h) => {
    const p = paths.get(h.key);
    const d = p === undefined ? undefined : dirIn(h, p);
    return d ? [d] : [];
  });
}

/**
 * Where a container's cgroup `cgroupsPath` can be in every mounted hierarchy (v1 and v2): at that
 * path from the hierarchy's root, and below the caller's own cgroup there (runc nests a hierarchy
 * under the caller's cgroup where the caller is not in the root: memory on this host).
 */
export function cgroupCandidates(cgroupsPath: string): string[] {
  const self = cgroupPaths('self');
  const rel = cgroupsPath.startsWith('/') ? cgroupsPath : `/${cgroupsPath}`;
  const dirs = cgroupHierarchies().flatMap((h) => [dirIn(h, rel), dirIn(h, join(self.get(h.key) ?? '/', rel))]);
  return [...new Set(dirs.filter((d): d is string => !!d))];
}

/** private bundles of `run` with a request (src/lifecycle/run.ts RUN_BUNDLES) */
const RUN_BUNDLES = process.env.VKERNEL_RUN_BUNDLES ?? '/run/vkernel-runtime/bundles';

/**
 * What a host operator would look at for leftovers of a container: runc's directory, any file of
 * ours for it in the root (state, lock, adaptive log), a private bundle, and its cgroup in every
 * mounted hierarchy, v1 and v2 — by default at /<id> (where runc puts a container without
 * linux.cgroupsPath), or at o.cgroupsPath, plus the directories in o.cgroupDirs (captured with
 * cgroupDirsOf(pid) while the container was alive: its real ones), the adaptive controller's
 * group beside each (`vkernel-adaptive-<id>`), and a mount of anything of ours (run's config.json
 * bind mount) still visible in the test's mount namespace.
 */
export function leftovers(root: string, id: string, o: { cgroupsPath?: string; cgroupDirs?: string[]; bundle?: string } = {}): string[] {
  const found: string[] = [];
  if (existsSync(join(root, id))) found.push(`runc dir ${join(root, id)}`);
  try {
    for (const f of readdirSync(root)) if (f.startsWith(`vkernel@${id}.`)) found.push(`our file ${join(root, f)}`);
    if (existsSync(new StateStore(root).runcOwnedPath(id))) found.push(`our file ${new StateStore(root).runcOwnedPath(id)}`);
  } catch { /* no root: nothing in it */ }
  try {
    for (const f of readdirSync(RUN_BUNDLES)) if (f === id || f.startsWith(`${id}.`) || f.startsWith(`${id}-`)) found.push(`private bundle ${join(RUN_BUNDLES, f)}`);
  } catch { /* none */ }
  const dirs = new Set([...cgroupCandidates(o.cgroupsPath ?? `/${id}`), ...(o.cgroupDirs ?? [])]);
  for (const d of dirs) if (existsSync(d)) found.push(`cgroup ${d}`);
  for (const d of new Set([...dirs].map((x) => join(dirname(x), `vkernel-adaptive-${id}`)))) if (existsSync(d)) found.push(`controller cgroup ${d}`);
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [, , , src, mnt] = l.split(' ');
    // run's bind mount: a private bundle's config.json over the caller's
    if (mnt && (src.includes(`/bundles/${id}-`) || mnt.includes(`/bundles/${id}-`) || (o.bundle && mnt === join(o.bundle, 'config.json')))) found.push(`mount ${src} on ${mnt}`);
  }
  return found;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('integration tests need root (they start real containers with runc)');
}
