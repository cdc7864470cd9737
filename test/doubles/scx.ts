import type { ScxControl, ScxPolicy, ScxStatus } from '../../src/kernel/backends/scx-control.js';

/**
 * Test double of ScxControl (src/kernel/backends/scx-control.ts): a map and a sched_ext state in
 * memory, every call recorded. What the BPF scheduler and its loader really do is proven in the
 * VM tier (test/vm/scx.test.ts).
 */
export class FakeScx implements ScxControl {
  readonly calls: { op: string; args: unknown[] }[] = [];
  readonly map = new Map<bigint, ScxPolicy>();
  /** undefined: a kernel without sched_ext */
  state: ScxStatus | undefined = { state: 'disabled' };
  /** what start() does: enable our scheduler (default), or return a pid that is already gone */
  startEnables = true;
  /** cgroup directory → id (what stat's st_ino would say) */
  readonly ids = new Map<string, bigint>();
  delError?: Error;

  private record(op: string, ...args: unknown[]): void { this.calls.push({ op, args }); }
  ops(op: string): unknown[][] { return this.calls.filter((c) => c.op === op).map((c) => c.args); }

  status(): ScxStatus | undefined { return this.state; }

  start(log: string): number {
    this.record('start', log);
    if (this.startEnables) {
      this.state = { state: 'enabled', ops: 'vkernel' };
      return process.pid;
    }
    return 2 ** 22 + 1; // above pid_max: no such process
  }

  async set(cgid: bigint, policy: ScxPolicy): Promise<void> {
    this.record('set', cgid, policy);
    this.map.set(cgid, policy);
  }

  async del(cgid: bigint): Promise<void> {
    this.record('del', cgid);
    if (this.delError) throw this.delError;
    this.map.delete(cgid);
  }

  async list(): Promise<{ cgid: bigint; policy: ScxPolicy }[]> {
    return [...this.map].map(([cgid, policy]) => ({ cgid, policy }));
  }

  async switchTasks(pid: number, to: 'ext' | 'other'): Promise<void> {
    this.record('switchTasks', pid, to);
  }

  cgroupId(dir: string): bigint {
    if (!this.ids.has(dir)) this.ids.set(dir, BigInt(1000 + this.ids.size));
    return this.ids.get(dir)!;
  }
}
