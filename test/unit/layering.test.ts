import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Issue 10 §3, the shape of src/ as rules a change cannot break unnoticed:
 *  - cli/ is the edge: no module outside it imports from it (runc's invocation model lives in
 *    oci/; lifecycle/, oci/, kernel/, module/ and the rest never reach back into the CLI);
 *  - one way to start programs: node:child_process is loaded by src/host/spawn.ts only (a type
 *    import elsewhere is fine); oci/runc.ts's Bun.spawn for runc under the compiled engine is the
 *    one other path (its cost is measured there), and nothing else calls Bun.spawn.
 */
const SRC = join(new URL('../../', import.meta.url).pathname, 'src');
const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? files(join(d, e.name)) : /\.(ts|js)$/.test(e.name) && !e.name.endsWith('.generated.js') ? [join(d, e.name)] : []);

/** relative module specifiers of every static import/export-from and dynamic import() in `text` */
export function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

/** lines that load node:child_process for its values (a type import or `typeof import(...)` loads nothing) */
export function childProcessLoads(text: string): string[] {
  const CP = String.raw`['"](?:node:)?child_process['"]`;
  const loads = [
    new RegExp(String.raw`getBuiltinModule\(\s*${CP}`),
    new RegExp(String.raw`^\s*(?:import|export)\s+(?!type\b)[^;]*\bfrom\s*${CP}`),
    new RegExp(String.raw`(?<!typeof\s*)\bimport\(\s*${CP}`),
    new RegExp(String.raw`\brequire\(\s*${CP}`),
  ];
  return text.split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l) && loads.some((re) => re.test(l)));
}

/** lines (not comments) that reach bun's own spawn (`Bun.spawn`, `Bun?.spawn`, `Bun.spawnSync`) */
export function bunSpawns(text: string): string[] {
  return text.split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l) && /\bBun\b[^;]*?\??\.\s*spawn(Sync)?\b/.test(l));
}

test('no module outside src/cli imports from src/cli', () => {
  const found: string[] = [];
  for (const f of files(SRC)) {
    if (relative(SRC, f).startsWith('cli/')) continue;
    for (const s of specifiers(readFileSync(f, 'utf8'))) {
      if (!s.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(f), s));
      if (target === 'cli' || target.startsWith('cli/')) found.push(`${relative(SRC, f)} imports ${s}`);
    }
  }
  expect(found).toEqual([]);
});

test('node:child_process is loaded by src/host/spawn.ts only; Bun.spawn only in src/oci/runc.ts', () => {
  const found: string[] = [];
  for (const f of files(SRC)) {
    const rel = relative(SRC, f);
    const text = readFileSync(f, 'utf8');
    if (rel !== 'host/spawn.ts') for (const l of childProcessLoads(text)) found.push(`${rel}: ${l.trim()}`);
    if (rel !== 'oci/runc.ts') for (const l of bunSpawns(text)) found.push(`${rel}: ${l.trim()}`);
  }
  expect(found).toEqual([]);
});

test.each([
  ["import { spawn } from 'node:child_process';", 1],
  ["const { spawn } = await import('child_process');", 1],
  ["const c = process.getBuiltinModule('node:child_process').spawn(a, b);", 1],
  ["import type { ChildProcess } from 'node:child_process';", 0],
  ["const cp = (): typeof import('node:child_process') => x;", 0],
  ["const cp = (): typeof import('node:child_process') => process.getBuiltinModule('node:child_process');", 1],
  ["const { execFileSync } = require('child_process');", 1],
])('the scan sees a load of child_process in %s', (line, n) => {
  expect(childProcessLoads(line).length).toBe(n);
});

test.each([
  ['const s = (globalThis as { Bun?: { spawn?: F } }).Bun?.spawn;', 1],
  ['Bun.spawnSync(["x"]);', 1],
  ['/** under bun runc is started with Bun.spawn (oci/runc.ts) */', 0],
])('the scan sees a use of Bun.spawn in %s', (line, n) => {
  expect(bunSpawns(line).length).toBe(n);
});

test('the scan sees imports of the CLI in every form', () => {
  expect(specifiers("import { a } from '../cli/main.js';\nexport { b } from \"../../cli/x.js\";\nawait import('../cli/commands/run.js');\nimport '../cli/side.js';"))
    .toEqual(['../cli/main.js', '../../cli/x.js', '../cli/commands/run.js', '../cli/side.js']);
});
