import { run } from '../host/spawn.js';
import { closeSync, existsSync, fchmodSync, fchownSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

const BACKUP = '.vkernel-backup-';

/** the file's text, or undefined when it does not exist */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** mode and owner of a file, or undefined when it does not exist */
function ownership(path: string): { mode: number; uid: number; gid: number } | undefined {
  try {
    const st = statSync(path);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * write temp, fsync, rename. The new file gets the mode and owner of `like` (default: the file it
 * replaces; a config that was 0600 stays 0600), else `mode`.
 */
export function atomicWrite(path: string, text: string, o: { like?: string; mode?: number } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const keep = ownership(o.like ?? path);
  const tmp = `${path}.vkernel-tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    if (keep) {
      fchownSync(fd, keep.uid, keep.gid);
      fchmodSync(fd, keep.mode);
    } else {
      fchmodSync(fd, o.mode ?? 0o644);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** keeps the current file as `<path>.vkernel-backup-<timestamp>` (same mode and owner); returns the backup's path */
export function backup(path: string, text: string): string {
  const b = `${path}${BACKUP}${new Date().toISOString().replace(/[:.]/g, '-')}`;
  atomicWrite(b, text, { like: path });
  return b;
}

/** the newest backup of path, if any */
export function latestBackup(path: string): string | undefined {
  const dir = dirname(path);
  if (!existsSync(dir)) return undefined;
  const prefix = `${basename(path)}${BACKUP}`;
  const all = readdirSync(dir).filter((f) => f.startsWith(prefix)).sort();
  return all.length ? join(dir, all[all.length - 1]) : undefined;
}

/** unified diff between two texts (diffutils), for --dry-run */
export async function diff(path: string, before: string | undefined, after: string | undefined): Promise<string> {
  // private and unpredictable: a fixed /tmp name could be a symlink someone else planted
  const dir = mkdtempSync(join(tmpdir(), 'vkernel-diff-'));
  try {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    atomicWrite(a, before ?? '');
    atomicWrite(b, after ?? '');
    const r = await run('diff', ['-u', '--label', `${path} (now)`, '--label', `${path} (after)`, a, b]);
    return r.stdout.replace(/\n$/, '') || '(no change)';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Change {
  path: string;
  before?: string;
  /** undefined: remove the file */
  after?: string;
  /** mode of a file the change creates (an existing file keeps its own) */
  mode?: number;
  /** what to tell the user to run next */
  next?: string;
  message: string;
}

/** Applies a change: backup (when the file exists and changes), atomic write or removal. */
export function commit(c: Change): string | undefined {
  if (c.before === c.after) return undefined;
  const b = c.before !== undefined ? backup(c.path, c.before) : undefined;
  if (c.after === undefined) rmSync(c.path, { force: true });
  else atomicWrite(c.path, c.after, { mode: c.mode });
  return b;
}
