/**
 * The bun twin of null-server.c, for `npm run bench`'s second floor row: the same protocol and
 * answers (A, then R: runc with the caller's argv, then X "e:0" once the client reports runc's end),
 * through Bun.listen as the engine server listens (src/serve/listen.ts). What it costs over the C
 * server is bun's own part of every served call (its event loop, socket and JavaScript entry); what
 * the engine server costs over it is the engine's work. Bench use only: it checks nothing.
 *
 *   bun null-server.mjs SOCKET
 */
import { unlinkSync } from 'node:fs';

const path = process.argv[2];
try { unlinkSync(path); } catch { /* none */ }
const message = (type, payload = '') => {
  const body = Buffer.from(payload, 'latin1');
  const head = Buffer.alloc(5);
  head.write(type, 0, 1, 'latin1');
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
};
Bun.listen({
  unix: path,
  socket: {
    open(s) { s.data = Buffer.alloc(0); },
    data(s, chunk) {
      let buf = Buffer.concat([s.data, chunk]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32LE(1)) {
        const end = 5 + buf.readUInt32LE(1);
        const [type, payload] = [buf.toString('latin1', 0, 1), buf.subarray(5, end)];
        buf = buf.subarray(end);
        if (type === 'Q') {
          // protocol, engine, cwd, context, pid, argc, argv..., environment...
          const fields = payload.toString('latin1').split('\0');
          const argv = ['runc', ...fields.slice(6, 6 + Number(fields[5]))];
          s.write(message('A'));
          s.write(message('R', argv.map((a) => `${a}\0`).join('')));
        } else if (type === 'S') {
          s.write(message('X', 'e:0'));
          s.end();
        }
      }
      s.data = buf;
    },
    drain() {},
    close() {},
    error() {},
  },
});
