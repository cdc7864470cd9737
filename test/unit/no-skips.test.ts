import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * No test may go green by skipping itself: a test that needs something of the host says so with
 * needs(...) from test/helpers/prereq.ts, which fails under CI=true and skips visibly outside it.
 * This scans the suite for the other ways to skip (jest's .skip/.todo/x-prefixed forms, a test or
 * describe picked by a condition).
 */
const root = new URL('../../', import.meta.url).pathname;
const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? files(join(d, e.name)) : /\.(ts|mjs|js)$/.test(e.name) ? [join(d, e.name)] : []);

const SKIPS = [
  /\b(describe|test|it)\s*\.\s*(skip|todo)\b/,
  /\b(xdescribe|xtest|xit)\s*\(/,
  /\?\s*(describe|test|it)(\.\w+)?\s*:\s*(describe|test|it)\b/,
];

test('no conditional or unconditional skip in test/ outside test/helpers/prereq.ts', () => {
  const found: string[] = [];
  for (const f of files(join(root, 'test'))) {
    const rel = relative(root, f);
    if (rel === 'test/helpers/prereq.ts' || rel === 'test/unit/no-skips.test.ts') continue;
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (SKIPS.some((re) => re.test(line))) found.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(found).toEqual([]);
});

test.each([
  ['(hasRtGroups ? describe : describe.skip)(\'x\', () => {'],
  ['(ok ? test : test.skip)(\'x\', async () => {'],
  ['test.skip(\'x\', () => {})'],
  ['  it.todo(\'later\');'],
  ['xit(\'x\', () => {})'],
])('the scan sees %s', (line) => {
  expect(SKIPS.some((re) => re.test(line))).toBe(true);
});
