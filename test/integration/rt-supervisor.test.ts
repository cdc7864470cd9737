// The rt v2 supervisor (vkernel-rt-supervise, src/supervisor/) on this host's real cgroup v2
// hierarchy and real tasks: the engine as installed, a busy task in a cgroup2 group, its policy read
// from /proc while the supervisor runs. The whole backend through runc on Debian's stock kernel is
// the VM tier's (test/vm/rt-v2.test.ts); this shows the supervisor's figures on real CPUs.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, type Prerequisite } from '../helpers/prereq.js';
import { requireRoot, RUNTIME, uid } from '../helpers/fixtures.js';
import { taskPolicy } from '../../src/kernel/backends/rt-v2.js';
import { startTime, statFields } from '../../src/store/proc.js';

/** the cgroup v2 hierarchy: /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified on a hybrid one */
const V2 = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'].find((d) => existsSync(join(d, 'cgroup.controllers')));
/** SCHED_FIFO is allowed for our tasks: no RT group scheduling on the v2 hierarchy, and our v1 cpu group (if any) has an RT budget */
function fifoAllowed(): boolean {
  const cpu = /^\d+:(?:[^:]*,)?cpu(?:,[^:]*)?:(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  if (cpu === undefined) return true;
  try {
    return Number(readFileSync(join('/sys/fs/cgroup/cpu', cpu, 'cpu.rt_runtime_us'), 'utf8')) > 0;
  } catch {
    return false;
  }
}
const HOST: Prerequisite = {
  name: 'a cgroup v2 hierarchy in which a task may be SCHED_FIFO',
  ok: V2 !== undefined && fifoAllowed(),
  how: 'cgroup2 mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified, and an RT budget on our v1 cpu group where RT group scheduling is on',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const policy = (pid: number) => taskPolicy(pid) ?? -1;
/** the start time of a process that must be there */
const startOf = (pid: number) => { const s = startTime(pid); if (s === undefined) throw new Error(`process ${pid} is gone`); return s; };
const procsOf = (dir: string) => { try { return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number); } catch { return []; } };
const cmdOf = (pid: number) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '); } catch { return ''; } };
/** the processes in a supervisor's group that are its supervisor (not its sentinel) */
const supervisorsIn = (own: string) => procsOf(own).filter((p) => cmdOf(p).includes('vkernel-rt-supervise') && !cmdOf(p).includes('"role":"sentinel"'));
const sentinelsIn = (own: string) => procsOf(own).filter((p) => cmdOf(p).includes('"role":"sentinel"'));
/** CPU time (user + system) of a process, ms (/proc/<pid>/stat fields 14 and 15, in clock ticks of 10 ms) */
const cpuMs = (pid: number) => statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'), 14, 15).reduce((ms, t) => ms + Number(t) * 10, 0);
/** the supervisor's CPU time per 100 ms window over `ms`, read by the kernel's accounting (not its own) */
async function supervisorCpu(pid: number, ms: number): Promise<number> {
  const c0 = cpuMs(pid);
  const t0 = performance.now();
  await sleep(ms);
  return ((cpuMs(pid) - c0) * 100) / (performance.now() - t0);
}
/**
 * The share of `ms` during which `pid` was SCHED_FIFO, by an observer that is not starved: a
 * sampler at SCHED_FIFO 50 (test/integration/fifo-sampler.mjs, which says why), reading the task's
 * policy every ms. Fails when the sampler was not FIFO, or when its gaps longer than 2 ms (what it
 * may have misread) add up to more than 5 % of the time: the reading could then be off by more than
 * 5 points (a single pause of 24 ms was seen once: 0.8 % of 3 s, harmless). Such gaps are this
 * machine stalled as a whole (CI's run of 2026-12-05: a 423 ms gap of the FIFO 50 sampler while
 * the supervisor, FIFO 99, woke 355 ms late): a reading with them is taken again, up to
 * READINGS times in all, and the ones set aside are printed with the one used.
 */
const SAMPLER = join(new URL('.', import.meta.url).pathname, 'fifo-sampler.mjs');
const READINGS = 3;
async function fifoShare(pid: number, ms: number): Promise<{ share: number; text: string }> {
  const setAside: string[] = [];
  for (;;) {
    const out = await new Promise<string>((resolve, reject) => {
      execFile('chrt', ['-f', '50', process.execPath, SAMPLER, String(pid), String(ms)], { encoding: 'utf8' }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}: ${stderr}`)) : resolve(stdout)));
    });
    const r = JSON.parse(out) as { share: number; fifoMs: number; totalMs: number; samples: number; maxGapMs: number; lateMs: number; policy: number };
    if (r.policy !== 1) throw new Error(`the sampler did not run as SCHED_FIFO (policy ${r.policy})`);
    const text = `FIFO ${r.fifoMs.toFixed(0)} of ${r.totalMs.toFixed(0)} ms (${r.share.toFixed(1)} %; ${r.samples} samples by a FIFO 50 sampler, longest gap ${r.maxGapMs.toFixed(1)} ms, gaps over 2 ms ${r.lateMs.toFixed(0)} ms in all)`;
    const before = setAside.length ? `; set aside, the sampler stalled: ${setAside.join('; ')}` : '';
    if (r.lateMs <= r.totalMs * 0.05) return { share: r.share, text: text + before };
    setAside.push(text);
    if (setAside.length === READINGS) throw new Error(`the sampler's reading is no measurement in ${READINGS} tries${before}; ${text}`);
  }
}

interface Setup { dir: string; own: string; busy: ChildProcess; sup: ChildProcess; log: string; id: string; args: Record<string, unknown>; sawFifo: boolean }
const made: Setup[] = [];
/** other processes the tests start (killed at the end) */
const others: ChildProcess[] = [];

/** a busy task in a new group, and the supervisor of that group (10 % of each CPU, 100 ms windows) */
async function start(percent = 10, o: { idle?: boolean; env?: Record<string, string>; log?: string } = {}): Promise<Setup> {
  const id = uid('sup');
  const dir = join(V2!, `vk-${id}`);
  const own = join(V2!, `vkernel-rt-${id}`);
  mkdirSync(dir);
  const busy = spawn('sh', ['-c', `echo $$ > ${dir}/cgroup.procs; exec ${o.idle ? 'sleep 600' : 'sh -c \'while :; do :; done\''}`], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim(); i++) await sleep(10);
  const log = o.log ?? join('/tmp', `${id}.log`);
  const args = { id, dir, own, percent, priority: 1, windowMs: 100, tickMs: 20, init: { pid: busy.pid!, start: startOf(busy.pid!) }, log };
  const sup = spawn(RUNTIME, ['vkernel-rt-supervise', JSON.stringify(args)], { stdio: 'ignore', env: { ...process.env, VKERNEL_CGROUP_ROOT: V2!, ...o.env } });
  const s = { dir, own, busy, sup, log, id, args, sawFifo: false };
  made.push(s);
  // seen FIFO once (a second look could come after the supervisor demoted it for the window: this
  // process may be preempted between two looks for longer than the task's budget on a loaded host)
  for (let i = 0; i < 500 && !s.sawFifo; i++) {
    s.sawFifo = policy(busy.pid!) === 1;
    if (!s.sawFifo) await sleep(10);
  }
  return s;
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => {
  if (c.exitCode !== null || c.signalCode !== null) r(c.exitCode);
  else c.on('exit', (code) => r(code));
});

beforeAll(requireRoot);
// after each test, everything it started, then their groups: nothing of them is left on the host,
// and no busy FIFO task of one test competes with the next test's (CI's run of 2026-12-04 measured a
// task FIFO 30 % of the time against a 20 % budget with three earlier tests' tasks still at FIFO 1
// beside it: waiting for a CPU, a task stays FIFO longer than the CPU time it is granted)
afterEach(async () => {
  for (const c of others.splice(0)) {
    c.kill('SIGKILL');
    await exited(c);
  }
  for (const s of made.splice(0)) {
    s.busy.kill('SIGKILL');
    await exited(s.busy);
    // the supervisor (maybe a restarted one, not our child) ends by itself once the init is gone
    for (let i = 0; i < 200 && procsOf(s.own).length; i++) await sleep(10);
    s.sup.kill('SIGKILL');
    for (const p of procsOf(s.own)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await exited(s.sup);
    for (const d of [s.own, s.dir]) {
      // a killed task leaves its group a moment after its parent reaped it
      for (let i = 0; i < 100 && existsSync(d); i++) {
        try { rmdirSync(d); } catch { await sleep(20); }
      }
      if (existsSync(d)) throw new Error(`${d} left behind`);
    }
  }
}, 60_000);

needs(HOST).describe('rt v2 supervisor on this host\'s cgroup v2 hierarchy', () => {
  test('a busy task is SCHED_FIFO for its budget of each window: 10 % of 2 CPUs = 20 ms of 100 ms on its one CPU', async () => {
    const s = await start(10);
    expect(s.sawFifo).toBe(true);
    // the task's policy sampled every ms for 3 s by a FIFO observer, each sample counting for the
    // time until the next
    const seen = await fifoShare(s.busy.pid!, 3000);
    s.sup.kill('SIGUSR1');
    await sleep(200);
    const stats = readFileSync(s.log, 'utf8').trim().split('\n').pop()!;
    // eslint-disable-next-line no-console
    console.log(`busy task ${seen.text}; supervisor: ${stats}`);
    const cpus = Number(/of (\d+) CPUs/.exec(stats)?.[1]);
    const expected = 10 * cpus; // percent of the time its one CPU-bound task may run FIFO
    // an independent view: the task's policy as /proc shows it
    expect(seen.share).toBeGreaterThan(expected * 0.5);
    expect(seen.share).toBeLessThan(expected * 1.5);
    // the supervisor's own count of the group's FIFO CPU time: the budget, within 1 point
    const share = Number(/\(([\d.]+) % of \d+ CPUs\)/.exec(stats)?.[1]);
    expect(Math.abs(share - 10)).toBeLessThan(1);
  }, 30_000);

  test('a task that joins the group becomes SCHED_FIFO at the next sample; SIGTERM demotes every task, removes the supervisor\'s group, exit 0', async () => {
    // an idle group (a busy task at 50 % of 2 CPUs could use its whole budget and be demoted)
    const s = await start(50, { idle: true });
    expect(s.sawFifo).toBe(true);
    const late = spawn('sleep', ['30'], { stdio: 'ignore' });
    others.push(late);
    const t0 = Date.now();
    writeFileSync(join(s.dir, 'cgroup.procs'), String(late.pid));
    let lateFifo = false;
    while (!(lateFifo = policy(late.pid!) === 1) && Date.now() - t0 < 2000) await sleep(1);
    const lag = Date.now() - t0;
    // eslint-disable-next-line no-console
    console.log(`a task moved into the group was SCHED_FIFO after ${lag} ms`);
    expect(lateFifo).toBe(true);
    expect(lag).toBeLessThan(500); // 20 ms sweeps; the rest is this polling process on a loaded host (60-160 ms measured)
    // its group holds the supervisor and its sentinel (sentinel.ts), nothing else
    expect(supervisorsIn(s.own)).toEqual([s.sup.pid]);
    expect(sentinelsIn(s.own).length).toBe(1);
    expect(procsOf(s.own).length).toBe(2);
    s.sup.kill('SIGTERM');
    expect(await exited(s.sup)).toBe(0);
    expect(policy(s.busy.pid!)).toBe(0);
    expect(policy(late.pid!)).toBe(0);
    expect(existsSync(s.own)).toBe(false);
    late.kill('SIGKILL');
  }, 30_000);

  test('within its budget the group keeps FIFO order: four CPU-bound tasks forked on one CPU run one after another, in fork order (under CFS they interleave)', async () => {
    // the forking task joins the group (or not: the control), waits until it is SCHED_FIFO, then
    // forks four bash loops of ~100 ms on CPU 1 and waits; each prints its start and end from
    // EPOCHREALTIME (no fork, so a task never blocks before its loop ends). 95 % of 2 CPUs = 190 ms
    // of each 100 ms window: one CPU's worth never reaches it, so the supervisor never demotes.
    const order = async (dir: string | undefined): Promise<{ spans: number[][]; overlaps: number; inorder: boolean; text: string }> => {
      const join_ = dir ? `echo $$ > ${dir}/cgroup.procs; until [ "$(cut -d' ' -f41 /proc/$$/stat)" = 1 ]; do :; done; ` : '';
      const script = `${join_}for k in 0 1 2 3; do (s=$EPOCHREALTIME; i=0; while [ $i -lt 60000 ]; do i=$((i+1)); done; echo "$k $s $EPOCHREALTIME") & done; wait`;
      const out = await new Promise<string>((resolve, reject) => {
        execFile('taskset', ['-c', '1', 'bash', '-c', script], { encoding: 'utf8', timeout: 20_000 }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}: ${stderr}`)) : resolve(stdout)));
      });
      const spans = out.trim().split('\n').map((l) => l.split(' ').map(Number)).sort((a, b) => a[0] - b[0]);
      let overlaps = 0;
      let inorder = true;
      for (let k = 0; k + 1 < spans.length; k++) {
        if (spans[k + 1][1] < spans[k][2]) overlaps++;
        if (spans[k + 1][2] < spans[k][2]) inorder = false;
      }
      const t0 = spans[0][1];
      const text = spans.map(([k, a, b]) => `[${k} ${((a - t0) * 1000).toFixed(0)}..${((b - t0) * 1000).toFixed(0)} ms]`).join(' ');
      return { spans, overlaps, inorder, text };
    };
    const s = await start(95, { idle: true });
    const fifo = await order(s.dir);
    const cfs = await order(undefined);
    // eslint-disable-next-line no-console
    console.log(`under the supervisor (95 %): ${fifo.text} overlaps=${fifo.overlaps}; without it (CFS): ${cfs.text} overlaps=${cfs.overlaps}`);
    expect(fifo.spans.length).toBe(4);
    expect(fifo.overlaps).toBe(0);
    expect(fifo.inorder).toBe(true);
    // the control: the same tasks under CFS overlap (the check can see interleaving)
    expect(cfs.overlaps).toBeGreaterThan(0);
    // the supervisor never had to demote (its counters, logged on SIGUSR1)
    s.sup.kill('SIGUSR1');
    let stats = '';
    for (let i = 0; i < 100 && !stats; i++) {
      await sleep(20);
      stats = readFileSync(s.log, 'utf8').split('\n').filter((l) => l.includes('samples,')).pop() ?? '';
    }
    expect(stats).toMatch(/ 0 demotions /);
  }, 60_000);

  test('the supervisor ends by itself when the container\'s init is gone, removing its group', async () => {
    const s = await start(10);
    s.busy.kill('SIGKILL');
    expect(await exited(s.sup)).toBe(0);
    expect(existsSync(s.own)).toBe(false);
    expect(readFileSync(s.log, 'utf8')).toMatch(/container init \d+ gone/);
  }, 30_000);

  test('SIGKILL of the supervisor under a busy task: within 1 s the task is SCHED_OTHER or supervised again, and then held to its budget', async () => {
    const s = await start(10);
    await sleep(300);
    // killed while the task is FIFO (its budget's part of a window): left so, it would stay FIFO.
    // The supervisor is stopped first, so that it cannot demote the task between our look and the
    // kill (this process may be preempted there for longer than the rest of the task's budget)
    let fifoAtKill = false;
    for (const t0 = Date.now(); !fifoAtKill && Date.now() - t0 < 5000;) {
      if (policy(s.busy.pid!) !== 1) { await sleep(0); continue; }
      s.sup.kill('SIGSTOP');
      fifoAtKill = policy(s.busy.pid!) === 1;
      if (!fifoAtKill) s.sup.kill('SIGCONT');
    }
    expect(fifoAtKill).toBe(true);
    s.sup.kill('SIGKILL');
    await exited(s.sup);
    const t0 = Date.now();
    // never FIFO without a supervisor for more than the bound: SCHED_OTHER, or a new supervisor in its group
    let fifoAlone = 0;
    let at = performance.now();
    let recovered: string | undefined;
    while (Date.now() - t0 < 3000) {
      const p = policy(s.busy.pid!);
      const sups = supervisorsIn(s.own);
      const now = performance.now();
      if (p === 1 && !sups.length) fifoAlone += now - at;
      at = now;
      if (recovered === undefined && (p !== 1 || sups.length)) recovered = `${p !== 1 ? 'demoted' : `supervisor ${sups.join(',')} running`} after ${Date.now() - t0} ms`;
      await sleep(1);
    }
    const share = await fifoShare(s.busy.pid!, 2000);
    const log = existsSync(s.log) ? readFileSync(s.log, 'utf8') : '';
    // eslint-disable-next-line no-console
    console.log(`supervisor ${s.sup.pid} SIGKILLed: ${recovered ?? 'never recovered'}; FIFO without a supervisor ${fifoAlone.toFixed(0)} ms; then ${share.text} (budget 10 % of each CPU: ~20 % for one task on 2 CPUs); log:\n${log}`);
    expect(recovered).toBeDefined();
    expect(fifoAlone).toBeLessThan(1000);
    // one supervisor in its group (on failure the group's processes are shown)
    const group = procsOf(s.own).map((p) => `${p} ${cmdOf(p).slice(0, 120)}`);
    expect({ supervisors: supervisorsIn(s.own).length, group }).toEqual({ supervisors: 1, group: expect.any(Array) });
    expect(share.share).toBeLessThan(30);
    expect(share.share).toBeGreaterThan(10);
  }, 30_000);

  test('SIGKILL of the sentinel: the supervisor starts a new one; SIGTERM of the supervisor stops both and removes the group', async () => {
    const s = await start(10);
    // the supervisor starts its sentinel once it is up (over 300 ms on a loaded host)
    let first: number[] = [];
    for (const t0 = Date.now(); !first.length && Date.now() - t0 < 5000; await sleep(20)) first = sentinelsIn(s.own);
    expect(first.length).toBe(1);
    process.kill(first[0], 'SIGKILL');
    let again: number[] = [];
    for (const t0 = Date.now(); Date.now() - t0 < 3000; await sleep(20)) {
      again = sentinelsIn(s.own).filter((p) => !first.includes(p));
      if (again.length) break;
    }
    expect(again.length).toBe(1);
    s.sup.kill('SIGTERM');
    expect(await exited(s.sup)).toBe(0);
    expect(policy(s.busy.pid!)).toBe(0);
    for (let i = 0; i < 100 && existsSync(s.own); i++) await sleep(10);
    expect(existsSync(s.own)).toBe(false);
    expect(startTime(again[0])).toBeUndefined();
  }, 30_000);

  test('supervisor and sentinel SIGKILLed together while the task is FIFO: `ps` says UNSUPERVISED, `gc` starts a new supervisor, `ps` says supervised', async () => {
    const s = await start(10);
    await sleep(300);
    // a state of ours naming this group as an rt v2 container's (the runtime cannot make one through
    // runc on this host: its cpu controller is cgroup v1 with RT group scheduling); its owner is this
    // process, so gc counts the container as live (lifecycle/leftovers.ts inUse)
    const root = mkdtempSync(join(tmpdir(), 'vk-rtv2-root-'));
    const locks = mkdtempSync(join(tmpdir(), 'vk-rtv2-locks-'));
    const state = {
      version: 1, id: s.id, bundle: '/nonexistent', created: new Date().toISOString(), policy: { 'sched.policy': 'fifo' }, sources: {},
      owner: { pid: process.pid, start: startOf(process.pid) }, backend: 'rt-v2', cgroupPath: `/vk-${s.id}`, helpers: {},
      applied: [{ name: 'sched-policy', undo: { backend: 'rt-v2', backendUndo: { v2: true, id: s.id, dir: s.dir, own: s.own, log: s.log, args: s.args } } }],
    };
    writeFileSync(join(root, `vkernel@${s.id}.json`), JSON.stringify(state));
    const env = { ...process.env, VKERNEL_CGROUP_ROOT: V2!, VKERNEL_LOCK_DIR: locks, VKERNEL_RUN_BUNDLES: join(locks, 'bundles') };
    const ps = () => (JSON.parse(execFileSync(RUNTIME, ['--root', root, 'ps', '--format', 'json'], { env, encoding: 'utf8' })) as { id: string; supervision: string }[]).find((r) => r.id === s.id)?.supervision ?? '';
    try {
      const before = ps();
      expect(before).toMatch(/^supervised \(supervisor \d+, sentinel \d+\)/);
      for (const t0 = Date.now(); policy(s.busy.pid!) !== 1 && Date.now() - t0 < 2000;) await sleep(0);
      // the sentinel first (the supervisor would start a new one at its next window), then the supervisor
      for (const p of [...sentinelsIn(s.own), ...supervisorsIn(s.own)]) process.kill(p, 'SIGKILL');
      await exited(s.sup);
      await sleep(200);
      // the supervisor may have demoted it between our look and the kills: left FIFO, as a kill in
      // its FIFO part of a window leaves it (the case gc is for)
      if (policy(s.busy.pid!) !== 1) execFileSync('chrt', ['-f', '-p', '1', String(s.busy.pid)]);
      const killed = ps();
      expect(policy(s.busy.pid!)).toBe(1);
      expect(killed).toMatch(/^UNSUPERVISED: 1 of 1 thread\(s\) SCHED_FIFO without a budget/);
      const said = execFileSync(RUNTIME, ['gc', '--root', root], { env, encoding: 'utf8' });
      expect(said).toMatch(new RegExp(`started a new rt v2 supervisor \\d+ for ${s.id}`));
      let after = '';
      for (const t0 = Date.now(); Date.now() - t0 < 5000; await sleep(100)) {
        after = ps();
        if (/^supervised .*sentinel \d+/.test(after)) break;
      }
      const share = await fifoShare(s.busy.pid!, 2000);
      // eslint-disable-next-line no-console
      console.log(`ps before: ${before}\nps after SIGKILL of both: ${killed}\ngc: ${said.trim()}\nps after gc: ${after}; then ${share.text}`);
      expect(after).toMatch(/^supervised \(supervisor \d+, sentinel \d+\)/);
      // FIFO again, held to its budget (~20 % for one task on 2 CPUs)
      expect(share.share).toBeLessThan(30);
      expect(share.share).toBeGreaterThan(10);
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(locks, { recursive: true, force: true });
    }
  }, 240_000); // three node admin commands (ps, gc): minutes each at load ~14 under nice

  test('its own CPU time is bounded: per 100 ms window idle and busy as it is, and at most 20 % of one CPU (+2 ms) when each sample costs 10 ms more (a slow host)', async () => {
    const figures: string[] = [];
    const per: Record<string, number> = {};
    for (const [label, o] of [
      ['idle fifo container', { idle: true }], ['busy fifo container', {}],
      ['idle, samples +10 ms', { idle: true, env: { VKERNEL_RUNTIME_TEST_FAULT: 'spin-at=rt-v2-sample:10' } }],
      ['busy, samples +10 ms', { env: { VKERNEL_RUNTIME_TEST_FAULT: 'spin-at=rt-v2-sample:10' } }],
    ] as const) {
      const s = await start(10, o);
      await sleep(1000); // past its start-up
      per[label] = await supervisorCpu(s.sup.pid!, 3000);
      s.sup.kill('SIGUSR1');
      await sleep(300);
      figures.push(`${label}: ${per[label].toFixed(2)} ms CPU per 100 ms window; ${readFileSync(s.log, 'utf8').trim().split('\n').pop()!.replace(/^\S+ /, '')}`);
      s.busy.kill('SIGKILL');
      await exited(s.sup);
    }
    // eslint-disable-next-line no-console
    console.log(`supervisor CPU (kernel's accounting, /proc/<pid>/stat, 3 s each):\n${figures.join('\n')}`);
    expect(per['idle, samples +10 ms']).toBeLessThan(22);
    expect(per['busy, samples +10 ms']).toBeLessThan(22);
  }, 60_000);

  test('gc removes the group and log a SIGKILLed supervisor (and sentinel) left when no state names them any more', async () => {
    const locks = mkdtempSync(join(tmpdir(), 'vk-rtv2-locks-'));
    const root = mkdtempSync(join(tmpdir(), 'vk-rtv2-root-'));
    try {
      const id = uid('sup');
      const s = await start(10, { log: join(locks, `rt-supervisor@${id}.log`) });
      // (start() names its own id: the log above is under the lock dir as the backend puts it)
      await sleep(300);
      for (const p of [...sentinelsIn(s.own), ...supervisorsIn(s.own)]) process.kill(p, 'SIGKILL');
      await exited(s.sup);
      for (let i = 0; i < 100 && procsOf(s.own).length; i++) await sleep(10);
      s.busy.kill('SIGKILL');
      await exited(s.busy);
      for (let i = 0; i < 100 && existsSync(s.dir); i++) { try { rmdirSync(s.dir); } catch { await sleep(10); } }
      expect(existsSync(s.own)).toBe(true);
      expect(procsOf(s.own)).toEqual([]);
      const env = { ...process.env, VKERNEL_CGROUP_ROOT: V2!, VKERNEL_LOCK_DIR: locks, VKERNEL_RUN_BUNDLES: join(locks, 'bundles') };
      const gc = () => execFileSync(RUNTIME, ['gc', '--root', root], { env, encoding: 'utf8' });
      // no grace period (cgroupfs has no reliable age): a supervisor whose group a gc removed
      // before it moved in makes it again (own-group unit test)
      const old = gc();
      // eslint-disable-next-line no-console
      console.log(`gc: ${old.trim()}`);
      expect(old).toContain(`removing rt v2 supervisor cgroup ${s.own} (its container is gone)`);
      expect(existsSync(s.own)).toBe(false);
      expect(existsSync(s.log)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(locks, { recursive: true, force: true });
    }
  }, 240_000);

  test('bad arguments: exit 1, nothing created', async () => {
    const own = join(V2!, `vkernel-rt-${uid('bad')}`);
    for (const arg of ['{', JSON.stringify({ id: 'x', dir: '/etc', own, percent: 10, priority: 1, windowMs: 100, tickMs: 20, init: { pid: 1 } })]) {
      const c = spawn(RUNTIME, ['vkernel-rt-supervise', arg], { stdio: 'ignore', env: { ...process.env, VKERNEL_CGROUP_ROOT: V2! } });
      expect(await exited(c)).toBe(1);
    }
    expect(existsSync(own)).toBe(false);
  }, 30_000);
});
