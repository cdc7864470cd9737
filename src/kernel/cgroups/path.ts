import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

/**
 * Where runc puts a container's cgroup, and where a task is: the rules shared by the cgroup
 * implementations (v1.ts, v2.ts, systemd.ts). Pure functions of their arguments (and of
 * /proc/<pid>/cgroup for taskCgroup).
 */

/** the cgroup of a task for one v1 controller (or, with '' or no such line, the v2 unified one), from /proc/<pid>/cgroup */
export function taskCgroup(pid: number | 'self', controller: string, proc = '/proc'): string | undefined {
  const text = readFileSync(`${proc}/${pid}/cgroup`, 'utf8');
  let unified: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') unified = m[3];
    else if (controller && m[2].split(',').includes(controller)) return m[3];
  }
  return unified;
}

function checkPart(part: string, what: string): void {
  if (part === '' || part === '.' || part === '..' || part.includes('/') || part.includes('\0')) {
    throw new Error(`linux.cgroupsPath: invalid ${what} ${JSON.stringify(part)} (no "..", "/" or empty parts)`);
  }
}

/** systemd's slice expansion: `a-b.slice` → `/a.slice/a-b.slice` */
export function expandSlice(slice: string): string {
  if (slice === '' || slice === '-.slice') return '/';
  if (!slice.endsWith('.slice') || slice.includes('/') || slice.includes('--') || slice.startsWith('-')) {
    throw new Error(`linux.cgroupsPath: invalid systemd slice ${JSON.stringify(slice)}`);
  }
  const name = slice.slice(0, -'.slice'.length);
  let path = '';
  let prefix = '';
  for (const part of name.split('-')) {
    prefix = prefix ? `${prefix}-${part}` : part;
    path += `/${prefix}.slice`;
  }
  return path;
}

/**
 * cgroupfs driver: an absolute `cgroupsPath` is taken as is; a relative one nests under the
 * runtime's own cgroup (`own`); none means `/<id>` under it. `..` is rejected.
 */
export function cgroupfsPath(cgroupsPath: string | undefined, id: string, own = '/'): string {
  const raw = cgroupsPath ?? id;
  if (raw.includes('\0')) throw new Error('linux.cgroupsPath: contains NUL');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new Error(`linux.cgroupsPath: ${JSON.stringify(raw)} must not contain ".."`);
  const base = raw.startsWith('/') ? '/' : own;
  return posix.join(base, ...parts);
}

/**
 * systemd driver (`--systemd-cgroup`): `slice:prefix:name` → `<expanded slice>/<prefix>-<name>.scope`
 * (a name ending in .slice is a slice itself); none means `system.slice:runc:<id>`.
 */
export function systemdPath(cgroupsPath: string | undefined, id: string): string {
  const spec = cgroupsPath ?? `system.slice:runc:${id}`;
  const parts = spec.split(':');
  if (parts.length !== 3) throw new Error(`linux.cgroupsPath: ${JSON.stringify(spec)} is not slice:prefix:name (systemd cgroup driver)`);
  const [slice, prefix, name] = parts;
  checkPart(name, 'name');
  if (prefix) checkPart(prefix, 'prefix');
  const unit = name.endsWith('.slice') ? name : `${prefix ? `${prefix}-` : ''}${name}.scope`;
  return posix.join(expandSlice(slice || 'system.slice'), unit);
}

/** The container's cgroup, relative to a hierarchy's root, as runc places it (either driver). */
export function resolveCgroupPath(cgroupsPath: string | undefined, id: string, systemd: boolean, own = '/'): string {
  return systemd ? systemdPath(cgroupsPath, id) : cgroupfsPath(cgroupsPath, id, own);
}
