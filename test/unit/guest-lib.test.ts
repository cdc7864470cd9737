import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Helpers of the VM tier's guest scripts (test/vm/guest/lib.sh) that compute a check's bound: run
 * here with the host's sh on counters written as the rt v2 supervisor logs them. (The checks
 * themselves run in the VM tier against the real supervisor.)
 */
const LIB = fileURLToPath(new URL('../vm/guest/lib.sh', import.meta.url));
const fifofloor = (before: string, after: string, wallUs: number): number =>
  Number(execFileSync('sh', ['-c', '. "$0"; fifofloor "$1" "$2" "$3"', LIB, before, after, String(wallUs)], { encoding: 'utf8' }).trim());
/** a line of the supervisor's counters (src/supervisor/main.ts stats) */
const stats = (windowMs: number, waits: number, waitedMs: number) =>
  `self-limit: window ${windowMs} ms, sweep ${Math.round(windowMs / 5)} ms, 1.20 ms CPU per sample, ${waits} wait(s) of ${waitedMs.toFixed(2)} ms; its CPU since it started supervising 3.10 ms per 100 ms (cap 20 % of one CPU); 40 samples, 8 demotions (0 early)`;

describe('fifofloor: the least FIFO share rtv2(sd).budget_held accepts', () => {
  test('a 100 ms window and no waits: 20 % (the bound before the supervisor reported anything)', () => {
    expect(fifofloor(stats(100, 0, 0), stats(100, 0, 0), 4_000_000)).toBe(20);
  });

  test('CI\'s run: a 519 ms window and a 417 ms self-limit wait in the span: 18 % (it measured 19 %)', () => {
    expect(fifofloor(stats(519, 0, 0), stats(519, 1, 416.68), 4_003_668)).toBe(18);
  });

  test('waits before the span do not lower it; waits in it do, by their length', () => {
    expect(fifofloor(stats(519, 1, 416.68), stats(519, 1, 416.68), 4_003_668)).toBe(20);
    expect(fifofloor(stats(1000, 2, 500), stats(1000, 5, 2000), 4_000_000)).toBe(8);
  });

  test('the larger window of the two counts (the self-limit widens it as samples cost more)', () => {
    expect(fifofloor(stats(300, 0, 0), stats(1000, 0, 0), 4_000_000)).toBe(17);
  });

  test('a counter missing on either side, or no span: 20 (never lower without the supervisor saying why)', () => {
    expect(fifofloor('', stats(1000, 5, 2000), 4_000_000)).toBe(20);
    expect(fifofloor(stats(1000, 0, 0), '', 4_000_000)).toBe(20);
    expect(fifofloor(stats(1000, 0, 0), stats(1000, 5, 2000), 0)).toBe(20);
  });
});
