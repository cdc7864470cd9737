import { writeFileSync } from 'node:fs';
import { failure, run, runDetached } from './spawn.js';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { moduleCalls } from './module-ffi.js';
import { threadPolicySetter, type SetThreadPolicy } from './sched-ffi.js';
import { timed } from '../profile.js';

/** What a host operation reports when it may legitimately fail (the caller decides). */
export interface Outcome { ok: boolean; message: string }

/**
 * The host operations vkernel-runtime performs besides file I/O (ARCHITECTURE.md "Host
 * operations"), one interface with the real implementation below and a test double in
 * test/doubles/host-ops.ts. Every argument is passed as its own argv element.
 */
export interface HostOps {
  /**
   * SCHED_FIFO at `priority`, or SCHED_OTHER, for every thread of `pid`: in-process
   * sched_setscheduler(2) under bun, else util-linux chrt -a (and always chrt when a chrt binary
   * is given, as tests do)
   */
  setScheduler(pid: number, policy: 'fifo' | 'other', priority?: number): Promise<void>;
  /**
   * SCHED_FIFO at `priority`, or SCHED_OTHER, for each of the threads `tids`: in-process
   * sched_setscheduler(2) under bun (no process started), else one `chrt -p` per thread. Returns
   * the tids it could not set (e.g. exited meanwhile), for the caller to judge.
   */
  setThreadsScheduler(tids: readonly number[], policy: 'fifo' | 'other', priority?: number): Promise<number[]>;
  /** writes one line to the patched kernel's /sys/kernel/vkernel/enable (src/kernel/ns-enable.ts) */
  enableNamespace(line: string): Promise<void>;
  /** reads sysctl `key` as a task of pid's pid namespace */
  readNsSysctl(pid: number, key: string): Promise<string>;
  /** insmod FILE PARAMS... */
  insmod(file: string, params: readonly string[]): Promise<Outcome>;
  /** rmmod NAME */
  rmmod(name: string): Promise<Outcome>;
  /** make ARGS..., each output line to onLine */
  make(args: readonly string[], onLine: (line: string) => void): Promise<Outcome>;
  /**
   * starts a helper process detached from us (the adaptive controller, the RT release); its pid.
   * `afterMs`: it runs that much later, waiting until then in a small process of its own (the
   * client's `--after`, the same pid), or at once where there is none (the engine under node)
   */
  startHelper(argv: readonly string[], afterMs?: number): number;
}

/** which binaries the real operations run (tests put wrappers here) */
export interface HostBinaries {
  chrt?: string; nsenter?: string; insmod?: string; rmmod?: string; make?: string; enableFile?: string;
  /** the program that waits, then execs: `PROGRAM --after MS ARGV...` (default: the client beside the engine executable) */
  after?: string;
}

/** client/vkernel-client.c, which has `--after`: built beside the engine executable (dist/) */
function clientBeside(): string | undefined {
  const path = join(dirname(process.execPath), 'vkernel-client');
  return existsSync(path) ? path : undefined;
}

async function must(file: string, args: readonly string[]): Promise<string> {
  const r = await timed(`exec ${file.split('/').pop()}`, () => run(file, args));
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: ${failure(r)}`);
  return r.stdout.trim();
}

async function outcome(file: string, args: readonly string[]): Promise<Outcome> {
  const r = await run(file, args);
  return r.code === 0 ? { ok: true, message: '' } : { ok: false, message: failure(r) };
}

/** the thread ids of `pid` (/proc/<pid>/task); empty when it is gone */
function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter((t) => Number.isInteger(t) && t > 0);
  } catch {
    return [];
  }
}

/**
 * What `chrt -a -p` does, in-process: every thread of `pid` to `policy`. A thread started while we
 * set the others (it inherits the old policy) is caught by reading the list again, until no new
 * thread shows up (at most 5 rounds). Throws, like chrt, when the process is gone or a live thread
 * could not be set.
 */
function setAllThreads(set: SetThreadPolicy, pid: number, policy: 'fifo' | 'other', priority: number): void {
  const name = policy === 'fifo' ? 'SCHED_FIFO' : 'SCHED_OTHER';
  const done = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const todo = threadsOf(pid).filter((t) => !done.has(t));
    if (round === 0 && !todo.length) throw new Error(`cannot set ${name} on pid ${pid}: No such process`);
    if (!todo.length) return;
    for (const t of todo) {
      if (!set(t, policy, priority) && existsSync(`/proc/${pid}/task/${t}`)) throw new Error(`cannot set ${name} (priority ${policy === 'fifo' ? priority : 0}) on thread ${t} of pid ${pid}: not permitted (an RT budget of 0 in its cgroup?)`);
      done.add(t);
    }
  }
}

/** The real host: util-linux, kmod and make from PATH (or the given binaries). */
export function linuxHostOps(bin: HostBinaries = {}): HostOps {
  const nsenter = bin.nsenter ?? 'nsenter';
  // only the pid namespace is entered: the file is the host's /proc/sys, never a path the
  // container's mounts control; the kernel answers from the reader's pid namespace
  const inNs = (pid: number, sysctl: string[]) => ['--target', String(pid), '--pid', '--', 'sysctl', ...sysctl];
  return {
    async setScheduler(pid, policy, priority = 1) {
      // in-process under bun (the compiled engine): no chrt process on fifo's create path
      const set = bin.chrt === undefined ? await threadPolicySetter() : undefined;
      if (set) return timed('sched_setscheduler', () => setAllThreads(set, pid, policy, priority));
      const args = policy === 'fifo' ? ['-a', '-f', '-p', String(priority), String(pid)] : ['-a', '-o', '-p', '0', String(pid)];
      await must(bin.chrt ?? 'chrt', args);
    },
    async setThreadsScheduler(tids, policy, priority = 1) {
      const set = await threadPolicySetter();
      const failed: number[] = [];
      for (const tid of tids) {
        if (set) {
          if (!set(tid, policy, priority)) failed.push(tid);
          continue;
        }
        const args = policy === 'fifo' ? ['-f', '-p', String(priority), String(tid)] : ['-o', '-p', '0', String(tid)];
        if ((await run(bin.chrt ?? 'chrt', args)).code !== 0) failed.push(tid);
      }
      return failed;
    },
    readNsSysctl(pid, key) {
      return must(nsenter, inNs(pid, ['-n', key]));
    },
    async enableNamespace(line) {
      const file = bin.enableFile ?? '/sys/kernel/vkernel/enable';
      // one write(2): the kernel takes the line as a whole or refuses it
      try {
        writeFileSync(file, `${line}\n`, { flag: 'w' });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new Error(`${file}: "${line}" refused (${code ?? (e as Error).message})`);
      }
    },
    // in-process under bun (the compiled engine): no kmod process on the module's create and delete path
    async insmod(file, params) {
      const calls = bin.insmod === undefined ? await moduleCalls() : undefined;
      if (!calls) return outcome(bin.insmod ?? 'insmod', [file, ...params]);
      const err = timed('init_module', () => calls.load(file, params));
      return err === undefined ? { ok: true, message: '' } : { ok: false, message: `init_module(${file}): ${err}` };
    },
    async rmmod(name) {
      const calls = bin.rmmod === undefined ? await moduleCalls() : undefined;
      if (!calls) return outcome(bin.rmmod ?? 'rmmod', [name]);
      const err = timed('delete_module', () => calls.unload(name));
      if (err === undefined) return { ok: true, message: '' };
      // rmmod's words for the two answers its callers tell apart (src/module/load.ts unloadModule)
      const says = err === 'ENOENT' ? 'is not currently loaded' : err === 'EWOULDBLOCK' || err === 'EAGAIN' || err === 'EBUSY' ? 'is in use' : 'failed';
      return { ok: false, message: `delete_module(${name}): ${err}: module ${name} ${says}` };
    },
    async make(args, onLine) {
      // make's own lines went to onLine: the message is only how it ended (exit code, signal)
      const r = await run(bin.make ?? 'make', args, { onLine });
      if (r.code === 0) return { ok: true, message: '' };
      return { ok: false, message: r.error?.message ?? r.signal ?? String(r.code) };
    },
    startHelper: (argv, afterMs) => timed('start helper', () => {
      const waiter = afterMs === undefined ? undefined : bin.after ?? clientBeside();
      return runDetached(waiter ? [waiter, '--after', String(afterMs), ...argv] : argv);
    }),
  };
}
