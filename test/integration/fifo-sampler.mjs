// The observer of test/integration/rt-supervisor.test.ts: the share of time a task is SCHED_FIFO,
// read from /proc/<pid>/stat every millisecond by a process the test starts at SCHED_FIFO 50
// (`chrt -f 50`: above the supervised task, FIFO 1, below the supervisor and its sentinel, FIFO 99).
// A SCHED_OTHER sampler (the test's own jest process, as before) is starved on a loaded 2-CPU host
// exactly while the task holds a CPU as FIFO: it saw promotions late and missed whole FIFO parts of
// windows. Measured at load 10-15 (four busy loops beside the test): it read 9.9 %, 8.0 % and 0.4 %
// where the supervisor's cgroup accounting said 9.9 % of 2 CPUs (~20 % of the task's time).
//   fifo-sampler.mjs <pid> <ms>   prints one JSON line: {share, fifoMs, totalMs, samples, maxGapMs, lateMs, policy}
// lateMs: the time in gaps between samples longer than 2 ms, counted whole: a bound on what the
// sampler can have misread (it attributes each gap to the policy it saw at its start).
import { readFileSync } from 'node:fs';

const [pid, ms] = process.argv.slice(2).map(Number);
if (!(pid > 0) || !(ms > 0)) {
  process.stderr.write('usage: fifo-sampler.mjs PID MS\n');
  process.exit(2);
}
/** field 41 of /proc/<pid>/stat: 0 SCHED_OTHER, 1 SCHED_FIFO; -1 when the task is gone */
const policy = () => {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[38]);
  } catch {
    return -1;
  }
};
/** our own policy: the figures mean something only if we ran as FIFO */
const own = Number(readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ')[38]);
const nap = new Int32Array(new SharedArrayBuffer(4));
let fifo = 0;
let total = 0;
let samples = 0;
let maxGap = 0;
let late = 0;
let at = performance.now();
let was = policy();
// each sample counts for the time until the next one
for (const end = at + ms; at < end;) {
  Atomics.wait(nap, 0, 0, 1);
  const now = performance.now();
  const gap = now - at;
  if (was === 1) fifo += gap;
  total += gap;
  maxGap = Math.max(maxGap, gap);
  if (gap > 2) late += gap;
  samples++;
  at = now;
  was = policy();
}
process.stdout.write(`${JSON.stringify({ share: (fifo * 100) / total, fifoMs: fifo, totalMs: total, samples, maxGapMs: maxGap, lateMs: late, policy: own })}\n`);
