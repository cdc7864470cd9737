import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { CGROUP_ROOT } from './probe.js';
import type { CpuGroup } from './backends/backend.js';

/** the cgroup of a task for one v1 controller (or the v2 unified one), from /proc/<pid>/cgroup */
export function taskCgroup(pid: number | 'self', controller: string, proc = '/proc'): string | undefined {
  const text = readFileSync(`${proc}/${pid}/cgroup`, 'utf8');
  let unified: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') unified = m[3];
    else if (m[2].split(',').includes(controller)) return m[3];
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
 * The container's cgroup, relative to a hierarchy's root, as runc places it:
 * - cgroupfs driver: an absolute `cgroupsPath` is taken as is; a relative one nests under the
 *   runtime's own cgroup; none means `/<id>` under the runtime's own cgroup.
 * - systemd driver (`--systemd-cgroup`): `slice:prefix:name` → `<expanded slice>/<prefix>-<name>.scope`,
 *   none means `system.slice:runc:<id>`.
 * `..` and other escapes are rejected before anything is created.
 */
export function resolveCgroupPath(cgroupsPath: string | undefined, id: string, systemd: boolean, own = '/'): string {
  if (systemd) {
    const spec = cgroupsPath ?? `system.slice:runc:${id}`;
    const parts = spec.split(':');
    if (parts.length !== 3) throw new Error(`linux.cgroupsPath: ${JSON.stringify(spec)} is not slice:prefix:name (systemd cgroup driver)`);
    const [slice, prefix, name] = parts;
    checkPart(name, 'name');
    if (prefix) checkPart(prefix, 'prefix');
    const unit = name.endsWith('.slice') ? name : `${prefix ? `${prefix}-` : ''}${name}.scope`;
    return posix.join(expandSlice(slice || 'system.slice'), unit);
  }
  const raw = cgroupsPath ?? id;
  if (raw.includes('\0')) throw new Error('linux.cgroupsPath: contains NUL');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new Error(`linux.cgroupsPath: ${JSON.stringify(raw)} must not contain ".."`);
  const base = raw.startsWith('/') ? '/' : own;
  return posix.join(base, ...parts);
}

/** a cgroup in the cpu hierarchy (v1) or the unified one (v2), never outside the cgroup filesystem */
export function cpuGroup(rel: string, v2: boolean, root = CGROUP_ROOT): CpuGroup {
  const base = v2 ? root : join(root, 'cpu');
  const dir = join(base, rel);
  if (dir !== base && !dir.startsWith(`${base}/`)) throw new Error(`cgroup path ${rel} escapes ${base}`);
  return { base, dir };
}
