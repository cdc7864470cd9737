#!/usr/bin/env node
// scripts/check-tier.mjs TIER RESULTS.json [LEFTOVERS]: judges one jest tier of `npm test` from
// jest's --json output. Fails (exit 1, saying why) when the results are missing, the tier ran zero
// tests, a test file of the tier did not run (e.g. failed to load), any test failed, (under CI=true)
// any test was skipped or left as todo, or the leftover check (test/global/leftovers.cjs) wrote a
// non-empty list to LEFTOVERS. Prints one summary line.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const [tier, file, leftoversFile] = process.argv.slice(2);
if (!tier || !file) {
  console.error('usage: scripts/check-tier.mjs TIER RESULTS.json [LEFTOVERS]');
  process.exit(2);
}
const repo = new URL('..', import.meta.url).pathname;
const ci = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());

// the tier's jest project: its testPathIgnorePatterns leave out files (test/vm/debug/ outside the
// debug-kernel tier) that are then not expected to run
const project = createRequire(import.meta.url)('../jest.config.cjs').projects.find((p) => p.displayName === tier);
const ignore = (project?.testPathIgnorePatterns ?? []).map((s) => new RegExp(s.replaceAll('<rootDir>', repo.replace(/\/$/, ''))));

/** every *.test.ts under test/<tier> that the jest project selects (testMatch less testPathIgnorePatterns) */
function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.ts') && !ignore.some((re) => re.test(p)) ? [relative(repo, p)] : [];
  });
}

/** the first lines of a failure (what failed, expected, received, where), one line, no colours */
function gist(message = '') {
  // eslint-disable-next-line no-control-regex
  const lines = message.replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  const at = lines.findIndex((l) => l.startsWith('at '));
  const head = lines.slice(0, at >= 0 ? Math.min(at, 10) : 10);
  return [...head, ...(at >= 0 ? [lines[at]] : [])].join(' | ').slice(0, 700);
}

const problems = [];
const expected = testFiles(join(repo, 'test', tier)).sort();
if (expected.length === 0) problems.push(`no test files under test/${tier}`);
let r;
if (!existsSync(file)) problems.push(`no results (${file}): jest did not run, or its globalTeardown failed`);
else r = JSON.parse(readFileSync(file, 'utf8'));
if (r) {
  const ran = r.testResults.map((t) => relative(repo, t.name)).sort();
  for (const f of expected) if (!ran.includes(f)) problems.push(`${f} did not run`);
  if (r.numTotalTests === 0) problems.push('ran zero tests');
  if (r.numFailedTests > 0) problems.push(`${r.numFailedTests} failed`);
  if (r.numRuntimeErrorTestSuites > 0) problems.push(`${r.numRuntimeErrorTestSuites} test files did not load`);
  const skipped = r.numPendingTests + r.numTodoTests;
  if (ci && skipped > 0) {
    const names = r.testResults.flatMap((t) => t.assertionResults.filter((a) => a.status === 'pending' || a.status === 'todo').map((a) => `${relative(repo, t.name)}: ${a.fullName}`));
    problems.push(`CI=true: ${skipped} skipped (${names.join('; ')})`);
  }
  if (!r.success && problems.length === 0) problems.push('jest reports failure');
  // the failed tests by name with the first line of each failure: the end of a long run's output is
  // what a reader (and CI's summary) sees
  for (const t of r.testResults) {
    for (const a of t.assertionResults.filter((x) => x.status === 'failed')) {
      console.error(`==> ${tier} failed: ${relative(repo, t.name)} › ${a.fullName}: ${gist(a.failureMessages?.[0])}`);
    }
    if (t.status === 'failed' && t.assertionResults.length === 0) console.error(`==> ${tier} failed: ${relative(repo, t.name)}: ${gist(t.message)}`);
  }
  console.log(`==> ${tier}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped, ${r.numTotalTests} total in ${ran.length}/${expected.length} files`);
}
// what the tests left behind, one line each (the leftover check writes the list instead of failing
// jest's globalTeardown, which would lose the results above)
const left = leftoversFile && existsSync(leftoversFile) ? readFileSync(leftoversFile, 'utf8').split('\n').filter(Boolean) : [];
for (const l of left) console.error(`==> ${tier} failed: left behind: ${l}`);
if (left.length) problems.push(`the tests left ${left.length} thing(s) behind (test/global/leftovers.cjs)`);
if (problems.length) {
  console.error(`==> ${tier} FAILED: ${problems.join('; ')}`);
  process.exit(1);
}
