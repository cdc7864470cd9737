import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Every --root our state was ever written under, one file per root (named by the root's path,
 * base64url), so `gc` finds leftovers in roots no fixed list knows (a custom containerd or CRI-O
 * root, a test's temp root). Registered on the first state write of a process; pruned by gc when
 * the root is gone.
 */
export const ROOTS_DIR = process.env.VKERNEL_ROOTS_DIR ?? '/run/vkernel-runtime/roots';

const registered = new Set<string>();

export function registerRoot(root: string): void {
  const abs = resolve(root);
  if (registered.has(abs)) return;
  registered.add(abs);
  const name = Buffer.from(abs).toString('base64url');
  if (name.length > 255) return; // a root this long is found by --root only
  const file = join(ROOTS_DIR, name);
  if (existsSync(file)) return;
  try {
    mkdirSync(ROOTS_DIR, { recursive: true, mode: 0o700 });
    writeFileSync(file, abs, { flag: 'wx', mode: 0o600 });
  } catch { /* EEXIST: another process registered it; anything else: --root still finds it */ }
}

/** the registered roots that still exist (the others are dropped from the registry) */
export function registeredRoots(prune = true): string[] {
  let names: string[];
  try {
    names = readdirSync(ROOTS_DIR);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const file = join(ROOTS_DIR, n);
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
