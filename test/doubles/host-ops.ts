import type { HostOps, Outcome } from '../../src/host/ops.js';

/** FakeHost.startHelper's pid: above pid_max's largest value (2^22), never a live process */
export const FAKE_HELPER_PID = 4_194_305;

/**
 * Test double of HostOps (src/host/ops.ts): records every call in order, answers from what the
 * test set. Unit tests of our logic use it; what chrt, nsenter, insmod and make really do is
 * proven by the integration and VM tiers.
 */
export class FakeHost implements HostOps {
  readonly calls: { op: string; args: unknown[] }[] = [];
  /** per-namespace sysctl values as a read back would see them: `${pid} ${key}` → value */
  readonly sysctls = new Map<string, string>();
  /** a read back that differs from the write (a kernel ignoring the namespace) */
  sysctlReadsBack?: string;
  /** setScheduler fails for these pids (as chrt does for a pid that is gone) */
  readonly goneTasks = new Set<number>();
  insmodResult: Outcome = { ok: true, message: '' };
  rmmodResults: Outcome[] = [];
  makeResult: Outcome = { ok: true, message: '' };
  makeOutput: string[] = [];
  /**
   * the pid startHelper returns: above the kernel's largest pid_max (2^22), so no live process has
   * it and a liveness check of the "helper" never finds one (4242 once matched a real process on a
   * busy CI host, and a check waited 20 s for that process's supervisor)
   */
  nextPid = FAKE_HELPER_PID;

  private record(op: string, ...args: unknown[]): void { this.calls.push({ op, args }); }
  ops(op: string): unknown[][] { return this.calls.filter((c) => c.op === op).map((c) => c.args); }

  async setScheduler(pid: number, policy: 'fifo' | 'other', priority?: number): Promise<void> {
    this.record('setScheduler', pid, policy, priority);
    if (this.goneTasks.has(pid)) throw new Error(`chrt: failed to set pid ${pid}'s policy: No such process`);
  }

  async setThreadsScheduler(tids: readonly number[], policy: 'fifo' | 'other', priority?: number): Promise<number[]> {
    this.record('setThreadsScheduler', [...tids], policy, priority);
    return tids.filter((t) => this.goneTasks.has(t));
  }

  /** enable lines written (FakeHost.enableNamespace); `enableError` makes the next one fail */
  readonly enabled: string[] = [];
  enableError?: Error;

  async enableNamespace(line: string): Promise<void> {
    this.record('enableNamespace', line);
    if (this.enableError) throw this.enableError;
    this.enabled.push(line);
    // what the kernel would then answer in that namespace
    const [pid, ...words] = line.split(' ');
    for (const w of words) {
      const eq = w.indexOf('=');
      if (eq > 0) this.sysctls.set(`${pid} ${w.slice(0, eq)}`, w.slice(eq + 1));
    }
  }

  async readNsSysctl(pid: number, key: string): Promise<string> {
    this.record('readNsSysctl', pid, key);
    return this.sysctlReadsBack ?? this.sysctls.get(`${pid} ${key}`) ?? '';
  }

  async insmod(file: string, params: readonly string[]): Promise<Outcome> {
    this.record('insmod', file, [...params]);
    return this.insmodResult;
  }

  async rmmod(name: string): Promise<Outcome> {
    this.record('rmmod', name);
    return this.rmmodResults.shift() ?? { ok: true, message: '' };
  }

  async make(args: readonly string[], onLine: (line: string) => void): Promise<Outcome> {
    this.record('make', [...args]);
    for (const l of this.makeOutput) onLine(l);
    return this.makeResult;
  }

  startHelper(argv: readonly string[], afterMs?: number): number {
    this.record('startHelper', ...(afterMs === undefined ? [[...argv]] : [[...argv], afterMs]));
    return this.nextPid++;
  }
}
