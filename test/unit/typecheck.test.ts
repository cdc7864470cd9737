import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const REPO = new URL('../../', import.meta.url).pathname;

/**
 * The test tree is TypeScript as strict as src/ (tsconfig.test.json: src/ and test/, noEmit), so a
 * test that calls something that does not exist, or reads a field a result does not have, fails
 * here and not only when (and if) that test runs. jest's ts-jest runs with isolatedModules, which
 * checks no types. (bench/ and scripts/ are JavaScript, or bun scripts importing .ts paths.)
 */
test('tsc --noEmit -p tsconfig.test.json: no type errors in src/ and test/', () => {
  let out = '';
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', join(REPO, 'tsconfig.test.json')], { cwd: REPO, encoding: 'utf8' });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? e);
  }
  expect(out).toBe('');
}, 120_000);
