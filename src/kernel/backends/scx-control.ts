import { readFileSync, statSync } from 'node:fs';
import { failure, run, runDetached } from '../../host/spawn.js';

/** a cpu cgroup's policy in the scheduler's map (modules/scx_vkernel/scx_vkernel.bpf.c) */
export type ScxPolicy = 'fifo' | 'vtime';

/** the name our BPF scheduler registers (sched_ext_ops.name) */
export const SCX_OPS_NAME = 'vkernel';

/** what /sys/kernel/sched_ext says: `state` (enabled, disabled, enabling, disabling) and the loaded scheduler's name */
export interface ScxStatus { state: string; ops?: string }

/**
 * The mechanism of the scx backend (ARCHITECTURE.md "Backends"), one interface with the real
 * implementation below (the scx_vkernel loader and sysfs) and a test double in
 * test/doubles/scx.ts. Every argument is its own argv element.
 */
export interface ScxControl {
  /** sched_ext's state now; undefined when the kernel has no sched_ext */
  status(): ScxStatus | undefined;
  /** starts the scheduler (`scx_vkernel run LOG`, detached); its pid. The caller waits for status(). */
  start(log: string): number;
  /** the cpu cgroup `cgid`'s policy */
  set(cgid: bigint, policy: ScxPolicy): Promise<void>;
  /** removes `cgid` (absent: not an error) */
  del(cgid: bigint): Promise<void>;
  /** the map's entries */
  list(): Promise<{ cgid: bigint; policy: ScxPolicy }[]>;
  /** every thread of `pid` to SCHED_EXT ('ext') or SCHED_NORMAL ('other') */
  switchTasks(pid: number, to: 'ext' | 'other'): Promise<void>;
  /** the id the scheduler sees for the cpu cgroup at `dir`: its kernfs id, the inode number of the directory */
  cgroupId(dir: string): bigint;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** sched_ext's state from sysfs (`sys`: /sys) */
export function scxStatus(sys = '/sys'): ScxStatus | undefined {
  const state = read(`${sys}/kernel/sched_ext/state`);
  if (state === undefined) return undefined;
  const ops = read(`${sys}/kernel/sched_ext/root/ops`);
  return { state, ops: ops || undefined };
}

/** the real mechanism: `loader` is the scx_vkernel binary (RuntimeEnv.scxLoader) */
export function linuxScx(loader: string, sys = '/sys'): ScxControl {
  const must = async (args: string[]): Promise<string> => {
    const r = await run(loader, args);
    if (r.code !== 0) throw new Error(`${loader} ${args.join(' ')}: ${failure(r)}`);
    return r.stdout;
  };
  return {
    status: () => scxStatus(sys),
    start: (log) => runDetached([loader, 'run', log]),
    async set(cgid, policy) { await must(['set', cgid.toString(), policy]); },
    async del(cgid) { await must(['del', cgid.toString()]); },
    async list() {
      const out = await must(['list']);
      return out.split('\n').filter(Boolean).map((l) => {
        const [id, policy] = l.split(' ');
        return { cgid: BigInt(id), policy: policy === 'fifo' ? 'fifo' : 'vtime' };
      });
    },
    async switchTasks(pid, to) { await must(['switch', String(pid), to]); },
    cgroupId: (dir) => statSync(dir, { bigint: true }).ino,
  };
}
