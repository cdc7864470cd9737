// /proc/<pid>/stat parsing (store/proc.ts): a comm may hold spaces and parentheses, so fields after
// it are counted from its last ')'. Fake /proc trees stand for the kernel's text here.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskPolicy } from '../../src/kernel/backends/rt-v2.js';
import { startTime, statField, statFields } from '../../src/store/proc.js';

/** a stat line of pid 42 with comm `comm`: field n (from 3) holds "f<n>", 22 the start time, 41 the policy */
function statLine(comm: string): string {
  const rest = Array.from({ length: 50 }, (_, i) => (i + 3 === 22 ? '98765' : i + 3 === 41 ? '1' : `f${i + 3}`));
  return `42 (${comm}) ${rest.join(' ')}\n`;
}

describe('statFields', () => {
  it.each(['sh', 'a b', 'x) (y z', ') )', 'vkernel-engine'])('counts fields after comm "%s" from its last ")"', (comm) => {
    const st = statLine(comm);
    expect(statFields(st, 2, 3, 14, 15)).toEqual([comm, 'f3', 'f14', 'f15']);
    expect(statField(st, 22)).toBe('98765');
    expect(statField(st, 41)).toBe('1');
  });

  it('start time and policy from a /proc tree, undefined where the process is gone', () => {
    const proc = mkdtempSync(join(tmpdir(), 'vk-proc-'));
    try {
      mkdirSync(join(proc, '42'));
      writeFileSync(join(proc, '42', 'stat'), statLine('x) 7 (y'));
      expect(startTime(42, proc)).toBe('98765');
      expect(taskPolicy(42, proc)).toBe(1);
      expect(startTime(43, proc)).toBeUndefined();
      expect(taskPolicy(43, proc)).toBeUndefined();
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});
