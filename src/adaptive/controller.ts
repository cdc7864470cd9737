import { appendFileSync, existsSync } from 'node:fs';
import { adaptiveLog } from './paths.js';
import { BACKENDS } from '../kernel/backends/index.js';
import { RT_DEFAULTS, type Mode } from '../kernel/backends/backend.js';
import { formatLine } from '../log/logger.js';
import { defaults } from '../policy/validate.js';
import type { Runtime } from '../lifecycle/runtime.js';
import { nextMode } from './decide.js';
import { rates, sample } from './sample.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `vkernel-adaptive <id>`: the adaptive policy controller of one container, started detached by
 * `start`. Every interval it samples the group's CPU usage and its threads' context switches and
 * switches the group between FIFO and CFS by the seed's rule, logging each switch. It exits when the
 * container's cgroup disappears (and is stopped by `delete`).
 */
export async function controller(rt: Runtime): Promise<number> {
  const id = rt.inv.args[0];
  const state = rt.store.read(id);
  if (!state?.cgroupPath || !state.backend || state.pid === undefined) throw new Error(`no adaptive state for ${id}`);
  const p = state.policy;
  const t = {
    cpuHigh: p['sched.adaptive.cpu_high'] ?? defaults['sched.adaptive.cpu_high'],
    cpuLow: p['sched.adaptive.cpu_low'] ?? defaults['sched.adaptive.cpu_low'],
    ctxHigh: p['sched.adaptive.ctx_high'] ?? defaults['sched.adaptive.ctx_high'],
    ctxLow: p['sched.adaptive.ctx_low'] ?? defaults['sched.adaptive.ctx_low'],
  };
  const interval = p['sched.adaptive.interval_ms'] ?? defaults['sched.adaptive.interval_ms'];
  const group = rt.cgroups().group(state.cgroupPath, state.pid);
  const backend = BACKENDS[state.backend as 'kernel' | 'rt'];
  const deps = rt.backendDeps();
  const rtSettings = rt.config?.rt ?? RT_DEFAULTS;
  const logFile = adaptiveLog(rt.root, id);
  // once delete removed our state (and this log), the controller writes nothing more: it would
  // leave a log behind (a controller start killed before start recorded it is stopped this way)
  const log = (msg: string) => { if (existsSync(rt.store.path(id))) appendFileSync(logFile, formatLine('info', msg, 'text')); };

  let mode: Mode = 'cfs';
  log(`adaptive: started (interval ${interval} ms, fifo when cpu > ${t.cpuHigh}% and ctx > ${t.ctxHigh}/s, cfs when cpu < ${t.cpuLow}% and ctx < ${t.ctxLow}/s), mode cfs`);
  let prev = sample(group);
  for (;;) {
    await sleep(interval);
    if (!group.exists() || !existsSync(rt.store.path(id))) {
      log('adaptive: container cgroup gone, exiting');
      return 0;
    }
    let cur;
    try {
      cur = sample(group);
    } catch {
      continue; // the group is being torn down
    }
    const r = rates(prev, cur);
    prev = cur;
    const next = nextMode(mode, r, cur.runnable, t);
    if (next === mode) continue;
    try {
      await backend.switchTo(deps, group, next, rtSettings);
      log(`adaptive: ${mode} -> ${next} (cpu ${r.cpu.toFixed(1)}%, ctx ${r.ctx.toFixed(0)}/s)`);
      mode = next;
    } catch (e) {
      log(`adaptive: switch to ${next} failed: ${(e as Error).message}`);
    }
  }
}
