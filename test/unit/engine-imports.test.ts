import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Issue 15, start-up of the compiled engine: bun's bundler hoists every `import ... from 'node:X'`
 * of a builtin to the top of the bundle, so a builtin imported by ANY module the engine can reach
 * (even one only `run`'s prepare or a module build uses) is loaded at every engine start, before
 * main(). Measured (perf stat task-clock, load ~10): the engine's start 70 ms CPU with zlib, crypto
 * and url imported statically, 33 ms without them (bun's own floor, a hello world, 33 ms).
 * Builtins beyond the few the hot path uses are loaded on first use
 * (`process.getBuiltinModule('node:zlib')`). This test bundles the engine's entry exactly as
 * scripts/build.mjs does and fails when a heavy builtin is back among its start-up imports.
 */
const REPO = new URL('../../', import.meta.url).pathname;
const BUN = join(REPO, 'node_modules/@oven/bun-linux-x64/bin/bun');
/** what every create/delete needs anyway (files, paths, signal numbers); node:child_process on first use (under bun runc is started with Bun.spawn) */
const HOT = new Set(['fs', 'path', 'os']);

test('the engine bundle loads only fs, path and os at start-up', () => {
  const out = execFileSync(BUN, ['build', join(REPO, 'src/cli/main.ts'), '--target', 'bun', '--external', '*.generated.js'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const builtins = new Set([...out.matchAll(/^import\s[^;]*?from\s*"(?:node:)?([a-z_/]+)";?$/gm)].map((m) => m[1]));
  expect(builtins.has('fs')).toBe(true); // the pattern still matches bun's output
  expect([...builtins].filter((b) => !HOT.has(b)).sort()).toEqual([]);
}, 60_000);

/**
 * The engine writes through src/log/out.ts, never process.stdout/process.stderr: under bun the first
 * touch of either costs ~27 ms CPU (the stream layer). Admin commands and installers run under node;
 * the rt v2 sentinel reads its stdin as a stream anyway.
 */
test('no process.stdout/process.stderr on the engine\'s paths', () => {
  const src = join(REPO, 'src');
  const found = execFileSync('grep', ['-rln', '--include=*.ts', '-e', 'process\\.stdout', '-e', 'process\\.stderr', src], { encoding: 'utf8' })
    .split('\n').filter(Boolean).map((f) => f.slice(src.length + 1))
    .filter((f) => !f.startsWith('cli/admin/') && !f.startsWith('install/') && f !== 'supervisor/sentinel.ts' && f !== 'log/out.ts');
  expect(found).toEqual([]);
});
