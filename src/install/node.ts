import { chmodSync, closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** where a node keeps the runtime: releases side by side, `current` pointing at one */
export const NODE_HOME = '/opt/vkernel-runtime';
export const NODE_BIN = '/usr/local/bin/vkernel-runtime';
/** where the first installer put the engine (issue 13 §6: the launcher never looked there) */
export const OLD_ENGINE = '/usr/local/bin/vkernel-engine';
/** strings every build of our engine carries (its bundled sources), read to recognise an old copy */
const ENGINE_MARKS = ['vkernel-runtime', 'io.vkernel.'];

/** whether `file` (a regular file) is a copy of our engine: an ELF that carries ENGINE_MARKS */
function isOurEngine(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const head = readSync(fd, buf, 0, 4, 0);
    if (head < 4 || buf.readUInt32BE(0) !== 0x7f454c46) return false;
    const found = new Set<string>();
    const keep = 64; // a mark across two reads
    for (let pos = 0, carry = Buffer.alloc(0); ;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      const chunk = Buffer.concat([carry, buf.subarray(0, n)]);
      for (const m of ENGINE_MARKS) if (chunk.includes(m)) found.add(m);
      if (found.size === ENGINE_MARKS.length) return true;
      carry = chunk.subarray(Math.max(0, chunk.length - keep));
      pos += n;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * An earlier installer's engine at OLD_ENGINE: removed when it is a copy of ours (an ELF with our
 * marks, or a link into a vkernel-runtime installation), else left. Returns what was done, for the
 * installer's output; undefined when there is none.
 */
function removeOldEngine(nodeRoot: string): string | undefined {
  const file = join(nodeRoot, OLD_ENGINE);
  let st;
  try { st = lstatSync(file); } catch { return undefined; }
  const ours = st.isSymbolicLink() ? readlinkSync(file).includes('vkernel-runtime') : st.isFile() && isOurEngine(file);
  if (!ours) return `left ${file}: not a vkernel-runtime engine (nothing uses it; remove it if it is an old copy)`;
  rmSync(file, { force: true });
  return `removed ${file} (an earlier installer's copy of the engine)`;
}

/** the C entry point in an installation (client/vkernel-client.c, launcher mode) */
export const ENTRY = 'dist/vkernel-runtime';
/** what NODE_BIN links to in the current release: the C entry point when the release has it */
const entryOf = (files: readonly string[]) => (files.includes(ENTRY) ? ENTRY : 'bin/vkernel-runtime');

/**
 * The files a node needs to run containers: the launcher, the compiled engine beside it in dist/
 * (where the launcher looks: `<home>/dist/vkernel-engine`, home = the launcher's resolved
 * location) with the engine server's client when built, and the module source (built on the node
 * against its kernel, found by the engine at `<home>/modules/vkernel`). The admin commands (node +
 * dist/src) stay in the installer image.
 */
function payload(from: string): string[] {
  const engine = join(from, 'dist/vkernel-engine');
  if (!existsSync(engine)) throw new Error(`${engine} is missing: build the runtime first (npm run build) — nothing was changed`);
  const mod = join(from, 'modules/vkernel');
  const sources = existsSync(mod) ? readdirSync(mod).filter((n) => /^(Kbuild|Makefile)$|\.[ch]$/.test(n)).map((n) => `modules/vkernel/${n}`) : [];
  if (!sources.length) throw new Error(`${mod}: no module source to ship — nothing was changed`);
  // the engine server's client and the C entry point (the same program), when the build had a C
  // compiler (without them the sh launcher is the entry point and runs the engine for every create)
  const c = ['dist/vkernel-client', ENTRY].filter((f) => existsSync(join(from, f)));
  return ['bin/vkernel-runtime', 'dist/vkernel-engine', ...c, ...sources];
}

/** replace a symlink atomically (a new link renamed over the old path) */
function link(target: string, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    if (lstatSync(path).isSymbolicLink() && readlinkSync(path) === target) return;
  } catch { /* absent */ }
  const tmp = `${path}.vkernel-tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, path);
}

export interface NodeInstall { release: string; home: string; bin: string; files: string[]; changed: boolean; notes: string[] }

/**
 * Copies this installation onto a node under `nodeRoot` (the Kubernetes installer runs with the
 * node's / at /host): `<root>/opt/vkernel-runtime/releases/<hash>/...`, `current` → that release,
 * `<root>/usr/local/bin/vkernel-runtime` → `../../../opt/vkernel-runtime/current/dist/vkernel-runtime`
 * (the C entry point; `current/bin/vkernel-runtime`, the sh launcher, for a build without one)
 * (relative links: right on the node and under any root). Each switch is one rename, so a runtime
 * call during an upgrade runs the old release or the new one, never half of each. Older releases
 * than the previous one are removed, and an earlier installer's engine at OLD_ENGINE.
 */
export function installNode(from: string, nodeRoot: string): NodeInstall {
  const files = payload(from);
  // node:crypto on first use: bun hoists a static import of a builtin to every engine start-up
  // (test/unit/engine-imports.test.ts), and only `install node` hashes
  const h = process.getBuiltinModule('node:crypto').createHash('sha256');
  for (const f of files) h.update(`${f}\0`).update(readFileSync(join(from, f))).update('\0');
  const release = h.digest('hex').slice(0, 16);
  const home = join(nodeRoot, NODE_HOME);
  const dir = join(home, 'releases', release);
  let changed = false;
  if (!existsSync(dir)) {
    const stage = join(home, 'releases', `.${release}.tmp-${process.pid}`);
    rmSync(stage, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(stage, f)), { recursive: true });
      copyFileSync(join(from, f), join(stage, f));
      chmodSync(join(stage, f), statSync(join(from, f)).mode & 0o755);
    }
    renameSync(stage, dir);
    changed = true;
  }
  const current = join(home, 'current');
  let previous: string | undefined;
  try { previous = readlinkSync(current); } catch { /* first install */ }
  if (previous !== `releases/${release}`) changed = true;
  link(`releases/${release}`, current);
  const bin = join(nodeRoot, NODE_BIN);
  const target = relative(dirname(NODE_BIN), join(NODE_HOME, 'current', entryOf(files)));
  try {
    if (lstatSync(bin).isSymbolicLink() ? readlinkSync(bin) !== target : true) changed = true;
  } catch { changed = true; }
  link(target, bin);
  // keep the release before this one (calls in flight may still use it), drop older ones
  const keep = new Set([release, previous?.replace(/^releases\//, '')]);
  for (const r of readdirSync(join(home, 'releases'))) if (!keep.has(r)) rmSync(join(home, 'releases', r), { recursive: true, force: true });
  const notes: string[] = [];
  const old = removeOldEngine(nodeRoot);
  if (old) notes.push(old);
  return { release, home, bin, files, changed, notes };
}
