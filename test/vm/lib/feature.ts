// One VM feature suite: boot the patched and the unpatched kernel with the
// same guest scripts; every listed check must PASS on the patched kernel and
// must not PASS (fail, or be absent) on the unpatched one.
import { BUILD_TIMEOUT_MS, explain, runBoth, type Variant, type VmRun } from './vm.js';

export interface Check {
  /** VKTEST name */
  name: string;
  /** what it proves (test title) */
  title: string;
  /** false: the check also passes on a stock kernel (a control) */
  failsUnpatched?: boolean;
}

export function vmFeature(title: string, scripts: string[], checks: Check[], modules: string[] = []): void {
  describe(title, () => {
    let runs: Record<Variant, VmRun>;

    beforeAll(async () => {
      runs = await runBoth(scripts, modules);
    }, BUILD_TIMEOUT_MS * 2 + 10 * 60 * 1000);

    it('boots both kernels and completes the guest scripts', () => {
      for (const v of ['patched', 'unpatched'] as const) {
        expect({ v, timedOut: runs[v].timedOut, done: runs[v].doneSeconds !== null }).toEqual({
          v,
          timedOut: false,
          done: true,
        });
      }
    });

    for (const c of checks) {
      it(`${c.title} [${c.name}]`, () => {
        const p = runs.patched.results.get(c.name);
        if (p?.status !== 'PASS') throw new Error(explain(runs.patched, c.name));
        const u = runs.unpatched.results.get(c.name);
        if (c.failsUnpatched === false) {
          if (u?.status !== 'PASS') throw new Error(explain(runs.unpatched, c.name));
        } else if (u?.status === 'PASS') {
          throw new Error(`passes on the unpatched kernel too: ${explain(runs.unpatched, c.name)}`);
        }
      });
    }
  });
}
