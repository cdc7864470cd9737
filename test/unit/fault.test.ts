import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { faultPoint, setFaultHook } from '../../src/store/fault.js';
import { armFaults, parseFaults } from '../../src/store/fault-inject.js';

const SRC = new URL('../../src/', import.meta.url).pathname;
const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
  const p = join(dir, e.name);
  if (e.isDirectory()) return files(p);
  return /\.ts$/.test(e.name) ? [p] : [];
});

afterEach(() => setFaultHook(undefined));

describe('fault points (the test aid) come from RuntimeEnv, read once, and stay off the production path', () => {
  test('a fault point ignores process.env: only what the start-up armed counts', () => {
    const before = process.env.VKERNEL_RUNTIME_TEST_FAULT;
    process.env.VKERNEL_RUNTIME_TEST_FAULT = 'fail-at=x';
    try {
      expect(() => faultPoint('x')).not.toThrow();
      armFaults('fail-at=x', 'create');
      expect(() => faultPoint('x')).toThrow('injected failure at x');
    } finally {
      if (before === undefined) delete process.env.VKERNEL_RUNTIME_TEST_FAULT;
      else process.env.VKERNEL_RUNTIME_TEST_FAULT = before;
    }
  });

  test('the n-th arrival, roles, trace', () => {
    const trace = join(mkdtempSync(join(tmpdir(), 'vk-fault-')), 'trace');
    armFaults(`fail-at=hook-create-runtime/p@2,fail-at=run/q,trace=${trace}`, 'hook-create-runtime');
    expect(() => faultPoint('q')).not.toThrow(); // run's, not this role's
    expect(() => faultPoint('p')).not.toThrow();
    expect(() => faultPoint('p')).toThrow('injected failure at p');
    expect(readFileSync(trace, 'utf8')).toBe(`hook-create-runtime fail p@2 ${process.pid}\n`);
    expect(parseFaults('after-create,kill-at=locked')).toEqual({ faults: [{ kind: 'fail', point: 'applied-all', n: 1 }, { kind: 'kill', role: undefined, point: 'locked', n: 1 }] });
  });

  test('a bad spec is a clear error', () => {
    for (const bad of ['kill-at=', 'explode', 'kill-at=a/b/c', 'fail-at=x@y']) expect(() => parseFaults(bad)).toThrow('VKERNEL_RUNTIME_TEST_FAULT=');
  });

  test('no module under src/ reads process.env but env.ts and the CLI edge; fault-inject is imported by the CLI only', () => {
    const readers: string[] = [];
    const importers: string[] = [];
    for (const f of files(SRC)) {
      const rel = relative(SRC, f);
      // code only: comments and string literals out (messages may name process.env)
      const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '').replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''");
      if (/process\.env\b/.test(text) && rel !== 'env.ts' && !rel.startsWith('cli/')) readers.push(rel);
      if (readFileSync(f, 'utf8').includes('fault-inject.js') && rel !== 'store/fault-inject.ts') importers.push(rel);
    }
    expect(readers).toEqual([]);
    expect(importers).toEqual(['cli/main.ts']);
    // the production side is a hook call: no parsing, no import of anything
    expect(readFileSync(join(SRC, 'store/fault.ts'), 'utf8')).not.toMatch(/^import /m);
  });
});
