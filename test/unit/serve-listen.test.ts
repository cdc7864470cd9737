import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BunConnection, listenUnix } from '../../src/serve/listen.js';

const REPO = new URL('../../', import.meta.url).pathname;
const BUN = join(REPO, 'node_modules/@oven/bun-linux-x64/bin/bun');

/** a Bun socket that takes at most `take()` bytes per write, as the kernel's buffer allows */
function fakeSocket(take: () => number) {
  const sent: Buffer[] = [];
  const calls: string[] = [];
  return {
    sent, calls,
    socket: {
      write(b: Uint8Array) {
        const n = Math.min(take(), b.length);
        if (n > 0) sent.push(Buffer.from(b.subarray(0, n)));
        calls.push('write');
        return n;
      },
      end() { calls.push('end'); },
      terminate() { calls.push('terminate'); },
    },
  };
}

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) % 251));

describe('the engine server\'s connection under bun: the socket takes part of a write', () => {
  test('every byte goes out once, in order, across partial writes (0 and -1 included) and drains; the end after the last', () => {
    const takes = [3, 0, -1, 5, 100, 1, 0, 7];
    let k = 0;
    const f = fakeSocket(() => takes[k++ % takes.length]);
    const c = new BunConnection(f.socket);
    const msgs = [bytes(10, 1), bytes(1, 2), bytes(40, 3), bytes(0, 4), bytes(13, 5)];
    for (const m of msgs) c.write(m);
    c.end();
    c.write(bytes(5, 9)); // after end: dropped
    for (let i = 0; i < 100 && !f.calls.includes('end'); i++) c.flush(); // the socket's drain events
    expect(Buffer.concat(f.sent)).toEqual(Buffer.concat(msgs));
    expect(f.calls.filter((x) => x === 'end')).toHaveLength(1);
    expect(f.calls[f.calls.length - 1]).toBe('end');
  });

  test('the end waits for what is queued; nothing is written while an earlier write waits', () => {
    let room = 0;
    const f = fakeSocket(() => room);
    const c = new BunConnection(f.socket);
    c.write(Buffer.from('abc'));
    c.write(Buffer.from('def'));
    expect(f.calls).toEqual(['write']); // the second waits behind the first
    c.end();
    expect(f.calls).not.toContain('end');
    room = 100;
    c.flush();
    expect(Buffer.concat(f.sent).toString()).toBe('abcdef');
    expect(f.calls.slice(-1)).toEqual(['end']);
  });

  test('closed: the handlers hear it once; later writes, ends and drains do nothing', () => {
    const f = fakeSocket(() => 0);
    const c = new BunConnection(f.socket);
    let closes = 0;
    c.handlers = { data: () => {}, close: () => { closes++; } };
    c.write(Buffer.from('x'));
    c.gone();
    c.gone();
    c.write(Buffer.from('y'));
    c.end();
    c.flush();
    c.destroy();
    expect(closes).toBe(1);
    expect(f.calls).toEqual(['write']);
  });
});

/** a client of `path`: sends `send`, waits `pauseMs` before it reads, then reads to the end */
function client(path: string, send: Buffer[], pauseMs = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const s = connect(path);
    s.on('error', reject);
    s.pause();
    s.on('connect', () => {
      for (const b of send) s.write(b);
      setTimeout(() => s.resume(), pauseMs);
    });
    s.on('data', (b: Buffer) => got.push(b));
    s.on('end', () => { s.end(); resolve(Buffer.concat(got)); });
  });
}

describe('listenUnix', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vk-listen-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('under node: the bytes in, ours back in order, the end, one close per connection', async () => {
    const path = join(dir, 's.sock');
    let closes = 0;
    const l = await listenUnix(path, (c) => {
      const seen: Buffer[] = [];
      return {
        data: (b) => {
          seen.push(b);
          if (Buffer.concat(seen).length === 6) {
            c.write(Buffer.from('<'));
            c.write(Buffer.concat(seen));
            c.write(Buffer.from('>'));
            c.end();
          }
        },
        close: () => { closes++; },
      };
    });
    try {
      const [a, b] = await Promise.all([client(path, [Buffer.from('abc'), Buffer.from('def')]), client(path, [Buffer.from('123456')])]);
      expect([a.toString(), b.toString()]).toEqual(['<abcdef>', '<123456>']);
      for (let i = 0; i < 50 && closes < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(closes).toBe(2);
    } finally {
      l.close();
    }
  });

  test('under bun (Bun.listen, the compiled engine\'s): 4 MB to a client that reads late arrive whole and in order; the connection\'s peer is the client, as the kernel says (SO_PEERCRED)', async () => {
    const path = join(dir, 'b.sock');
    const script = `
      const { listenUnix } = await import(${JSON.stringify(join(REPO, 'src/serve/listen.ts'))});
      const peerOf = await (await import(${JSON.stringify(join(REPO, 'src/host/peer-cred.ts'))})).peerReader();
      const big = (seed) => Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + seed) % 251));
      let l;
      l = await listenUnix(${JSON.stringify(path)}, (c) => ({
        data() { console.log(JSON.stringify(peerOf(c.fd))); for (let k = 0; k < 4; k++) c.write(big(k)); c.end(); },
        close() { l.close(); console.log(typeof Bun.listen); },
      }));
      console.log('listening');`;
    const p = spawn(BUN, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => { out += b; });
    p.stderr.on('data', (b: Buffer) => { err += b; });
    const exited = new Promise<number | null>((r) => p.on('exit', r));
    for (let i = 0; i < 500 && !out.includes('listening'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(err).toBe('');
    const got = await client(path, [Buffer.from('go')], 300);
    const want = Buffer.concat([0, 1, 2, 3].map((k) => Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + k) % 251))));
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
    expect(await exited).toBe(0);
    // (the client: this process)
    expect(out.split('\n')).toEqual(['listening', JSON.stringify({ pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() }), 'function', '']);
  }, 30_000);
});
