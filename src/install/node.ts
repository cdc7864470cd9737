import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** where a node keeps the runtime: releases side by side, `current` pointing at one */
export const NODE_HOME = '/opt/vkernel-runtime';
export const NODE_BIN = '/usr/local/bin/vkernel-runtime';

/**
 * The files a node needs to run containers: the launcher, the compiled engine beside it in dist/
 * (where the launcher looks: `<home>/dist/vkernel-engine`, home = the launcher's resolved
 * location), and the module source (built on the node against its kernel, found by the engine at
 * `<home>/modules/vkernel`). The admin commands (node + dist/src) stay in the installer image.
 */
function payload(from: string): string[] {
  const engine = join(from, 'dist/vkernel-engine');
  if (!existsSync(engine)) throw new Error(`${engine} is missing: build the runtime first (npm run build) — nothing was changed`);
  const mod = join(from, 'modules/vkernel');
  const sources = existsSync(mod) ? readdirSync(mod).filter((n) => /^(Kbuild|Makefile)$|\.[ch]$/.test(n)).map((n) => `modules/vkernel/${n}`) : [];
  if (!sources.length) throw new Error(`${mod}: no module source to ship — nothing was changed`);
  return ['bin/vkernel-runtime', 'dist/vkernel-engine', ...sources];
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

export interface NodeInstall { release: string; home: string; bin: string; files: string[]; changed: boolean }

/**
 * Copies this installation onto a node under `nodeRoot` (the Kubernetes installer runs with the
 * node's / at /host): `<root>/opt/vkernel-runtime/releases/<hash>/...`, `current` → that release,
 * `<root>/usr/local/bin/vkernel-runtime` → `../../../opt/vkernel-runtime/current/bin/vkernel-runtime`
 * (relative links: right on the node and under any root). Each switch is one rename, so a runtime
 * call during an upgrade runs the old release or the new one, never half of each. Older releases
 * than the previous one are removed.
 */
export function installNode(from: string, nodeRoot: string): NodeInstall {
  const files = payload(from);
  const h = createHash('sha256');
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
  const target = relative(dirname(NODE_BIN), join(NODE_HOME, 'current/bin/vkernel-runtime'));
  try {
    if (lstatSync(bin).isSymbolicLink() ? readlinkSync(bin) !== target : true) changed = true;
  } catch { changed = true; }
  link(target, bin);
  // keep the release before this one (calls in flight may still use it), drop older ones
  const keep = new Set([release, previous?.replace(/^releases\//, '')]);
  for (const r of readdirSync(join(home, 'releases'))) if (!keep.has(r)) rmSync(join(home, 'releases', r), { recursive: true, force: true });
  return { release, home, bin, files, changed };
}
