import { join } from 'node:path';
import { withLock } from '../../store/lock.js';
import { isSameProcess, procRef } from '../../store/proc.js';
import type { HostProbe } from '../probe.js';
import type { BackendDeps, Mode, SchedBackend } from './backend.js';
import { SCX_OPS_NAME, type ScxControl, type ScxStatus } from './scx-control.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** host-wide lock under which the scheduler is started (two creates at once start one) */
export const SCX_LOCK = 'scx-scheduler';
/** how long create waits for a started scheduler to be enabled (TCG guests are slow) */
const READY_MS = 20_000;

/** What delete needs: the container's cpu cgroup id in the scheduler's map (and its directory, for people). */
export interface ScxUndo { scx: true; cgid: string; dir: string }

export const scxLog = (lockDir: string) => join(lockDir, 'scx_vkernel.log');

const ours = (s: ScxStatus | undefined) => s?.state === 'enabled' && s.ops === SCX_OPS_NAME;

/** the scheduler's state for people (ps, doctor): running, or gone and what that means */
export function scxText(s: ScxStatus | undefined): string {
  if (!s) return 'no sched_ext in this kernel';
  if (ours(s)) return `scheduler ${SCX_OPS_NAME} running`;
  if (s.state === 'enabled') return `ANOTHER sched_ext scheduler (${s.ops ?? 'unnamed'}) is loaded: the containers' SCHED_EXT tasks run under it`;
  return `SCHEDULER GONE (sched_ext ${s.state}): the containers' tasks run in the fair class (the kernel's fallback); the next scx create starts it again`;
}

function control(d: BackendDeps): ScxControl {
  if (!d.scx) throw new Error('the scx backend has no scheduler control (internal: BackendDeps.scx)');
  return d.scx;
}

/**
 * Our scheduler runs when this returns: started (`scx_vkernel run`, detached) under the host-wide
 * lock when sched_ext is not enabled; refused when another BPF scheduler holds sched_ext.
 */
export async function ensureScheduler(d: BackendDeps): Promise<void> {
  const scx = control(d);
  if (ours(scx.status())) return;
  await withLock(d.lockDir, SCX_LOCK, async () => {
    const now = scx.status();
    if (ours(now)) return;
    if (!now) throw new Error('this kernel has no sched_ext (/sys/kernel/sched_ext)');
    if (now.state === 'enabled') throw new Error(`another sched_ext scheduler (${now.ops ?? 'unnamed'}) is loaded: the scx backend needs its own (${SCX_OPS_NAME})`);
    const log = scxLog(d.lockDir);
    const pid = procRef(scx.start(log));
    for (const deadline = Date.now() + READY_MS; ;) {
      await sleep(20);
      if (ours(scx.status())) return;
      if (!isSameProcess(pid)) throw new Error(`the sched_ext scheduler (scx_vkernel, pid ${pid.pid}) ended before it was enabled: see ${log}`);
      if (Date.now() > deadline) throw new Error(`the sched_ext scheduler (scx_vkernel, pid ${pid.pid}) was not enabled within ${READY_MS / 1000} s (sched_ext ${scx.status()?.state}): see ${log}`);
    }
  });
}

const mapPolicy = (mode: Mode) => (mode === 'fifo' ? 'fifo' : 'vtime');

/** checks undo data read back from a state file */
export function checkScxUndo(x: unknown): ScxUndo {
  const u = x as ScxUndo | undefined;
  if (!u || u.scx !== true || typeof u.cgid !== 'string' || !/^[0-9]{1,20}$/.test(u.cgid) || typeof u.dir !== 'string') throw new Error('bad scx undo record');
  return u;
}

/**
 * scx: Linux >= 6.12 with sched_ext (CONFIG_SCHED_CLASS_EXT), no patch, no module. One BPF
 * scheduler per host (modules/scx_vkernel) in partial mode, with a map from cpu cgroup id to
 * policy; the container's group goes into the map and its init (so every child) becomes
 * SCHED_EXT before start. `fifo`: the group's tasks run in arrival order; adaptive: the group
 * starts as vtime and the controller switches the map entry. `cfs` needs nothing (the fair class).
 * If the scheduler ends, the kernel runs every SCHED_EXT task in the fair class.
 */
export const scxBackend: SchedBackend = {
  name: 'scx',
  unsupported(mode, probe: HostProbe) {
    if (mode === 'cfs') return undefined;
    const s = probe.schedExt;
    if (!s) return 'the scx backend needs a kernel with sched_ext (CONFIG_SCHED_CLASS_EXT, Linux >= 6.12: no /sys/kernel/sched_ext)';
    if (s.state === 'enabled' && s.ops !== SCX_OPS_NAME) return `another sched_ext scheduler (${s.ops ?? 'unnamed'}) is loaded: the scx backend needs its own (${SCX_OPS_NAME})`;
    return undefined;
  },
  async setup(d, group, pid, mode, adaptive, _rt, journal) {
    if (mode === 'cfs' && !adaptive) return undefined;
    const scx = control(d);
    await ensureScheduler(d);
    const u: ScxUndo = { scx: true, cgid: scx.cgroupId(group.dir).toString(), dir: group.dir };
    // recorded before the map changes: a kill from here on leaves delete --force the entry to remove
    journal?.(u);
    await scx.set(BigInt(u.cgid), mapPolicy(mode));
    await scx.switchTasks(pid, 'ext');
    return u;
  },
  async switchTo(d, group, mode) {
    const scx = control(d);
    await scx.set(scx.cgroupId(group.dir), mapPolicy(mode));
  },
  async teardown(d, undo) {
    if (!undo) return;
    const u = checkScxUndo(undo);
    const scx = control(d);
    try {
      await scx.del(BigInt(u.cgid));
    } catch (e) {
      // no pinned map (the scheduler never ran since boot) or no sched_ext: nothing to remove
      if (scx.status() === undefined || /never started/.test((e as Error).message)) return;
      throw e;
    }
  },
};
