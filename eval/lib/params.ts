/** Sizes of one `npm run eval` (written to the guest's /vkvm/eval.env; eval/guest.sh reads them). */
export interface Params {
  /** experiments of the patched boot (eval/guest.sh `has`) */
  exps: string[];
  /** experiments of the unpatched boot */
  unpatchedExps: string[];
  REPS_COST: number;
  REPS_START: number;
  REPS_SCENE: number;
  SCENE_N: number;
  REPS_SCHED: number;
  LOOPS: number[];
  HB_GROUPS: number;
  REPS_WAKE: number;
  WAKE_GRANS: number[];
  WAKE_N: number;
  REPS_PATHS: number;
  N_GETPPID: number;
  N_FUTEX: number;
  FUTEX_K: number;
  /** waiters of the crowd that fills the global futex hash (0: no collision experiment) */
  CROWD_N: number;
  REPS_APPS: number;
  WRK_CONN: number;
  WRK_SECS: number;
  PWGEN_N: number;
}

const ALL = ['cost', 'startup', 'scene', 'dmesg', 'sched', 'wakeup', 'paths', 'apps'];
/** the unpatched kernel: what runs without vkernel (runc, crun, the runtime with no request) */
const UNPATCHED = ['cost', 'startup', 'paths'];

/** issue 17's sizes: start-up 30 rounds (each configuration once per round, interleaved), hackbench
 * 5; ~45 min under TCG on an idle 2-core host, where each docker run costs ~6-9 s (10-35 s when the
 * host is loaded). The VM's own cost sweep 2 rounds, the scene once. */
export const FULL: Params = {
  exps: ALL, unpatchedExps: UNPATCHED,
  REPS_COST: 2, REPS_START: 30, REPS_SCENE: 1, SCENE_N: 20, REPS_SCHED: 5, LOOPS: [10, 40, 160], HB_GROUPS: 2,
  REPS_WAKE: 1, WAKE_GRANS: [0, 1_000_000_000], WAKE_N: 100, REPS_PATHS: 2, N_GETPPID: 200_000, N_FUTEX: 5000, FUTEX_K: 2, CROWD_N: 4096,
  REPS_APPS: 2, WRK_CONN: 8, WRK_SECS: 5, PWGEN_N: 20_000,
};

/** one repetition, smallest sizes: proves the tooling end to end (npm test), measures nothing */
export const SMOKE: Params = {
  exps: ALL, unpatchedExps: UNPATCHED,
  REPS_COST: 1, REPS_START: 1, REPS_SCENE: 1, SCENE_N: 2, REPS_SCHED: 1, LOOPS: [5], HB_GROUPS: 1,
  REPS_WAKE: 1, WAKE_GRANS: [0, 1_000_000_000], WAKE_N: 10, REPS_PATHS: 1, N_GETPPID: 20_000, N_FUTEX: 500, FUTEX_K: 2, CROWD_N: 64,
  REPS_APPS: 1, WRK_CONN: 2, WRK_SECS: 1, PWGEN_N: 500,
};

/** the configurations each experiment compares (eval/guest.sh's names), per boot; the smoke run
 * takes the fewest that still run every code path of the guest script (each docker run costs
 * ~10 s under TCG) */
export function configs(smoke: boolean, boot: 'patched' | 'unpatched'): Record<string, string> {
  if (boot === 'unpatched') {
    return { START_CFGS: 'runc vk-none', SCENE_CFGS: '', DMESG_CFGS: '', SCHED_CFGS: 'host-cfs', PATHS_CFGS: 'host runc', FUTEX_CFGS: '', APPS_CFGS: 'runc', CHRT_CHECKS: '0', WARM: smoke ? '0' : '1' };
  }
  if (smoke) {
    return { START_CFGS: 'runc crun vk-all', SCENE_CFGS: 'vk-module', DMESG_CFGS: 'vk-all', SCHED_CFGS: 'host-cfs vk-fifo', PATHS_CFGS: 'host vk-module', FUTEX_CFGS: 'vk-module', APPS_CFGS: 'vk-all', CHRT_CHECKS: '0', WARM: '0' };
  }
  return {
    START_CFGS: 'runc crun vk-none vk-fifo vk-module vk-all', SCENE_CFGS: 'runc vk-module', DMESG_CFGS: 'runc vk-none vk-log',
    SCHED_CFGS: 'host-cfs host-fifo ctr-normal ctr-nice-fifo ctr-priv-fifo vk-fifo vk-adaptive', PATHS_CFGS: 'host runc vk-module',
    FUTEX_CFGS: 'runc vk-module', APPS_CFGS: 'runc vk-all', CHRT_CHECKS: '1', WARM: '1',
  };
}

export function envFile(p: Params, exps: string[], cfgs: Record<string, string>): string {
  const v = (x: number | number[]) => (Array.isArray(x) ? x.join(' ') : String(x));
  const lines = [`EXPS="${exps.join(' ')}"`, ...Object.entries(cfgs).map(([k, x]) => `${k}="${x}"`)];
  for (const [k, x] of Object.entries(p)) {
    if (k === 'exps' || k === 'unpatchedExps') continue;
    lines.push(`${k}="${v(x as number | number[])}"`);
  }
  return `${lines.join('\n')}\n`;
}
