import { readFileSync, readlinkSync } from 'node:fs';
import { limitLines, RLIMIT_NOFILE } from '../host/limits.js';

/*
 * A process's context, as the engine server (server.ts) compares its caller's with its own: both
 * read by the server from /proc (the caller's through serve/caller.ts), never taken from a client.
 */

/**
 * /proc/PID/limits (`procLimits`) as a context writes the resource limits: `rlimits=` and soft:hard
 * per resource, in RLIMIT_* order (the kernel's lines), `u` for unlimited; the open files' soft limit
 * as `*`: the server's is bun's (raised to the hard one, for the calls it serves at once), runc is
 * run by the client with the caller's, and the helpers the server starts may have more
 */
export function rlimitsOf(procLimits: string): string {
  const v = (x: string) => (x === 'unlimited' ? 'u' : x);
  return `rlimits=${limitLines(procLimits).map(([, soft, hard], i) => `${i === RLIMIT_NOFILE ? '*' : v(soft)}:${v(hard)}`).join(',')}`;
}

/** the lines of /proc/PID/status that name a process's credentials: their values */
const CREDENTIALS = /^(?:Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):(.*)$/gm;
const words = (s: string, sep: string) => s.trim().replace(/\s+/g, sep);

/**
 * the credentials a process runs with: uids, gids, capability sets, no_new_privs and seccomp from
 * /proc/PID/status (`status`; each line's words joined by '.', the lines by ','), and the LSM label
 * (/proc/PID/attr/current; undefined or empty: none, '-')
 */
export function credentialsOf(status: string, lsm: string | undefined): string {
  const values: string[] = [];
  for (const [, value] of status.matchAll(CREDENTIALS)) values.push(words(value, '.'));
  return `creds=${values.join(',')} lsm=${words(lsm?.split('\n')[0] ?? '', '_') || '-'}`;
}

/** the namespaces a context names, in its order */
const NAMESPACES = ['mnt', 'pid', 'cgroup'];

/** what contextOf is made of: a process's files under /proc/PID (procFacts) */
export interface ProcFacts {
  umask: number;
  nsLink: (name: string) => string;
  /** /proc/PID/limits */
  limits: string;
  /** /proc/PID/status */
  status: string;
  /** /proc/PID/attr/current (undefined: no LSM) */
  lsm: string | undefined;
}

/**
 * the facts of the process whose /proc directory is `dir` (/proc/self, /proc/PID); throws when it is
 * gone. `lsm` false: the LSM label is not read (none: the host has no LSM that gives one, as the
 * server's own read found: LSMs are chosen at boot, so then no process has a label, and each read
 * would only fail)
 */
export function procFacts(dir: string, lsm = true): ProcFacts {
  const status = readFileSync(`${dir}/status`, 'utf8');
  const umask = /^Umask:\s*([0-7]+)$/m.exec(status);
  if (!umask) throw new Error(`${dir}/status has no Umask line`);
  let label: string | undefined;
  if (lsm) try { label = readFileSync(`${dir}/attr/current`, 'utf8'); } catch { /* no LSM */ }
  return { umask: parseInt(umask[1], 8), nsLink: (ns) => readlinkSync(`${dir}/ns/${ns}`), limits: readFileSync(`${dir}/limits`, 'utf8'), status, lsm: label };
}

/**
 * a process's umask, mount, pid and cgroup namespaces, resource limits (rlimitsOf) and credentials
 * (credentialsOf): what the engine a caller would exec runs with, which the server's own must equal
 * for a call to be served
 */
export function contextOf(o: ProcFacts): string {
  return [`umask=${o.umask.toString(8).padStart(3, '0')}`, ...NAMESPACES.map(o.nsLink), rlimitsOf(o.limits), credentialsOf(o.status, o.lsm)].join(' ');
}

/** what a caller's context has otherwise than `ours`: its first field that differs, named */
export function otherContext(theirs: string, ours: string): string | undefined {
  if (theirs === ours) return undefined;
  const a = theirs.split(' ');
  const b = ours.split(' ');
  const i = a.findIndex((f, k) => f !== b[k]);
  const field = i < 0 ? '' : a[i];
  const name = field.split(/[:=]/)[0];
  if (name === 'umask') return `another umask (${field})`;
  if (name === 'rlimits') return `other resource limits (${field})`;
  if (name === 'creds' || name === 'lsm') return `other credentials (${field})`;
  if (NAMESPACES.includes(name)) return `another ${name} namespace (${field})`;
  return `another context (${theirs})`;
}
