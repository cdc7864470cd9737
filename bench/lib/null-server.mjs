/**
 * The bun twin of null-server.c, for `npm run bench`'s second floor row: the same answers (A with
 * R, in one write: runc with the caller's argv; then X "e:0" once the client reports runc's end),
 * through the engine server's own socket layer and message framing (src/serve/listen.ts,
 * protocol.ts), run by the bun the engine is compiled with. What it costs over the C server is
 * bun's own part of every served call (its event loop, socket and JavaScript entry); what the
 * engine server costs over it is the engine's work. With `hand-over`: A then Y (the client becomes
 * runc), as null-server.c. Bench use only: it checks nothing.
 *
 *   bun null-server.mjs SOCKET [hand-over]
 */
import { unlinkSync } from 'node:fs';
import { listenUnix } from '../../src/serve/listen.ts';
import { Decoder, encode, parseRequest, runPayload } from '../../src/serve/protocol.ts';

const NONE = new Set();

const path = process.argv[2];
const handOver = process.argv[3] === 'hand-over';
try { unlinkSync(path); } catch { /* none */ }
await listenUnix(path, (conn) => {
  const dec = new Decoder();
  return {
    data(chunk) {
      for (const m of dec.push(chunk)) {
        if (m.type === 'Q') {
          const { argv } = parseRequest(m.payload, NONE); // (of the environment: nothing)
          conn.write(Buffer.concat([encode('A'), encode(handOver ? 'Y' : 'R', runPayload(['runc', ...argv]))]));
        } else if (m.type === 'S') {
          conn.write(encode('X', 'e:0'));
          conn.end();
        }
      }
    },
    close() {},
  };
});
