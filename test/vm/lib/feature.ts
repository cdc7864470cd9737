// One VM feature suite: boot the patched and the unpatched kernel with the
// same guest scripts. Every listed check must PASS on the patched kernel; on
// the unpatched one it must print FAIL with a reason (a control, marked
// `failsUnpatched: false`, must PASS there too). A check that is absent, a
// check the suite does not list, a script without its completion line, or a
// boot of another kernel than expected is a failure of the run, on either kernel.
import { BUILD_TIMEOUT_MS, DEBUG_TIMEOUT_SCALE, MAX_TIMEOUT_SCALE, explain, runBoth, runProblems, type Variant, type VmRun } from './vm.js';

export interface Check {
  /** VKTEST name */
  name: string;
  /** what it proves (test title) */
  title: string;
  /** false: the check also passes on a stock kernel (a control) */
  failsUnpatched?: boolean;
}

/** What is wrong with one check's lines in the two runs; [] when it is as it must be. */
export function checkProblems(runs: Record<Variant, VmRun>, c: Check): string[] {
  const problems: string[] = [];
  const p = runs.patched.results.get(c.name);
  if (!p) problems.push(`absent on the patched kernel (the script never reached it): ${explain(runs.patched, c.name)}`);
  else if (p.status !== 'PASS') problems.push(explain(runs.patched, c.name));
  const u = runs.unpatched.results.get(c.name);
  if (!u) problems.push(`absent on the unpatched kernel: every check must print FAIL with a reason there (or PASS, a control): ${explain(runs.unpatched, c.name)}`);
  else if (c.failsUnpatched === false) {
    if (u.status !== 'PASS') problems.push(`control fails on the unpatched kernel: ${explain(runs.unpatched, c.name)}`);
  } else if (u.status === 'PASS') {
    problems.push(`passes on the unpatched kernel too: ${explain(runs.unpatched, c.name)}`);
  } else if (u.detail === '') {
    problems.push(`FAIL without a reason on the unpatched kernel: ${explain(runs.unpatched, c.name)}`);
  }
  return problems;
}

/** VKTEST names a run printed that the suite does not list (each must be asserted somewhere). */
export function undeclared(run: VmRun, checks: Check[]): string[] {
  const known = new Set(checks.map((c) => c.name));
  return [...run.results.keys()].filter((n) => !known.has(n)).map((n) => `VKTEST ${n} ${run.results.get(n)!.status} ${run.results.get(n)!.detail}`);
}

export function vmFeature(title: string, scripts: string[], checks: Check[], modules: string[] = []): void {
  describe(title, () => {
    let runs: Record<Variant, VmRun>;

    beforeAll(async () => {
      runs = await runBoth(scripts, modules);
    }, BUILD_TIMEOUT_MS * 2 + 2 * (MAX_TIMEOUT_SCALE * DEBUG_TIMEOUT_SCALE * 240 + 60) * 1000);

    for (const v of ['patched', 'unpatched'] as const) {
      it(`${v} kernel: boots the expected kernel, every script completes, every check is listed`, () => {
        const problems = [...runProblems(runs[v], v, scripts), ...undeclared(runs[v], checks).map((l) => `not listed in the suite: ${l}`)];
        if (problems.length) throw new Error(`${v}: ${problems.join('\n')}\n--- console tail ---\n${runs[v].log.split('\n').slice(-40).join('\n')}`);
      });
    }

    for (const c of checks) {
      it(`${c.title} [${c.name}]`, () => {
        const problems = checkProblems(runs, c);
        if (problems.length) throw new Error(problems.join('\n'));
      });
    }
  });
}
