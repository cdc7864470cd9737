import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Helpers of the VM tier's guest scripts (test/vm/guest/lib.sh) that compute a check's bound: run
 * here with the host's sh on counters written as the rt v2 supervisor logs them. (The checks
 * themselves run in the VM tier against the real supervisor.)
 */
const LIB = fileURLToPath(new URL('../vm/guest/lib.sh', import.meta.url));
/** fifobounds BEFORE AFTER WALL_US [LEAST] as [least, most] */
const fifobounds = (before: string, after: string, wallUs: number, least?: number): number[] =>
  execFileSync('sh', ['-c', '. "$0"; fifobounds "$@"', LIB, before, after, String(wallUs), ...(least === undefined ? [] : [String(least)])], { encoding: 'utf8' }).trim().split(' ').map(Number);
/** a line of the supervisor's counters (src/supervisor/main.ts stats) */
const stats = (windowMs: number, waits: number, waitedMs: number) =>
  `self-limit: window ${windowMs} ms, sweep ${Math.round(windowMs / 5)} ms, 1.20 ms CPU per sample, ${waits} wait(s) of ${waitedMs.toFixed(2)} ms; its CPU since it started supervising 3.10 ms per 100 ms (cap 20 % of one CPU); 40 samples, 8 demotions (0 early)`;
/** a line the supervisor logs when its self-limit sets the window (src/supervisor/main.ts) */
const widened = (from: number, to: number) =>
  `2026-12-04T18:10:09.721Z supervisor: its samples cost 95.61 ms CPU: window ${from} -> ${to} ms, sweep 20 -> ${Math.round(to / 5)} ms (its CPU at most 20 % of one CPU)`;
const lines = (...l: string[]) => l.join('\n');

describe('fifobounds: the FIFO share the rt v2 budget checks accept (rtv2.budget_held, rtv2sd.budget_held, rtv2.supervisor_killed_recovers)', () => {
  test('a 100 ms window and no waits: 20..31 % (the bounds before the supervisor reported anything)', () => {
    expect(fifobounds(stats(100, 0, 0), stats(100, 0, 0), 4_000_000)).toEqual([20, 31]);
  });

  test('CI\'s run of stop 27: a 519 ms window and a 417 ms self-limit wait in the span: at least 18 % (it measured 19 %)', () => {
    expect(fifobounds(stats(519, 0, 0), stats(519, 1, 416.68), 4_003_668)).toEqual([18, 33]);
  });

  test('waits before the span do not lower the least; waits in it do, by their length', () => {
    expect(fifobounds(stats(519, 1, 416.68), stats(519, 1, 416.68), 4_003_668)[0]).toBe(20);
    expect(fifobounds(stats(1000, 2, 500), stats(1000, 5, 2000), 4_000_000)[0]).toBe(8);
  });

  test('the widest window counts: in the counters at either end, or set in the span (the log between them)', () => {
    expect(fifobounds(stats(300, 0, 0), stats(1000, 0, 0), 4_000_000)).toEqual([17, 36]);
    // CI's run after stop 27 (supervisor_killed_recovers): windows set to 1000, 831, 640 ms in the
    // span and back to 100 ms at its end; it measured 17 % against a least of 15
    expect(fifobounds(stats(100, 0, 0), lines(widened(100, 1000), widened(1000, 831), widened(831, 640), widened(640, 100), stats(100, 0, 0)), 4_002_513, 15)).toEqual([15, 36]);
    // a window narrowed in the span (it was wider at the span's start) is no wider than the counters say
    expect(fifobounds(stats(100, 0, 0), lines(widened(100, 100), stats(100, 0, 0)), 4_000_000)).toEqual([20, 31]);
  });

  test('LEAST, when given, caps the least (15 after a restart)', () => {
    expect(fifobounds(stats(100, 0, 0), stats(100, 0, 0), 4_000_000, 15)).toEqual([15, 31]);
  });

  test('a counter missing on either side, or no span: 20..31 (never wider without the supervisor saying why)', () => {
    expect(fifobounds('', stats(1000, 5, 2000), 4_000_000)).toEqual([20, 31]);
    expect(fifobounds(stats(1000, 0, 0), '', 4_000_000)).toEqual([20, 31]);
    expect(fifobounds(stats(1000, 0, 0), stats(1000, 5, 2000), 0)).toEqual([20, 31]);
  });
});

const supwaited = (before: string, after: string): string =>
  execFileSync('sh', ['-c', '. "$0"; supwaited "$@"', LIB, before, after], { encoding: 'utf8' }).trim();

describe('supwaited: the self-limit waits rtv2.exec_follows adds to its bound', () => {
  test('the ms waited between the two counters, rounded up', () => {
    expect(supwaited(stats(100, 0, 0), stats(100, 8, 966.79))).toBe('967');
    expect(supwaited(stats(100, 2, 300), stats(100, 2, 300))).toBe('0');
  });
  test('a counter missing: nothing (the check then fails, with both printed)', () => {
    expect(supwaited('', stats(100, 8, 966.79))).toBe('');
    expect(supwaited(stats(100, 8, 966.79), '')).toBe('');
  });
});
