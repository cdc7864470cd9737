import { limitLines, RLIMIT_NOFILE } from '../host/limits.js';

/**
 * The engine server's messages (client/vkernel-client.c has the other end): one type byte, a 32-bit
 * little-endian length, the payload. The request's fields are NUL-terminated strings (argv and the
 * environment cannot hold a NUL), so nothing is escaped or quoted anywhere.
 */
export const PROTOCOL = 'vkernel-serve-1';
/** a message longer than this ends the connection (the client's limit too) */
export const MAX_MESSAGE = 16 << 20;

export interface Message { type: string; payload: Buffer }

export function encode(type: string, payload: Buffer | string = ''): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(5);
  head.write(type, 0, 1, 'latin1');
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** splits a byte stream into messages; throws on one longer than MAX_MESSAGE */
export class Decoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Message[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Message[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32LE(1);
      if (len > MAX_MESSAGE) throw new Error(`message of ${len} bytes`);
      if (this.buf.length < 5 + len) break;
      out.push({ type: this.buf.toString('latin1', 0, 1), payload: this.buf.subarray(5, 5 + len) });
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}

export interface Request {
  /** the engine executable the client would exec instead */
  engine: string;
  cwd: string;
  /** the caller's umask and namespaces (ownContext's form) */
  context: string;
  /** the client's pid (the caller: the owner our state records) */
  pid: number;
  /** the caller's argv after the program name */
  argv: string[];
  /** the caller's environment (what parseRequest kept of it) */
  env: Record<string, string>;
}

/**
 * the Q message's payload: protocol, engine, cwd, context, pid, argc, argv..., NAME=value...; of the
 * environment only the variables `keep` names, when given (a caller's environment can hold
 * hundreds: npm's, a CI's; each kept one is a property made)
 */
export function parseRequest(payload: Buffer, keep?: ReadonlySet<string>): Request {
  const fields = payload.toString('utf8').split('\0');
  if (fields.pop() !== '') throw new Error('request not NUL-terminated');
  const [protocol, engine, cwd, context, pidText, count] = fields;
  const HEAD = 6;
  if (protocol !== PROTOCOL) throw new Error(`protocol ${JSON.stringify(protocol)}, not ${PROTOCOL}`);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad pid ${JSON.stringify(pidText)}`);
  const argc = Number(count);
  if (!Number.isInteger(argc) || argc < 0 || argc > fields.length - HEAD) throw new Error(`bad argument count ${JSON.stringify(count)}`);
  // last to first, so that the first of a name wins (as getenv finds it); no prototype, so that any
  // name is a name (Object.hasOwn per variable was ~10 % of the server's JavaScript time)
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = fields.length - 1; i >= HEAD + argc; i--) {
    const kv = fields[i];
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    const name = kv.slice(0, eq);
    if (!keep || keep.has(name)) env[name] = kv.slice(eq + 1);
  }
  return { engine: engine ?? '', cwd: cwd ?? '', context: context ?? '', pid, argv: fields.slice(HEAD, HEAD + argc), env };
}

/** how the client's runc ended (the S message): an exit code, a signal, or an exec failure */
export type RuncEnd = { code: number } | { signal: number } | { execError: string };

export function parseEnd(payload: Buffer): RuncEnd {
  const s = payload.toString('utf8');
  const n = /^[es]:[0-9]{1,3}$/.test(s) ? Number(s.slice(2)) : -1;
  if (s.startsWith('e:') && n >= 0) return { code: n };
  if (s.startsWith('s:') && n > 0) return { signal: n };
  if (s.startsWith('x:')) return { execError: s.slice(2) };
  throw new Error(`bad end of runc ${JSON.stringify(s)}`);
}

/** the R message's payload: argv, NUL-terminated each */
export const runPayload = (argv: readonly string[]): string => argv.map((a) => `${a}\0`).join('');

/**
 * /proc/self/limits (`procLimits`) as the client writes its resource limits: `rlimits=` and soft:hard
 * per resource, in RLIMIT_* order (the kernel's lines), `u` for unlimited; the open files' soft limit
 * as `*`: the server's is bun's (raised to the hard one, for the calls it serves at once), runc is
 * run by the client with the caller's, and the helpers the server starts may have more
 */
export function rlimitsOf(procLimits: string): string {
  const v = (x = '?') => (x === 'unlimited' ? 'u' : x);
  return `rlimits=${limitLines(procLimits).map(([, soft, hard], i) => `${i === RLIMIT_NOFILE ? '*' : v(soft)}:${v(hard)}`).join(',')}`;
}

/** the lines of /proc/self/status that name a process's credentials */
const CREDENTIALS = new Set(['Uid', 'Gid', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters']);
const words = (s: string, sep: string) => s.trim().split(/\s+/).filter(Boolean).join(sep);

/**
 * the credentials the engine runs with, as the client writes its own: uids, gids, capability sets,
 * no_new_privs and seccomp from /proc/self/status (`status`; each line's words joined by '.', the
 * lines by ','), and the LSM label (/proc/self/attr/current; undefined or empty: none, '-')
 */
export function credentialsOf(status: string, lsm: string | undefined): string {
  const lines = status.split('\n').flatMap((l) => {
    const colon = l.indexOf(':');
    return colon > 0 && CREDENTIALS.has(l.slice(0, colon)) ? [words(l.slice(colon + 1), '.')] : [];
  });
  return `creds=${lines.join(',')} lsm=${words(lsm?.split('\n')[0] ?? '', '_') || '-'}`;
}

/** the namespaces a context names, in its order */
const NAMESPACES = ['mnt', 'pid', 'cgroup'];

/** this process's own, as the server compares a caller's: what ownContext is made of */
export interface OwnFacts {
  umask: number;
  nsLink: (name: string) => string;
  /** /proc/self/limits */
  limits: string;
  /** /proc/self/status */
  status: string;
  /** /proc/self/attr/current (undefined: no LSM) */
  lsm: string | undefined;
}

/**
 * this process's umask, mount, pid and cgroup namespaces, resource limits (rlimitsOf) and
 * credentials (credentialsOf), as the client writes its own
 */
export function ownContext(o: OwnFacts): string {
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
