import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/fixtures.js';

/**
 * The per-container and host-wide locks (src/store/lock.ts) under both engines: the compiled bun
 * engine's bun:ffi flock and node's util-linux flock child. Every taker is a real process on the
 * built code; holders are SIGKILLed at each point of an acquisition.
 */
const WORKER = join(REPO, 'test/integration/lock-worker.mjs');
const BUN = join(REPO, 'node_modules/@oven/bun-linux-x64-baseline/bin/bun');
const ENGINES = [['node', process.execPath, 'util-linux'], ['bun', BUN, 'bun:ffi']] as const;

const dir = (p: string) => mkdtempSync(join(tmpdir(), p));
const worker = (bin: string, args: string[]) => execa(bin, [WORKER, ...args], { reject: false, stdin: 'ignore' });

/** resolves when the worker printed `line` (its stdout so far otherwise rejects on exit) */
function waitFor(p: ResultPromise, line: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout?.on('data', (d: Buffer) => {
      out += d;
      const m = line.exec(out);
      if (m) resolve(m[0]);
    });
    p.then((r) => reject(new Error(`worker exited (${r.exitCode ?? r.signal}) before ${line}: ${out} ${String(r.stderr)}`)), reject);
  });
}

async function take(bin: string, root: string, name: string, timeoutMs = 5000): Promise<number> {
  const r = await worker(bin, ['take', root, name, String(timeoutMs)]);
  if (r.exitCode !== 0) throw new Error(`take failed: ${r.stdout} ${r.stderr}`);
  return Number(/TOOK ([\d.]+)/.exec(r.stdout)?.[1]);
}

describe.each(ENGINES)('%s engine', (_engine, bin, mechanism) => {
  test(`uses ${mechanism}`, async () => {
    const r = await worker(bin, ['take', dir('vk-lk-'), 'c', '1000']);
    expect(r.stdout).toContain(`MECH ${mechanism}`);
  });

  test.each(['open', 'opened', 'locked', 'held', 'in-fn', 'unlinked'])('a holder SIGKILLed at "%s": the next taker proceeds at once', async (step) => {
    const root = dir('vk-lk-');
    const holder = worker(bin, ['hold', root, 'ctr', step]);
    await waitFor(holder, new RegExp(`AT ${step}`));
    holder.kill('SIGKILL');
    await holder;
    // the lock (had it been taken) is the kernel's to drop: a taker must not wait for any deadline
    expect(await take(bin, root, 'ctr', 3000)).toBeLessThan(1000);
    expect(readdirSync(root)).toEqual([]);
  }, 20000);

  test('a holder that is alive keeps others out until it dies', async () => {
    const root = dir('vk-lk-');
    const holder = worker(bin, ['hold', root, 'ctr', 'in-fn']);
    await waitFor(holder, /AT in-fn/);
    const r = await worker(bin, ['take', root, 'ctr', '300']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/timed out waiting for lock .*vkernel@ctr\.lock \(another process holds it/);
    holder.kill('SIGKILL');
    await holder;
    expect(await take(bin, root, 'ctr')).toBeLessThan(1000);
  }, 20000);

  test('a child started under the lock does not inherit it (the holder dies, the child lives on)', async () => {
    const root = dir('vk-lk-');
    const holder = worker(bin, ['hold-child', root, 'ctr']);
    const child = Number(/\d+/.exec(await waitFor(holder, /CHILD \d+\nAT held/))?.[0]);
    holder.kill('SIGKILL');
    await holder;
    try {
      expect(existsSync(`/proc/${child}`)).toBe(true);
      expect(await take(bin, root, 'ctr', 3000)).toBeLessThan(1000);
    } finally {
      process.kill(child, 'SIGKILL');
    }
  }, 20000);

  test('a leftover lock file is no obstacle: empty, or naming a live process (pid reuse), or a dead one', async () => {
    const root = dir('vk-lk-');
    for (const content of ['', String(process.pid), '999999999', 'garbage']) {
      writeFileSync(join(root, 'vkernel@ctr.lock'), content);
      expect(await take(bin, root, 'ctr', 3000)).toBeLessThan(1000);
      expect(readdirSync(root)).toEqual([]);
    }
  }, 20000);
});

test('racing takers of both engines never both hold the lock; none is lost; no file is left', async () => {
  const root = dir('vk-lk-');
  const work = dir('vk-lk-work-');
  const n = 25;
  const procs = [0, 1, 2, 3, 4, 5].map((i) => worker(ENGINES[i % 2][1], ['race', root, 'ctr', String(n), work]));
  const rs = await Promise.all(procs);
  for (const r of rs) expect([r.exitCode, r.stdout.trim().split('\n').at(-1)]).toEqual([0, 'DONE']);
  expect(Number(readFileSync(join(work, 'count'), 'utf8'))).toBe(6 * n);
  expect(readdirSync(root)).toEqual([]);
}, 120000);

test('racing takers while some are SIGKILLed at random moments: the survivors never both hold and all finish', async () => {
  const root = dir('vk-lk-');
  const work = dir('vk-lk-work-');
  const survivors = [0, 1, 2, 3].map((i) => worker(ENGINES[i % 2][1], ['race', root, 'ctr', '20', work]));
  const victims = [0, 1, 2, 3, 4, 5].map((i) => worker(ENGINES[i % 2][1], ['race', root, 'ctr', '100000', work]));
  for (const v of victims) {
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 250));
    v.kill('SIGKILL');
  }
  await Promise.all(victims);
  const rs = await Promise.all(survivors);
  for (const r of rs) expect([r.exitCode, r.stdout.trim().split('\n').at(-1)]).toEqual([0, 'DONE']);
  expect(readdirSync(root)).toEqual([]);
}, 120000);

test.each(ENGINES)('uncontended acquire + release (%s)', async (engine, bin) => {
  const r = await worker(bin, ['time', dir('vk-lk-'), '50']);
  expect(r.exitCode).toBe(0);
  const us = Number(/US (\d+)/.exec(r.stdout)?.[1]);
  process.stdout.write(`lock acquire+release, uncontended, ${engine}: ${us} µs\n`);
  expect(us).toBeGreaterThan(0);
}, 60000);
