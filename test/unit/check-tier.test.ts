// scripts/check-tier.mjs judges each tier of `npm test`: a test file the tier's jest project selects
// that did not run fails the tier; a file the project leaves out (test/vm/debug/ outside the
// debug-kernel tier) is not expected. CI failed once because the second half was missing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'check-tier-'));

/** jest --json output in which exactly `files` ran, each with one passing test */
function results(files: string[]): string {
  const out = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(out, JSON.stringify({
    testResults: files.map((f) => ({ name: join(repo, f), assertionResults: [] })),
    numTotalTests: files.length, numPassedTests: files.length, numFailedTests: 0,
    numRuntimeErrorTestSuites: 0, numPendingTests: 0, numTodoTests: 0, success: true,
  }));
  return out;
}

function check(tier: string, file: string, env: Record<string, string> = {}, leftovers?: string) {
  const r = spawnSync(process.execPath, [join(repo, 'scripts/check-tier.mjs'), tier, file, ...(leftovers ? [leftovers] : [])], {
    encoding: 'utf8', env: { ...process.env, VKVM_KERNEL_CONFIG: '', ...env },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

const vmTop = readdirSync(join(repo, 'test/vm')).filter((f) => f.endsWith('.test.ts')).map((f) => `test/vm/${f}`);
const vmDebug = readdirSync(join(repo, 'test/vm/debug')).filter((f) => f.endsWith('.test.ts')).map((f) => `test/vm/debug/${f}`);

test('vm tier: every top-level suite ran, debug/ not expected → pass', () => {
  const r = check('vm', results(vmTop));
  expect(r.out).toContain(`in ${vmTop.length}/${vmTop.length} files`);
  expect(r.status).toBe(0);
});

test('vm tier: one top-level suite missing → fail, naming it', () => {
  const r = check('vm', results(vmTop.slice(1)));
  expect(r.status).toBe(1);
  expect(r.out).toContain(`${vmTop[0]} did not run`);
});

test('debug-kernel tier (VKVM_KERNEL_CONFIG=debug): debug/ suites expected too', () => {
  expect(vmDebug.length).toBeGreaterThan(0);
  const without = check('vm', results(vmTop), { VKVM_KERNEL_CONFIG: 'debug' });
  expect(without.status).toBe(1);
  expect(without.out).toContain(`${vmDebug[0]} did not run`);
  expect(check('vm', results([...vmTop, ...vmDebug]), { VKVM_KERNEL_CONFIG: 'debug' }).status).toBe(0);
});

test('a failed test is named at the end, with the first line of its failure', () => {
  const out = results(vmTop);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  r.numFailedTests = 1;
  r.success = false;
  r.testResults[0].assertionResults = [{ status: 'failed', fullName: 'suite › the row', failureMessages: ['\nError: expect(received).toBeLessThan(expected)\n\nExpected: < 30\nReceived:   31\n    at Object.<anonymous> (test/x.test.ts:1:2)'] }];
  writeFileSync(out, JSON.stringify(r));
  const c = check('vm', out);
  expect(c.status).toBe(1);
  expect(c.out).toContain(`==> vm failed: ${vmTop[0]} › suite › the row: Error: expect(received).toBeLessThan(expected) | Expected: < 30 | Received:   31 | at Object.<anonymous> (test/x.test.ts:1:2)\n`);
});

// issue 10 §4: a tier cannot pass by running nothing or by skipping under CI
describe('a tier that ran nothing or skipped fails', () => {
  const withResults = (edit: (r: { numTotalTests: number; numPassedTests: number; numPendingTests: number; testResults: { assertionResults: unknown[] }[] }) => void) => {
    const out = results(vmTop);
    const r = JSON.parse(readFileSync(out, 'utf8'));
    edit(r);
    writeFileSync(out, JSON.stringify(r));
    return out;
  };

  test('zero tests → fail', () => {
    const c = check('vm', withResults((r) => { r.numTotalTests = 0; r.numPassedTests = 0; }));
    expect([c.status, c.out]).toEqual([1, expect.stringContaining('ran zero tests')]);
  });

  test('a skipped test under CI=true → fail, naming it; outside CI → pass', () => {
    const out = withResults((r) => {
      r.numPendingTests = 1;
      r.testResults[0].assertionResults = [{ status: 'pending', fullName: 'suite › needs RT groups' }];
    });
    const ci = check('vm', out, { CI: 'true' });
    expect([ci.status, ci.out]).toEqual([1, expect.stringContaining(`CI=true: 1 skipped (${vmTop[0]}: suite › needs RT groups)`)]);
    expect(check('vm', out, { CI: '' }).status).toBe(0);
  });

  test('no results file (jest did not run, or its teardown failed) → fail', () => {
    const c = check('vm', join(dir, 'missing.json'));
    expect([c.status, c.out]).toEqual([1, expect.stringContaining('no results')]);
  });

  test('the leftover check\'s list (written instead of a throw) → fail, each thing named; an absent or empty list → pass', () => {
    const list = join(dir, 'leftovers-vm');
    writeFileSync(list, 'container die-1-x under /tmp/vk-root-1-a (runc list)\ncgroup /sys/fs/cgroup/cpu/die-1-x\n');
    const c = check('vm', results(vmTop), {}, list);
    expect(c.status).toBe(1);
    expect(c.out).toContain('==> vm failed: left behind: container die-1-x under /tmp/vk-root-1-a (runc list)\n');
    expect(c.out).toContain('==> vm failed: left behind: cgroup /sys/fs/cgroup/cpu/die-1-x\n');
    expect(c.out).toContain('the tests left 2 thing(s) behind');
    expect(check('vm', results(vmTop), {}, join(dir, 'no-such-list')).status).toBe(0);
    writeFileSync(list, '');
    expect(check('vm', results(vmTop), {}, list).status).toBe(0);
  });

  test('a tier without test files → fail', () => {
    const c = check('no-such-tier', results([]));
    expect([c.status, c.out]).toEqual([1, expect.stringContaining('no test files under test/no-such-tier')]);
  });
});
