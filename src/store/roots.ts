import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Every --root our state was ever written under, one file per root (named by the root's path,
 * base64url) in the registry directory `dir` (RuntimeEnv.rootsDir), so `gc` finds leftovers in
 * roots no fixed list knows (a custom containerd or CRI-O root, a test's temp root). Registered on
 * each state write whose root's entry is missing (one stat: no per-process memo, which a long-lived
 * engine server would keep after gc pruned the entry of a root removed and made again); pruned by
 * gc when the root is gone.
 */
export function registerRoot(dir: string, root: string): void {
  const abs = resolve(root);
  const name = Buffer.from(abs).toString('base64url');
  if (name.length > 255) return; // a root this long is found by --root only
  const file = join(dir, name);
  if (existsSync(file)) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, abs, { flag: 'wx', mode: 0o600 });
  } catch { /* EEXIST: another process registered it; anything else: --root still finds it */ }
}

/** the registered roots that still exist (the others are dropped from the registry) */
export function registeredRoots(dir: string, prune = true): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const file = join(dir, n);
    let root: string;
    try {
      root = readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    if (existsSync(root)) return [root];
    if (prune) rmSync(file, { force: true });
    return [];
  });
}
