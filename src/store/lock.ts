import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkId } from './state.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock file (O_EXCL) holding the owner's pid. A lock whose owner is dead is stale and
 * taken over, so a killed runtime never wedges a container.
 */
export async function withLock<T>(root: string, name: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  checkId(name);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const file = join(root, `vkernel@${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try { owner = Number(readFileSync(file, 'utf8')); } catch { /* released meanwhile */ }
      if (owner > 0 && !alive(owner)) rmSync(file, { force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${file} (held by pid ${owner})`);
      else await sleep(delay);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
