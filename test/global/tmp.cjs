// A temporary directory of the test run's own: globalSetup makes <tmpdir>/vk-run-<pid>-XXXXXX and
// points TMPDIR at it, so every mkdtemp of the tests (bundles, runc roots, lock and config dirs,
// VM payloads; os.tmpdir() reads TMPDIR at each call) and of the programs they start lands there;
// globalTeardown removes it. Kept, with a line saying so, when the run left something behind (the
// leftover check's finding is in it) or when anything is mounted below it (a removal must not
// reach through a mount a failed test left).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { serverSockets } = require('../../bench/lib/servers.cjs');

const VAR = 'VKERNEL_TEST_TMPDIR';

function setup() {
  if (process.env[VAR]) return; // another project of the same jest run made it
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vk-run-${process.pid}-`));
  process.env[VAR] = dir;
  process.env.TMPDIR = dir;
  // the engine servers the launcher's client starts (src/serve/server.ts): the run's own, one per
  // kind of caller in a directory of the run's, as the default /run/vkernel-runtime/ has them
  // (client/vkernel-client.c default_socket), stopped at its end (a test that asks for none, or for
  // another, sets its own)
  process.env.VKERNEL_ENGINE_SOCKET = `${path.join(dir, 'sockets')}/`;
}

/** the engine servers on a socket in `sockets` (the one its command line names) */
function serversIn(sockets) {
  return [...serverSockets()].flatMap(([pid, socket]) => (socket.startsWith(sockets) ? [pid] : []));
}

/**
 * SIGTERM to every engine server of the run's, until none is left (up to 5 s): one a last create
 * started may still be starting, and would write its socket's lock file into a directory being removed
 */
function stopServers(sockets) {
  const end = Date.now() + 5000;
  for (let quiet = 0; quiet < 3 && Date.now() < end;) {
    const pids = serversIn(sockets);
    for (const pid of pids) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    }
    quiet = pids.length ? 0 : quiet + 1;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

const unescapeMount = (s) => s.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));

/** mount points at or below dir, in this process's mount namespace */
function mountsBelow(dir) {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => unescapeMount(l.split(' ')[4] || ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** removes the run's directory unless keep names why not */
function teardown(keep) {
  const dir = process.env[VAR];
  if (!dir || !fs.existsSync(dir)) return;
  stopServers(`${path.join(dir, 'sockets')}/`);
  const mounts = mountsBelow(dir);
  const why = keep || (mounts.length ? `mounted below it: ${mounts.join(', ')}` : '');
  if (why) {
    process.stderr.write(`test/global/tmp.cjs: kept ${dir} (${why})\n`);
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

module.exports = { setup, teardown, VAR };
