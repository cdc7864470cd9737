import { appendFileSync } from 'node:fs';
import { setFaultHook } from './fault.js';

/**
 * The test aid behind VKERNEL_RUNTIME_TEST_FAULT (RuntimeEnv.testFault), installed by the CLI's
 * start-up only when it is set (never imported otherwise). Comma-separated entries:
 *   kill-at=[<role>/]<point>[@<n>]  the process SIGKILLs itself the n-th time (default: first) it
 *                                   reaches <point>
 *   fail-at=[<role>/]<point>[@<n>]  throws there instead (an ordinary failure, e.g. to prove a rollback)
 *   spin-at=[<role>/]<point>:<ms>   busy-waits <ms> of CPU every time it reaches <point> (a slow
 *                                   host, e.g. an emulated CPU: the rt v2 supervisor's self-limit)
 *   after-create                    = fail-at=applied-all (create/run fail after runc create and every applier)
 *   trace=<file>                    appends `<role> <kill|fail> <point>@<n> <pid>` to <file> just
 *                                   before each injected kill or failure (the proof a test's
 *                                   point was reached)
 * The role is which process of ours reaches the point: the subcommand (`create`, `start`,
 * `delete`), `run` for run's prepare step, `hook-<stage>` for run's hooks (`hook-create-runtime`,
 * `hook-poststart`, `hook-poststop`), `vkernel-run-watch`. An entry without a role applies to every
 * process the variable reaches (each counts its own n).
 */
export interface Fault { kind: 'kill' | 'fail' | 'spin'; role?: string; point: string; n: number; ms?: number }

export interface FaultSpec { faults: Fault[]; trace?: string }

export function parseFaults(v: string): FaultSpec {
  const spec: FaultSpec = { faults: [] };
  for (const f of v.split(',').filter(Boolean)) {
    if (f === 'after-create') {
      spec.faults.push({ kind: 'fail', point: 'applied-all', n: 1 });
      continue;
    }
    if (f.startsWith('trace=') && f.length > 6) {
      spec.trace = f.slice(6);
      continue;
    }
    const spin = /^spin-at=(?:([\w-]+)\/)?([^@/:]+):(\d+(?:\.\d+)?)$/.exec(f);
    if (spin) {
      spec.faults.push({ kind: 'spin', role: spin[1], point: spin[2], n: 0, ms: Number(spin[3]) });
      continue;
    }
    const m = /^(kill|fail)-at=(?:([\w-]+)\/)?([^@/]+)(?:@(\d+))?$/.exec(f);
    if (!m) {
      throw new Error(`VKERNEL_RUNTIME_TEST_FAULT=${JSON.stringify(v)}: expected after-create, kill-at=[role/]<point>[@n], fail-at=[role/]<point>[@n], spin-at=[role/]<point>:<ms> or trace=<file>, comma-separated`);
    }
    spec.faults.push({ kind: m[1] as Fault['kind'], role: m[2], point: m[3], n: Number(m[4] ?? 1) });
  }
  return spec;
}

/** Installs the hook for this process (`role`, see above); nothing when the spec has no fault for it. */
export function armFaults(v: string, role: string): void {
  const spec = parseFaults(v);
  const faults = spec.faults.filter((f) => f.role === undefined || f.role === role);
  if (!faults.length) return;
  const seen = new Map<string, number>();
  setFaultHook((point) => {
    const n = (seen.get(point) ?? 0) + 1;
    seen.set(point, n);
    for (const f of faults) {
      if (f.kind !== 'spin' || f.point !== point) continue;
      const until = process.hrtime.bigint() + BigInt(Math.round((f.ms ?? 0) * 1e6));
      while (process.hrtime.bigint() < until) { /* burning CPU, as a slow host would */ }
    }
    const fault = faults.find((f) => f.point === point && f.n === n);
    if (!fault) return;
    if (spec.trace) appendFileSync(spec.trace, `${role} ${fault.kind} ${point}@${n} ${process.pid}\n`);
    if (fault.kind === 'kill') process.kill(process.pid, 'SIGKILL');
    throw new Error(`injected failure ${point === 'applied-all' ? 'after runc create' : `at ${point}`} (VKERNEL_RUNTIME_TEST_FAULT=${v})`);
  });
}
