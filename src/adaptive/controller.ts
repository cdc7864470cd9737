import { appendFileSync, existsSync } from 'node:fs';
import { adaptiveLog, controllerGroupPath } from './paths.js';
import { BACKENDS } from '../kernel/backends/index.js';
import { RT_DEFAULTS, type Mode } from '../kernel/backends/backend.js';
import { joinOwnGroup, leaveOwnGroup } from '../kernel/cgroups/own-group.js';
import type { Cgroups, CpuGroup } from '../kernel/cgroups/types.js';
import { formatLine } from '../log/logger.js';
import { defaults } from '../policy/validate.js';
import type { Runtime } from '../lifecycle/runtime.js';
import { isSameProcess, startTime } from '../store/proc.js';
import { threadPolicySetter } from '../host/sched-ffi.js';
import { needsScan, nextMode } from './decide.js';
import { cpuRate, ctxRate, taskScan, usage, type TaskScan } from './sample.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** cpu.shares (v1) / cpu.weight (v2) of the controller's group: 1/16 of a default sibling */
const SHARES = { v1: ['cpu.shares', '64'], v2: ['cpu.weight', '6'] } as const;

/**
 * Moves this process into its own cpu group beside the container's (see controllerGroupPath) with
 * a small CPU share. Returns the group, or undefined (and the reason) when the hierarchy refuses.
 */
function enterOwnGroup(cgroups: Cgroups, containerPath: string, id: string): { group?: CpuGroup; why?: string } {
  try {
    const g = cgroups.group(controllerGroupPath(containerPath, id));
    const [file, value] = SHARES[cgroups.version];
    joinOwnGroup(g, () => { if (g.has(file)) g.write(file, value); });
    return { group: g };
  } catch (e) {
    return { why: (e as Error).message };
  }
}

/**
 * `vkernel-adaptive <id>`: the adaptive policy controller of one container, started detached after
 * the container started (`start`, run's poststart hook, the OCI hook). Every interval it reads the
 * group's CPU time (one file); only when that alone could lead to a switch (needsScan) it reads its
 * threads' context switches and run state, and switches the group between FIFO and CFS by the
 * seed's rule, logging each switch with its cost. It exits when the container's cgroup is gone or
 * its init is no longer the process it was (pid and start time), and on SIGTERM (delete).
 */
export async function controller(rt: Runtime): Promise<number> {
  const id = rt.inv.args[0];
  const state = rt.store.read(id);
  if (!state?.cgroupPath || !state.backend || state.pid === undefined) throw new Error(`no adaptive state for ${id} under ${rt.root}`);
  const p = state.policy;
  const t = {
    cpuHigh: p['sched.adaptive.cpu_high'] ?? defaults['sched.adaptive.cpu_high'],
    cpuLow: p['sched.adaptive.cpu_low'] ?? defaults['sched.adaptive.cpu_low'],
    ctxHigh: p['sched.adaptive.ctx_high'] ?? defaults['sched.adaptive.ctx_high'],
    ctxLow: p['sched.adaptive.ctx_low'] ?? defaults['sched.adaptive.ctx_low'],
  };
  const interval = p['sched.adaptive.interval_ms'] ?? defaults['sched.adaptive.interval_ms'];
  const cgroups = rt.cgroups();
  const group = cgroups.group(state.cgroupPath, state.pid);
  const backend = BACKENDS[state.backend as keyof typeof BACKENDS];
  const deps = rt.backendDeps();
  const rtSettings = rt.config?.rt ?? RT_DEFAULTS;
  const logFile = adaptiveLog(rt.root, id);
  // once delete removed our state (and this log), the controller writes nothing more: it would
  // leave a log behind (a controller start killed before start recorded it is stopped this way)
  const stateFile = rt.store.path(id);
  const log = (msg: string) => { if (existsSync(stateFile)) appendFileSync(logFile, formatLine('info', msg, 'text')); };
  const initPid = state.pid;
  const initStart = state.pidStart ?? startTime(initPid);

  const own = enterOwnGroup(cgroups, state.cgroupPath, id);
  await threadPolicySetter(); // loaded now, not on the first switch
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    try { log(`adaptive: ${why}, exiting`); } catch { /* the log went with the state */ }
    leaveOwnGroup(cgroups, own.group);
  };
  process.on('SIGTERM', () => {
    stop('stopped (SIGTERM)');
    process.exit(0);
  });

  let mode: Mode = 'cfs';
  log(`adaptive: started (interval ${interval} ms, fifo when cpu > ${t.cpuHigh}% and ctx > ${t.ctxHigh}/s, cfs when cpu < ${t.cpuLow}% and ctx < ${t.ctxLow}/s), mode cfs, controller in ${own.group ? own.group.dir : `its caller's group (${own.why})`}`);
  let prev = usage(group);
  let scan: TaskScan | undefined;
  for (;;) {
    await sleep(interval);
    const gone = !isSameProcess({ pid: initPid, start: initStart }) ? `container init ${initPid} gone`
      : !group.exists() ? 'container cgroup gone'
        : !existsSync(stateFile) ? 'container state gone' : undefined;
    if (gone) {
      stop(gone);
      return 0;
    }
    let cur;
    try {
      cur = usage(group);
    } catch {
      continue; // the group is being torn down
    }
    const cpu = cpuRate(prev, cur);
    prev = cur;
    if (!needsScan(mode, cpu, t)) {
      scan = undefined;
      continue;
    }
    // the switches over the last interval: the scan of the previous tick is needed (one more tick
    // when the usage just crossed the threshold)
    const now = taskScan(group);
    const before = scan;
    scan = now;
    if (!before) continue;
    const ctx = ctxRate(before, now);
    const next = nextMode(mode, { cpu, ctx }, now.runnable, t);
    if (next === mode) continue;
    try {
      // wall time (the controller's small share waits behind the tasks it just made FIFO) and
      // the controller's own CPU time for the switch
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      await backend.switchTo(deps, group, next, rtSettings);
      const c = process.cpuUsage(c0);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      log(`adaptive: ${mode} -> ${next} (cpu ${cpu.toFixed(1)}%, ctx ${ctx.toFixed(0)}/s; switched ${group.threads().length} threads in ${ms.toFixed(2)} ms, ${((c.user + c.system) / 1000).toFixed(2)} ms CPU)`);
      mode = next;
      scan = undefined;
    } catch (e) {
      log(`adaptive: switch to ${next} failed: ${(e as Error).message}`);
    }
  }
}
