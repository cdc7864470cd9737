import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import type { HostOps } from '../host/ops.js';
import { fifoResetOnFork, threadPolicySetter } from '../host/sched-ffi.js';
import { joinOwnGroup, leaveOwnGroup } from '../kernel/cgroups/own-group.js';
import type { Cgroups, CpuGroup } from '../kernel/cgroups/types.js';
import { faultPoint } from '../store/fault.js';
import { isSameProcess, statFields } from '../store/proc.js';
import { parseSupervisorArgs, SUPERVISOR_PRIORITY, type SupervisorArgs } from './args.js';
import { groupCpus } from './cpus.js';
import { SentinelHandle, sentinel } from './sentinel.js';
import { Supervisor } from './supervisor.js';
import { CPU_CAP, SelfLimit } from './self-limit.js';
import { budgetFor } from './window.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const turn = () => new Promise((r) => setImmediate(r));
const waitCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Sleeps `ms` (fractions too) blocking the thread: a timer through the event loop costs ~4 times
 * the CPU (measured under bun: ~130 µs against ~33 µs per sleep), which every sample pays.
 */
function blockFor(ms: number): void {
  const bun = (globalThis as { Bun?: { sleepSync(ms: number): void } }).Bun;
  if (bun) bun.sleepSync(ms);
  else Atomics.wait(waitCell, 0, 0, ms);
}

/** how long the supervisor waits for its sentinel before it promotes anything (an engine start-up; TCG guests are slow) */
const SENTINEL_READY_MS = 15_000;

/**
 * a sample longer than this (wall time), or more CPU than this since the last, is logged with its
 * threads' CPU so far (which one: its main thread, the JIT's, the allocator's): a FIFO group runs on
 * meanwhile, and a costly one widens its windows (self-limit.ts)
 */
const SLOW_SAMPLE_MS = 40;

/** each thread of this process: its name and CPU time so far, ms (10 ms ticks) */
function threadTimes(): string {
  try {
    return readdirSync('/proc/self/task').map((t) => {
      const [comm, utime, stime] = statFields(readFileSync(`/proc/self/task/${t}/stat`, 'utf8'), 2, 14, 15);
      return `${comm} ${(Number(utime) + Number(stime)) * 10}`;
    }).join(', ');
  } catch {
    return '?';
  }
}

/** exit status when the container's tasks could not be made SCHED_FIFO at the start (setup reports it) */
export const EXIT_NO_FIFO = 3;

function logger(file: string | undefined): (msg: string) => void {
  return (msg) => {
    if (!file) return;
    try { appendFileSync(file, `${new Date().toISOString()} ${msg}\n`); } catch { /* its directory went with a delete */ }
  };
}

/**
 * every thread of this process SCHED_FIFO above the container's, and (under bun) with
 * SCHED_RESET_ON_FORK: what it starts (its sentinel, a new supervisor) starts SCHED_OTHER
 */
const selfFifo = new Set<number>();
async function fifoSelf(host: HostOps): Promise<void> {
  const tids = readdirSync('/proc/self/task').map(Number).filter((t) => !selfFifo.has(t));
  if (!tids.length) return;
  tids.forEach((t) => selfFifo.add(t));
  const failed = (await fifoResetOnFork(tids, SUPERVISOR_PRIORITY)) ?? (await host.setThreadsScheduler(tids, 'fifo', SUPERVISOR_PRIORITY));
  if (failed.length) throw new Error(`cannot make the supervisor's threads SCHED_FIFO ${SUPERVISOR_PRIORITY}: ${failed.join(', ')}`);
}

/** into its own group (created here unless a sentinel restarting it is there already), then SCHED_FIFO above the container's */
async function enterOwnGroup(cgroups: Cgroups, a: SupervisorArgs, host: HostOps): Promise<CpuGroup> {
  const own = cgroups.groupAt(a.own);
  joinOwnGroup(own);
  await fifoSelf(host);
  return own;
}

/**
 * `vkernel-rt-supervise <json>`: the RT supervisor of one rt v2 container (started detached by the
 * backend's setup at create, stopped by delete). It runs SCHED_FIFO 99 in its own group beside the
 * container's, promotes the container's tasks to SCHED_FIFO and holds the group to its RT budget
 * (window.ts), and ends when the container's init or group is gone, or on SIGTERM (after demoting
 * every task). Exit status EXIT_NO_FIFO: the tasks could not be made SCHED_FIFO (e.g. a kernel with
 * RT group scheduling refuses it in a group without an RT budget).
 */
export async function supervise(json: string | undefined, d: { cgroups: Cgroups; host: HostOps; self: readonly string[] }): Promise<number> {
  const a = parseSupervisorArgs(json, d.cgroups);
  const log = logger(a.log);
  if (a.role === 'sentinel') {
    try { await fifoSelf(d.host); } catch (e) { log(`sentinel: ${(e as Error).message}`); }
    return sentinel(a, d, log);
  }
  await threadPolicySetter(); // loaded before the first switch
  const group = d.cgroups.groupAt(a.dir);
  let own: CpuGroup | undefined;
  try {
    own = await enterOwnGroup(d.cgroups, a, d.host);
  } catch (e) {
    log(`supervisor: ${(e as Error).message}`);
    leaveOwnGroup(d.cgroups, own ?? d.cgroups.groupAt(a.own));
    return 1;
  }
  // the sentinel (sentinel.ts): demotes the group and starts a new supervisor if this one dies
  const guard = new SentinelHandle(d.self, a, log);
  guard.start();
  // no task is promoted before the sentinel is there to demote them should this process die
  if (!(await guard.ready(SENTINEL_READY_MS))) {
    await guard.stop();
    log(`supervisor: its sentinel was not ready within ${SENTINEL_READY_MS / 1000} s: no task promoted`);
    leaveOwnGroup(d.cgroups, own);
    return EXIT_NO_FIFO;
  }
  const gone = () => (!isSameProcess(a.init) ? `container init ${a.init.pid} gone` : !group.exists() ? 'container group gone' : undefined);
  // the container's init and group: checked at the start, every window and when a read fails; the
  // event loop (SIGTERM, SIGUSR1) gets a turn as often
  let checked = 0n;
  /** wall time spent sampling (the rest of its CPU time is waking up, the event loop, GC) */
  let busyNs = 0n;
  const cpus = groupCpus(group);
  let budget = budgetFor(a.percent, a.windowMs, cpus, a.tickMs);
  // its own CPU time: bounded (self-limit.ts)
  const limit = new SelfLimit({ windowMs: a.windowMs, tickMs: a.tickMs }, (a.cpuCapPercent ?? CPU_CAP * 100) / 100);
  let scale = limit.base;
  let waitedNs = 0n;
  let waits = 0;
  const cpuNs = () => { const c = process.cpuUsage(); return (c.user + c.system) * 1000; };
  let lastWall = process.hrtime.bigint();
  let lastCpu = cpuNs();
  const sup = new Supervisor(group, d.host, budget, a.priority);
  let stopping = false;
  const t0 = process.hrtime.bigint();
  const cpu0 = cpuNs(); // its CPU time from here on: the start-up (SCHED_OTHER until enterOwnGroup) is not the loop's
  const stats = () => {
    const s = sup.stats;
    const ms = (ns: bigint) => (Number(ns) / 1e6).toFixed(2);
    const wall = process.hrtime.bigint() - t0;
    const c = process.cpuUsage();
    const cpuMs = (cpuNs() - cpu0) / 1e6;
    const self = `self-limit: window ${scale.windowMs} ms, sweep ${scale.tickMs} ms, ${(limit.costNs / 1e6).toFixed(2)} ms CPU per sample, ${waits} wait(s) of ${ms(waitedNs)} ms; its CPU since it started supervising ${((cpuMs * 1e8) / Number(wall)).toFixed(2)} ms per 100 ms (cap ${limit.cap * 100} % of one CPU)`;
    return `${self}; ${s.samples} samples, ${s.demotions} demotions (${s.earlyDemotions} early), ${s.promotions} promotions, ${s.joined} threads joined; FIFO ${ms(s.fifoNs)} ms CPU in ${ms(wall)} ms (${((Number(s.fifoNs) * 100) / Number(wall) / cpus).toFixed(1)} % of ${cpus} CPUs); max overrun ${ms(s.maxOverrunNs)} ms, max wake-up lateness ${ms(s.maxLateNs)} ms; supervisor CPU ${((c.user + c.system) / 1000).toFixed(1)} ms, ${ms(busyNs)} ms of it sampling`;
  };
  const end = async (why: string) => {
    await guard.stop();
    log(`supervisor: ${why}; ${stats()}`);
    leaveOwnGroup(d.cgroups, own);
  };
  process.on('SIGUSR1', () => log(`supervisor: ${stats()}`));
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void sup.demoteAll().catch(() => []).then(() => end('stopped (SIGTERM), tasks demoted')).finally(() => process.exit(0));
  });
  log(`supervisor: ${a.id}: pid ${process.pid}${a.restarts?.length ? ` (restart ${a.restarts.length})` : ''}, sentinel ${guard.pid ?? 'none'}; ${a.percent} % of ${cpus} CPU(s) per ${a.windowMs} ms window (${(Number(budget.budgetNs) / 1e6).toFixed(1)} ms), tasks FIFO ${a.priority}, sample every ${a.tickMs} ms at most, own group ${a.own}`);
  let first = true;
  while (!stopping) {
    const now = process.hrtime.bigint();
    if (now - checked >= budget.windowNs) {
      checked = now;
      await turn();
      if (stopping) break;
      // threads the engine started since (they start SCHED_OTHER under SCHED_RESET_ON_FORK)
      await fifoSelf(d.host).catch(() => undefined);
      const why = gone();
      if (why) {
        await end(why);
        return 0;
      }
    }
    let r;
    try {
      const modeBefore = sup.mode;
      r = await sup.tick(now);
      faultPoint('rt-v2-sample');
      busyNs += process.hrtime.bigint() - now;
      const wallNow = process.hrtime.bigint();
      const cpuNow = cpuNs();
      const tookMs = Number(wallNow - now) / 1e6;
      const spentMs = (cpuNow - lastCpu) / 1e6;
      if (tookMs > SLOW_SAMPLE_MS || spentMs > SLOW_SAMPLE_MS) log(`supervisor: a slow sample: ${tookMs.toFixed(1)} ms (group ${modeBefore ?? 'new'} -> ${sup.mode}), ${spentMs.toFixed(1)} ms CPU since the last; its threads' CPU so far: ${threadTimes()}`);
      const floorNs = limit.account(Number(wallNow - lastWall), cpuNow - lastCpu);
      lastWall = wallNow;
      lastCpu = cpuNow;
      const want = limit.scale();
      const off = (x: number, y: number) => Math.abs(x - y) > y * 0.2;
      if (off(want.windowMs, scale.windowMs) || off(want.tickMs, scale.tickMs)) {
        log(`supervisor: its samples cost ${(limit.costNs / 1e6).toFixed(2)} ms CPU: window ${scale.windowMs} -> ${want.windowMs} ms, sweep ${scale.tickMs} -> ${want.tickMs} ms (its CPU at most ${limit.cap * 100} % of one CPU)`);
        scale = want;
        budget = budgetFor(a.percent, scale.windowMs, cpus, scale.tickMs);
        sup.rescale(budget);
      }
      if (floorNs > Number(r.sleepNs)) {
        // FIFO and busy, and at the rate it uses CPU as FIFO (since the last sample; just promoted,
        // the last time it was FIFO: supervisor.ts) the group would use what is left of its budget
        // before the self-limit lets it sample again: demoted now (less FIFO time than its budget,
        // never more). An idle group stays FIFO: if it wakes meanwhile, what it overruns is owed by
        // the next windows (window.ts: also when the window ends during the wait)
        const busy = Math.min(cpus, r.rate);
        if (sup.mode === 'fifo' && busy > 0.05 && floorNs > Number(budget.budgetNs - r.used) / busy) await sup.demoteEarly();
        waits++;
        waitedNs += BigInt(Math.round(floorNs)) - r.sleepNs;
        r = { ...r, sleepNs: BigInt(Math.round(floorNs)) };
      }
    } catch (e) {
      if (!group.exists()) {
        checked = 0n; // torn down: the check above ends the loop
        continue;
      }
      log(`supervisor: sample failed: ${(e as Error).message}`);
      await sleep(a.tickMs);
      continue;
    }
    if (first) {
      first = false;
      if (r.failed.length) {
        await sup.demoteAll().catch(() => []);
        await end(`cannot make thread(s) ${r.failed.join(', ')} SCHED_FIFO`);
        return EXIT_NO_FIFO;
      }
    } else if (r.failed.length) {
      log(`supervisor: cannot set ${sup.mode === 'fifo' ? 'SCHED_FIFO' : 'SCHED_OTHER'} on thread(s) ${r.failed.join(', ')} (retried)`);
    }
    const due = process.hrtime.bigint() + r.sleepNs;
    blockFor(Number(r.sleepNs) / 1e6);
    const late = process.hrtime.bigint() - due;
    if (late > sup.stats.maxLateNs) sup.stats.maxLateNs = late;
  }
  return 0;
}
