import { existsSync } from 'node:fs';

/**
 * Tests that need something of the host (RT group scheduling, a stock kernel, ...). Under CI
 * (`CI=true`, set by .ci/run) a missing prerequisite is a FAILED test whose message names it; outside
 * CI the tests are skipped with the reason in their title and a warning on stderr. Never a silent
 * `describe.skip`.
 */
export interface Prerequisite {
  /** what is needed, as the failure message names it */
  name: string;
  /** whether this host has it */
  ok: boolean;
  /** how to get it / why it is missing */
  how: string;
}

export const CI = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());

/** `CPU_V1/cpu.rt_runtime_us`: cgroup v1 cpu controller with CONFIG_RT_GROUP_SCHED=y */
export const RT_GROUPS: Prerequisite = {
  name: 'RT group scheduling on the cgroup v1 cpu controller (/sys/fs/cgroup/cpu/cpu.rt_runtime_us)',
  ok: existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us'),
  how: 'a host kernel with CONFIG_RT_GROUP_SCHED=y and the cpu controller mounted at /sys/fs/cgroup/cpu (cgroup v1)',
};

/** the host runs a stock kernel (the vkernel kernel loads modules and applies kernel-only keys) */
export const STOCK_KERNEL: Prerequisite = {
  name: 'a stock host kernel (no /sys/kernel/vkernel)',
  ok: !existsSync('/sys/kernel/vkernel'),
  how: 'run this test on a host that does not run the vkernel kernel (its behaviour there is covered by the VM tier)',
};

function missing(reqs: Prerequisite[]): Prerequisite[] {
  return reqs.filter((r) => !r.ok);
}

function message(m: Prerequisite[]): string {
  return m.map((r) => `missing prerequisite: ${r.name} (needs ${r.how})`).join('; ');
}

const warned = new Set<string>();
function warn(title: string, m: Prerequisite[]): void {
  const line = `SKIPPED (not CI): "${title}": ${message(m)}`;
  if (warned.has(line)) return;
  warned.add(line);
  process.stderr.write(`${line}\n`);
}

type TestFn = (name: string, fn: () => unknown, timeout?: number) => void;

/**
 * `needs(RT_GROUPS).test(title, fn)` / `.describe(title, fn)`: as jest's, when every prerequisite
 * is there. Otherwise, under CI, one test that fails naming the missing prerequisites; outside CI,
 * skipped with the reason in the title.
 */
export function needs(...reqs: Prerequisite[]): { test: TestFn; describe: (name: string, fn: () => void) => void } {
  const m = missing(reqs);
  const failing = (title: string) => test(`${title} [${message(m)}]`, () => {
    throw new Error(`CI=true and this host lacks what the test needs: ${message(m)}`);
  });
  return {
    test: (title, fn, timeout) => {
      if (!m.length) return test(title, fn as jest.ProvidesCallback, timeout);
      if (CI) return failing(title);
      warn(title, m);
      return test.skip(`${title} [skipped: ${message(m)}]`, fn as jest.ProvidesCallback, timeout);
    },
    describe: (title, fn) => {
      if (!m.length) return describe(title, fn);
      if (CI) return describe(title, () => failing('every test of this group'));
      warn(title, m);
      return describe.skip(`${title} [skipped: ${message(m)}]`, fn);
    },
  };
}
