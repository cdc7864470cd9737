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

const VAR = 'VKERNEL_TEST_TMPDIR';

function setup() {
  if (process.env[VAR]) return; // another project of the same jest run made it
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vk-run-${process.pid}-`));
  process.env[VAR] = dir;
  process.env.TMPDIR = dir;
  // the engine server the launcher's client starts (src/serve/server.ts): the run's own, stopped
  // at its end (a test that asks for none, or for another, sets its own)
  process.env.VKERNEL_ENGINE_SOCKET = path.join(dir, 'engine.sock');
}

/** SIGTERM to every engine server of this run's socket (found by its environment) */
function stopServers(socket) {
  const want = `VKERNEL_ENGINE_SOCKET=${socket}`;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('vkernel-serve')) continue;
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(want)) process.kill(Number(pid), 'SIGTERM');
    } catch { /* gone, or not ours to read */ }
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
  stopServers(path.join(dir, 'engine.sock'));
  const mounts = mountsBelow(dir);
  const why = keep || (mounts.length ? `mounted below it: ${mounts.join(', ')}` : '');
  if (why) {
    process.stderr.write(`test/global/tmp.cjs: kept ${dir} (${why})\n`);
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

module.exports = { setup, teardown, VAR };
