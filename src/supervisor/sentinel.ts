import type { ChildProcess } from 'node:child_process';
import type { HostOps } from '../host/ops.js';
import { spawnPiped } from '../host/spawn.js';
import { threadPolicySetter } from '../host/sched-ffi.js';
import type { Cgroups } from '../kernel/cgroups/types.js';
import { isSameProcess } from '../store/proc.js';
import { MAX_RESTARTS, RESTART_WINDOW_MS, SUPERVISE, type SupervisorArgs } from './args.js';

/*
 * A supervisor's death must never leave a tenant's tasks SCHED_FIFO without a budget (issue 16 §1).
 * The kernel gives no way to tie one task's policy to another process's life, so the supervisor
 * has a sentinel: a second process of the same engine, started by the supervisor in its group at
 * its priority (FIFO 99), that does nothing but wait on a pipe whose only writer is the supervisor.
 *  - the supervisor ends by itself (SIGTERM from delete, its container gone): it writes `stop` on
 *    the pipe first, and the sentinel leaves without doing anything;
 *  - the supervisor dies (SIGKILL, a crash, the OOM killer): the pipe reaches end-of-file without
 *    `stop`; the sentinel wakes at once (FIFO 99, above every task it guards), demotes every thread
 *    of the container's group to SCHED_OTHER, and starts a new supervisor with the same arguments
 *    (which promotes them again under a fresh window and starts a sentinel of its own) unless the
 *    container is gone or the supervisor died MAX_RESTARTS times within RESTART_WINDOW_MS (a crash
 *    loop: the tasks then stay SCHED_OTHER, and `vkernel-runtime ps` says so);
 *  - the sentinel dies: the supervisor starts a new one.
 * Only both killed at once (by someone who signals both pids) leaves the tasks as they were; `ps`
 * reports that, and `gc` restarts the supervisor of a running container (rt-v2.ts). The sentinel
 * sleeps in the kernel (a blocking read), so it costs no CPU; its memory is one engine process.
 */

type Log = (msg: string) => void;

/** the sentinel's argument: the supervisor's, with its role */
export const sentinelArgs = (a: SupervisorArgs): SupervisorArgs => ({ ...a, role: 'sentinel' });

/** The supervisor's handle on its sentinel: started here, started again when it dies, stopped with `stop`. */
export class SentinelHandle {
  private child: ChildProcess | undefined;
  private stopping = false;
  private lastStart = 0;
  /** the current sentinel said `ready` (it is FIFO 99 and waiting on the pipe) */
  private readyNow = false;
  private readyWaiters: (() => void)[] = [];

  constructor(private readonly self: readonly string[], private readonly a: SupervisorArgs, private readonly log: Log) {}

  get pid(): number | undefined { return this.child?.pid; }

  start(): void {
    if (this.stopping) return;
    this.lastStart = Date.now();
    const argv = [...this.self, SUPERVISE, JSON.stringify(sentinelArgs(this.a))];
    // its own session: a signal to the supervisor's process group does not reach it
    const child = spawnPiped(argv);
    this.readyNow = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (this.child !== child || !d.includes('ready')) return;
      this.readyNow = true;
      for (const w of this.readyWaiters.splice(0)) w();
    });
    child.on('error', (e) => this.log(`supervisor: cannot start its sentinel: ${e.message}`));
    child.stdin?.on('error', () => { /* the sentinel is gone: its exit is handled below */ });
    child.on('exit', (code, signal) => {
      if (this.stopping || this.child !== child) return;
      this.log(`supervisor: its sentinel ${child.pid} ended (${signal ?? `exit ${code}`}); starting a new one`);
      // at most one start a second (a sentinel that cannot start must not make the supervisor spin)
      setTimeout(() => { if (this.child === child) this.start(); }, Math.max(100, 1000 - (Date.now() - this.lastStart)));
    });
    this.child = child;
  }

  /** resolves once the current sentinel is ready, or after `ms` (false) */
  ready(ms: number): Promise<boolean> {
    if (this.readyNow) return Promise.resolve(true);
    return new Promise((r) => {
      const t = setTimeout(() => r(false), ms);
      this.readyWaiters.push(() => { clearTimeout(t); r(true); });
    });
  }

  /** the supervisor ends by itself: tells the sentinel (`stop`), waits for it to leave the group (SIGKILL after 2 s) */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    try { child.stdin?.end('stop\n'); } catch { /* gone meanwhile */ }
    const late = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, 2000);
    await gone;
    clearTimeout(late);
  }
}

/** what the pipe said before its end: `stop` (the supervisor ended by itself) or nothing (it died) */
function pipeEnd(): Promise<string> {
  return new Promise((resolve) => {
    let said = '';
    const done = () => resolve(said);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c: string) => { said += c; });
    process.stdin.once('end', done);
    process.stdin.once('close', done);
    process.stdin.once('error', done);
  });
}

/**
 * `vkernel-rt-supervise <json with "role":"sentinel">`: waits for the supervisor that started it
 * (see above). Exit 0 whatever happened (what it did is in the supervisor's log).
 */
export async function sentinel(a: SupervisorArgs, d: { cgroups: Cgroups; host: HostOps; self: readonly string[] }, log: Log): Promise<number> {
  // delete stops the supervisor and us with SIGTERM: the supervisor demotes, we only leave
  process.on('SIGTERM', () => process.exit(0));
  const supervisor = process.ppid;
  await threadPolicySetter(); // loaded now, so the demotion below is one system call per thread
  const group = d.cgroups.groupAt(a.dir);
  const said = pipeEnd();
  // the supervisor promotes no task before it reads this line
  process.stdout.write('ready\n');
  if ((await said).includes('stop')) return 0;
  const t0 = process.hrtime.bigint();
  let threads: number[] = [];
  let failed: number[] = [];
  try {
    if (group.exists()) {
      threads = group.threads();
      failed = await d.host.setThreadsScheduler(threads, 'other');
    }
  } catch (e) {
    log(`sentinel: cannot demote the group: ${(e as Error).message}`);
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  log(`sentinel: supervisor ${supervisor} died without stopping: ${threads.length - failed.length} thread(s) demoted to SCHED_OTHER in ${us.toFixed(0)} us${failed.length ? ` (not: ${failed.join(', ')})` : ''}`);
  if (!isSameProcess(a.init) || !group.exists()) {
    log('sentinel: the container is gone: no new supervisor');
    return 0;
  }
  const now = Date.now();
  const recent = (a.restarts ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
  if (recent.length >= MAX_RESTARTS) {
    log(`sentinel: the supervisor died ${recent.length + 1} times within ${RESTART_WINDOW_MS / 1000} s: not started again; the container's tasks stay SCHED_OTHER`);
    return 0;
  }
  const next: SupervisorArgs = { ...a, restarts: [...recent, now] };
  delete next.role;
  try {
    const pid = d.host.startHelper([...d.self, SUPERVISE, JSON.stringify(next)]);
    log(`sentinel: new supervisor ${pid} started (restart ${recent.length + 1} within ${RESTART_WINDOW_MS / 1000} s)`);
  } catch (e) {
    log(`sentinel: cannot start a new supervisor: ${(e as Error).message}; the container's tasks stay SCHED_OTHER`);
  }
  return 0;
}
