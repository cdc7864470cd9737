import { closeSync, fstatSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileLocker } from './flock.js';
import { checkId } from './state.js';
import { profiling, record } from '../profile.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** points of an acquisition, for tests that kill a taker at each (LockOptions.at) */
export type LockStep = 'open' | 'opened' | 'locked' | 'held' | 'unlinked';

export interface LockOptions {
  /** give up after this long (default 60 s); 0: one attempt */
  timeoutMs?: number;
  /**
   * leave the file at its path on release (only the flock is dropped): a reader that found the
   * file left by a killed holder leaves it for the one whose job it is to clear it (delete)
   */
  keepFile?: boolean;
  /** test hook: called at each step of the acquisition and release */
  at?: (step: LockStep) => void | Promise<void>;
}

/** the lock file of `name` under `root` */
export const lockPath = (root: string, name: string) => join(root, `vkernel@${name}.lock`);

/** thrown when the lock stays held by another process until the deadline */
export class LockBusyError extends Error {}

/**
 * thrown by a lock holder's work that must leave the lock file at its path, as a killed holder
 * leaves it, so that `start` goes to the engine (or its server), which refuses the container, and
 * `delete` to the engine (bin/vkernel-runtime)
 */
export class LockFileStays extends Error {}

/**
 * thrown by a lock holder's work when the process it works for is gone (the engine server's
 * client, killed mid-create): its lock file stays
 */
export class HolderGone extends LockFileStays {}

/**
 * Runs `fn` holding the exclusive lock `name` under `root` (a container id, or a host-wide name
 * such as `rt-budget`).
 *
 * The lock is a flock(2) on `vkernel@<name>.lock`, so the kernel releases it when its holder dies
 * however it dies (SIGKILL included): there is no owner pid to judge alive or dead, so no stale
 * takeover race, no empty file that wedges, no reused pid that keeps a dead lock alive. A taker:
 *   1. opens (creating) the file — a file left by anyone is simply opened and locked;
 *   2. tries flock(LOCK_EX|LOCK_NB), polling with backoff until the deadline;
 *   3. checks that the path still names the inode it locked (fstat vs stat). The holder unlinks the
 *      file while it still holds the lock, so a taker that opened the old file before that unlink
 *      gets the lock on an inode no path names any more: it closes and starts again on the path.
 * Why this excludes: a path only changes (unlink) under the lock of the inode it names, so once a
 * taker has locked inode I and seen the path name I, the path keeps naming I until that taker
 * unlinks it, and every other taker either waits on I or holds a lock on an unnamed inode, which
 * step 3 rejects.
 * The fd is opened O_CLOEXEC (node and bun both do), so runc and helpers started under the lock
 * never inherit it. The file stays empty: nothing in it is evidence of anything (and writing a
 * pid cost ~4 ms per lock here: a data block allocated, then discarded at unlink). Release:
 * unlink, then close (which drops the lock).
 */
export async function withLock<T>(root: string, name: string, fn: () => Promise<T>, options: number | LockOptions = {}): Promise<T> {
  const o = typeof options === 'number' ? { timeoutMs: options } : options;
  checkId(name);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const file = lockPath(root, name);
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  const t0 = profiling() ? performance.now() : 0;
  const locker = await fileLocker();
  let fd: number | undefined;
  for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
    await o.at?.('open');
    const f = openSync(file, 'a+', 0o600);
    let mine = false;
    try {
      await o.at?.('opened');
      if (await locker.tryLock(f)) {
        await o.at?.('locked');
        mine = sameFile(f, file);
        if (mine) fd = f;
      }
    } finally {
      if (!mine) closeSync(f);
    }
    if (fd !== undefined) {
      if (t0) record(name === 'rt-budget' ? 'lock rt-budget' : 'lock', performance.now() - t0);
      break;
    }
    if (Date.now() >= deadline) throw new LockBusyError(`timed out waiting for lock ${file} (another process holds it: fuser ${file} shows which)`);
    await sleep(delay);
  }
  let stays = false;
  try {
    await o.at?.('held');
    return await fn();
  } catch (e) {
    stays = e instanceof LockFileStays;
    throw e;
  } finally {
    if (!o.keepFile && !stays) try { unlinkSync(file); } catch { /* cannot happen while we hold it; nothing to clean then */ }
    await o.at?.('unlinked');
    closeSync(fd);
  }
}

/** whether `path` still names the file open on `fd` */
function sameFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false; // unlinked meanwhile
  }
}
