// The engine servers running (src/serve/server.ts), each with the socket its command line names
// (`vkernel-serve SOCKET`: the client that started it computed the socket). CommonJS, so that the
// test run's global teardown (test/global/tmp.cjs, which jest loads as CommonJS) and the benches'
// ES modules (server.mjs) read /proc one way.
'use strict';
const fs = require('node:fs');

/**
 * every `vkernel-serve` process's socket, by pid
 * @returns {Map<number, string>}
 */
function serverSockets() {
  const out = new Map();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(p)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('vkernel-serve');
      if (at > 0) out.set(Number(p), argv[at + 1] ?? '');
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

module.exports = { serverSockets };
