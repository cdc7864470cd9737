/**
 * The engine server's socket (server.ts): a Unix stream socket that accepts connections and, per
 * connection, hands over the bytes that arrive and sends ours in order. Under bun (the compiled
 * engine, where the server runs) Bun.listen; elsewhere node:net (the same contract; a server run
 * by node, and the test double). node:net under bun is a stream layer over the same sockets:
 * ~0.5 ms more of the server's CPU per connection here, on the path of every served create.
 */

/** one accepted connection */
export interface Connection {
  /** its file descriptor, where the socket layer tells it (Bun's; node:net's: undefined) */
  readonly fd?: number;
  /** sends bytes after those sent before (kept here while the peer does not read) */
  write(bytes: Buffer): void;
  /** closes the connection once everything written has been sent */
  end(): void;
  /** closes it now */
  destroy(): void;
}

/** what one connection's events go to */
export interface ConnectionHandlers {
  data(chunk: Buffer): void;
  /** the connection is closed (by either end); called once */
  close(): void;
}

export interface Listener {
  /** stops accepting; the open connections go on */
  close(): void;
}

export type Accept = (c: Connection) => ConnectionHandlers;

/** the part of Bun's socket API used here */
interface BunSocket {
  readonly fd: number;
  write(bytes: Uint8Array): number;
  end(): void;
  terminate(): void;
  data: BunConnection | undefined;
}
interface BunListen {
  (o: { unix: string; socket: {
    open(s: BunSocket): void;
    data(s: BunSocket, chunk: Buffer): void;
    drain(s: BunSocket): void;
    close(s: BunSocket): void;
    error(s: BunSocket, e: Error): void;
  } }): { stop(closeActive?: boolean): void };
}

/**
 * A Bun socket writes what the kernel takes now and returns how much: the rest waits here, in
 * order, until the socket can take more (drain); end() waits for it too.
 */
export class BunConnection implements Connection {
  private queue: Buffer[] = [];
  private ending = false;
  handlers?: ConnectionHandlers;
  closed = false;
  readonly fd?: number;

  constructor(private readonly socket: Pick<BunSocket, 'write' | 'end' | 'terminate'> & Partial<Pick<BunSocket, 'fd'>>) {
    this.fd = socket.fd;
  }

  write(bytes: Buffer): void {
    if (this.closed || this.ending) return;
    this.queue.push(bytes);
    if (this.queue.length === 1) this.flush();
  }

  /** sends what waits, as far as the socket takes it; then the end, if asked for */
  flush(): void {
    while (this.queue.length) {
      const b = this.queue[0];
      const n = this.socket.write(b);
      if (n < b.length) {
        this.queue[0] = b.subarray(Math.max(n, 0));
        return;
      }
      this.queue.shift();
    }
    if (this.ending && !this.closed) this.socket.end();
  }

  end(): void {
    if (this.ending) return;
    this.ending = true;
    if (!this.queue.length && !this.closed) this.socket.end();
  }

  destroy(): void {
    this.queue = [];
    if (!this.closed) this.socket.terminate();
  }

  /** the socket closed: once */
  gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.handlers?.close();
  }
}

function listenBun(listen: BunListen, path: string, accept: Accept): Listener {
  const server = listen({
    unix: path,
    socket: {
      open(s) {
        const c = new BunConnection(s);
        s.data = c;
        c.handlers = accept(c);
      },
      data(s, chunk) {
        if (s.data && !s.data.closed) s.data.handlers?.data(chunk);
      },
      drain(s) { s.data?.flush(); },
      close(s) { s.data?.gone(); },
      error(s) { s.data?.gone(); },
    },
  });
  return { close: () => server.stop(false) };
}

async function listenNode(path: string, accept: Accept): Promise<Listener> {
  // node:net only here: the engine's other calls never load it
  const { createServer } = await import('node:net');
  const server = createServer((conn) => {
    const h = accept({ write: (b) => { conn.write(b); }, end: () => { conn.end(); }, destroy: () => { conn.destroy(); } });
    conn.on('data', (chunk: Buffer) => h.data(chunk));
    conn.on('error', () => { /* 'close' follows */ });
    conn.on('close', () => h.close());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => { server.off('error', reject); resolve(); });
  });
  return { close: () => { server.close(); } };
}

/** listens on the Unix socket `path` (which must not exist) */
export async function listenUnix(path: string, accept: Accept): Promise<Listener> {
  const listen = (globalThis as { Bun?: { listen?: BunListen } }).Bun?.listen;
  return typeof listen === 'function' ? listenBun(listen, path, accept) : listenNode(path, accept);
}
