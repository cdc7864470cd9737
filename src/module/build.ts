import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readEnv, type RuntimeEnv } from '../env.js';
import { linuxHostOps, type HostOps } from '../host/ops.js';
import { timed } from '../profile.js';
import { withLock } from '../store/lock.js';

/**
 * Build of the per-container module (modules/vkernel) against a kernel build tree, once per
 * (kernel, module source), into a cache:
 *
 *   <cache>/<key>/vkernel.ko     the module, named PLACEHOLDER (renamed per container, elf.ts)
 *   <cache>/<key>/build.log      make's output;  meta.json: what the key was made of
 *   <cache>/<key>/src/           the copy of the source that was built (M=), with its objects
 *   <cache>/.locks/              the build lock (one builder per key, the others wait and reuse)
 *
 * key = sha256(kernel release (include/generated/utsrelease.h), include/config/kernel.release,
 * sha256 of Module.symvers and of include/generated/autoconf.h (what vermagic and symbol CRCs
 * derive from), sha256 of the module source). A key directory only appears complete: the build
 * runs in a private directory that is renamed into place.
 */

/** name the module is built under: 55 characters, so that any valid name fits when renamed (elf.ts) */
export const PLACEHOLDER = 'vkernel_placeholder____________________________________';

/** files of a module source that make up its hash and are copied to the build */
const SOURCE_RE = /^(Kbuild|Makefile)$|\.[ch]$/;
/** lines of make's output kept in a build error */
const TAIL_LINES = 20;

export interface BuildOptions {
  /** where the defaults below come from (default: read now) */
  env?: RuntimeEnv;
  /** runs make (default: the real host, with `make` below) */
  host?: HostOps;
  /** kernel build tree; default $VKERNEL_KERNEL_BUILD, else /lib/modules/$(uname -r)/build */
  kdir?: string;
  /** module source directory; default modules/vkernel of this installation */
  source?: string;
  /** default $VKERNEL_CACHE/modules (/var/cache/vkernel-runtime/modules) */
  cacheDir?: string;
  /** make binary (tests put a counting wrapper here); default $VKERNEL_MAKE or make */
  make?: string;
  /** progress lines (what is built where, and make's own lines) */
  onProgress?: (line: string) => void;
  /** how long to wait for another process's build of the same key */
  lockTimeoutMs?: number;
}

export interface BuildResult {
  ko: string;
  key: string;
  /** true when the module came from the cache (possibly after waiting for another builder) */
  cached: boolean;
  ms: number;
}

export interface KernelId {
  kdir: string;
  release: string;
  kernelRelease: string;
  symvers: string;
  config: string;
}

export function defaultKdir(env: Pick<RuntimeEnv, 'kernelBuild'>): string {
  return env.kernelBuild || `/lib/modules/${release()}/build`;
}

/** modules/vkernel of this installation (source tree, dist/ build, or the launcher's home) */
export function moduleSourceDir(env: Pick<RuntimeEnv, 'moduleSource' | 'home' | 'selfPath'>): string {
  const candidates: string[] = [];
  if (env.moduleSource) return env.moduleSource;
  if (env.home) candidates.push(join(env.home, 'modules/vkernel'));
  const self = env.selfPath;
  if (self) {
    try {
      candidates.push(resolve(dirname(realpathSync(self)), '../modules/vkernel'));
    } catch { /* launcher path gone: try the others */ }
  }
  try {
    const here = dirname(process.getBuiltinModule('node:url').fileURLToPath(import.meta.url));
    candidates.push(resolve(here, '../../modules/vkernel'), resolve(here, '../../../modules/vkernel'));
  } catch { /* not a file: URL (a compiled engine): the launcher's home above */ }
  const found = candidates.find((c) => existsSync(join(c, 'Kbuild')));
  if (!found) throw new Error(`cannot find the vkernel module source (modules/vkernel; looked in ${candidates.join(', ')}); set VKERNEL_MODULE_SOURCE`);
  return found;
}

// crypto and url on first use only: bun evaluates a builtin imported anywhere in the engine at its
// start (test/unit/engine-imports.test.ts)
const createHash = (alg: string) => process.getBuiltinModule('node:crypto').createHash(alg);
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** the files of a kernel tree that kernelId() reads (and treeStamp() stats: one list for both) */
const KERNEL_ID_FILES = {
  makefile: 'Makefile',
  utsRelease: 'include/generated/utsrelease.h',
  kernelRelease: 'include/config/kernel.release',
  symvers: 'Module.symvers',
  autoconf: 'include/generated/autoconf.h',
} as const;

/** What identifies the kernel a tree builds for. Throws a clear error when the tree is missing. */
export function kernelId(kdir: string): KernelId {
  if (!existsSync(kdir)) {
    throw new Error(
      `kernel build directory ${kdir} does not exist, so the vkernel module cannot be built: install the headers of the ` +
        `running kernel (Debian: apt-get install linux-headers-$(uname -r)) or point VKERNEL_KERNEL_BUILD ` +
        `(module build --kdir) at a prepared kernel tree (make modules_prepare)`,
    );
  }
  const f = (k: keyof typeof KERNEL_ID_FILES) => join(kdir, KERNEL_ID_FILES[k]);
  if (!existsSync(f('makefile'))) throw new Error(`${kdir} is not a kernel build directory (no Makefile)`);
  const uts = readOr(f('utsRelease'), '');
  const rel = /UTS_RELEASE\s+"([^"]+)"/.exec(uts)?.[1];
  if (!rel) {
    throw new Error(`${kdir} is not prepared for building modules (no include/generated/utsrelease.h): run make modules_prepare in it`);
  }
  return {
    kdir,
    release: rel,
    kernelRelease: readOr(f('kernelRelease'), '').trim(),
    symvers: sha256(readOr(f('symvers'), '')),
    config: sha256(readOr(f('autoconf'), '')),
  };
}

/** what the KERNEL_ID_FILES of a tree are on disk now (device, inode, size, modification and change times): a rebuild or an edit of the tree changes it */
function treeStamp(kdir: string): string {
  return Object.values(KERNEL_ID_FILES).map((f) => {
    try {
      const st = statSync(join(kdir, f), { bigint: true });
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch {
      return '-';
    }
  }).join('|');
}

/**
 * kernelId() remembered in the module cache (`.kernel-ids/`) under the tree's stamp: hashing
 * Module.symvers and autoconf.h on every create cost ~40 ms in the VM (`npm run bench -- --vm`,
 * `module: kernel id`). A tree whose files changed in any way (a rebuild, an edit: their ctime
 * moves) is hashed again; a cache that cannot be written only costs the hashing.
 */
export function cachedKernelId(kdir: string, cache: string): KernelId {
  const file = join(cache, '.kernel-ids', `${sha256(resolve(kdir)).slice(0, 32)}.json`);
  const stamp = treeStamp(kdir);
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { stamp?: string; id?: KernelId };
    if (j.stamp === stamp && j.id?.kdir === kdir) return j.id;
  } catch { /* none yet, or unreadable: hashed below */ }
  const id = kernelId(kdir);
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ stamp, id }), { mode: 0o644 });
    renameSync(tmp, file);
  } catch { /* not writable: hashed again next time */ }
  return id;
}

function sourceFiles(source: string): string[] {
  let names: string[];
  try {
    names = readdirSync(source);
  } catch (e) {
    throw new Error(`cannot read module source ${source}: ${(e as Error).message}`);
  }
  return names.filter((n) => SOURCE_RE.test(n) && statSync(join(source, n)).isFile()).sort();
}

/** sha256 over the source files (names and contents), build artifacts excluded */
export function sourceHash(source: string): string {
  const h = createHash('sha256');
  for (const n of sourceFiles(source)) h.update(`${n}\0`).update(readFileSync(join(source, n))).update('\0');
  return h.digest('hex');
}

export function cacheKey(k: KernelId, srcHash: string): string {
  return sha256(JSON.stringify({ v: 1, release: k.release, kernelRelease: k.kernelRelease, symvers: k.symvers, config: k.config, source: srcHash }));
}

/** this process's cache hits by (kdir, source, cache): create looks the module up before `runc create` and again to load it */
const hits = new Map<string, BuildResult>();

/** forgets them (the engine server, at each call: the source may have changed since the last) */
export function forgetBuildHits(): void {
  hits.clear();
}

/** Cached build of the module for the kernel tree `kdir`: builds once, concurrent callers reuse. */
export async function buildModule(o: BuildOptions = {}): Promise<BuildResult> {
  const t0 = performance.now();
  const progress = o.onProgress ?? (() => {});
  const env = o.env ?? readEnv();
  const kdir = o.kdir ?? defaultKdir(env);
  const source = o.source ?? moduleSourceDir(env);
  const cache = o.cacheDir ?? env.moduleCache;
  const hitKey = `${kdir}\0${source}\0${cache}`;
  const hit = hits.get(hitKey);
  if (hit && existsSync(hit.ko)) return { ...hit, cached: true, ms: Math.round(performance.now() - t0) };
  const k = timed('module: kernel id', () => cachedKernelId(kdir, cache));
  const srcHash = timed('module: source hash', () => sourceHash(source));
  const key = cacheKey(k, srcHash);
  const dir = join(cache, key);
  const ko = join(dir, 'vkernel.ko');
  const done = (cached: boolean): BuildResult => {
    const r = { ko, key, cached, ms: Math.round(performance.now() - t0) };
    hits.set(hitKey, r);
    return r;
  };
  if (existsSync(ko)) return done(true);

  mkdirSync(cache, { recursive: true, mode: 0o755 });
  const short = key.slice(0, 16);
  return withLock(join(cache, '.locks'), `build-${short}`, async () => {
    if (existsSync(ko)) {
      progress(`built meanwhile by another process: ${ko}`);
      return done(true);
    }
    // we hold the lock: any work directory of this key is a dead builder's
    for (const n of readdirSync(cache)) if (n.startsWith(`.build-${short}-`)) rmSync(join(cache, n), { recursive: true, force: true });
    const work = join(cache, `.build-${short}-${process.pid}`);
    const src = join(work, 'src');
    mkdirSync(src, { recursive: true });
    for (const n of sourceFiles(source)) copyFileSync(join(source, n), join(src, n));
    const make = o.make ?? env.make;
    const argv = ['-C', kdir, `M=${src}`, 'modules'];
    progress(`building ${source} for ${k.release} (${kdir})`);
    progress(`$ ${make} ${argv.join(' ')}`);
    const lines: string[] = [];
    const r = await (o.host ?? linuxHostOps({ make })).make(argv, (l) => {
      lines.push(l);
      progress(l);
    });
    const log = `${lines.join('\n')}\n`;
    const built = r.ok ? readdirSync(src).filter((n) => n.endsWith('.ko')) : [];
    if (!r.ok || built.length !== 1) {
      const failedLog = join(cache, `${key}.failed.log`);
      writeFileSync(failedLog, `$ ${make} ${argv.join(' ')}\n${log}`);
      rmSync(work, { recursive: true, force: true });
      const why = !r.ok
        ? `make exited with ${r.message}`
        : `make produced ${built.length} .ko files (want 1: ${built.join(', ') || 'none'})`;
      throw new Error(
        `building the vkernel module for ${k.release} failed (${why}); last lines of the build (full log ${failedLog}):\n` +
          lines.filter((l) => l.trim()).slice(-TAIL_LINES).join('\n'),
      );
    }
    copyFileSync(join(src, built[0]), join(work, 'vkernel.ko'));
    writeFileSync(join(work, 'build.log'), log);
    const meta = { key, ...k, source, sourceHash: srcHash, builtFrom: built[0], built: new Date().toISOString(), ms: Math.round(performance.now() - t0) };
    writeFileSync(join(work, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
    renameSync(work, dir);
    progress(`built ${ko} in ${meta.ms} ms`);
    return done(false);
  }, o.lockTimeoutMs ?? 10 * 60_000);
}
