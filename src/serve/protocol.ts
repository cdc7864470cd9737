/**
 * The engine server's messages (client/vkernel-client.c has the other end): one type byte, a 32-bit
 * little-endian length, the payload. The request's fields are NUL-terminated strings (argv and the
 * environment cannot hold a NUL), so nothing is escaped or quoted anywhere.
 */
export const PROTOCOL = 'vkernel-serve-3';
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

/** a call as the client sends it (the Q message) */
export interface Wire {
  /** the engine executable the client would exec instead */
  engine: string;
  cwd: string;
  /** the caller's argv after the program name */
  argv: string[];
  /** the caller's environment (what parseRequest kept of it) */
  env: Record<string, string>;
}

/**
 * a call with its caller as the kernel names it (serve/caller.ts): not what the client says of
 * itself, which any process able to connect could make up
 */
export interface Request extends Wire {
  /** the caller's umask, namespaces, resource limits and credentials (contextOf's form) */
  context: string;
  /** the caller's pid (the owner our state records) */
  pid: number;
}

/**
 * the Q message's payload: protocol, engine, cwd, argc, argv..., NAME=value...; of the environment
 * only the variables `keep` names, when given (a caller's environment can hold hundreds: npm's, a
 * CI's; each kept one is a property made)
 */
export function parseRequest(payload: Buffer, keep?: ReadonlySet<string>): Wire {
  const fields = payload.toString('utf8').split('\0');
  if (fields.pop() !== '') throw new Error('request not NUL-terminated');
  const [protocol, engine, cwd, count] = fields;
  const HEAD = 4;
  if (protocol !== PROTOCOL) throw new Error(`protocol ${JSON.stringify(protocol)}, not ${PROTOCOL}`);
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
  return { engine: engine ?? '', cwd: cwd ?? '', argv: fields.slice(HEAD, HEAD + argc), env };
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
