import { readFileSync } from 'node:fs';
import { CALLER_NOFILE, limitLines, MIN_SOFT, nofileToRestore, takeCallerNofile } from '../../src/host/limits.js';

/** /proc/self/limits of a bun process whose caller's soft limit was 1024 (Linux 6.1's format) */
const raised = (soft: string, hard: string) => [
  'Limit                     Soft Limit           Hard Limit           Units     ',
  'Max core file size        0                    unlimited            bytes     ',
  `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     `,
  'Max nice priority         0                    0                    ',
  '',
].join('\n');

describe('the open files limit bun raised, put back to the caller\'s', () => {
  test('the lines of /proc/self/limits: name, soft, hard', () => {
    expect(limitLines(raised('20000', '20000'))).toEqual([
      ['Max core file size', '0', 'unlimited'], ['Max open files', '20000', '20000'], ['Max nice priority', '0', '0'],
    ]);
    expect(limitLines(raised('18446744073709551614', '18446744073709551614'))[1]).toEqual(['Max open files', '18446744073709551614', '18446744073709551614']);
    expect(limitLines(readFileSync('/proc/self/limits', 'utf8'))).toHaveLength(16);
  });

  test('the caller\'s soft limit under ours: set it, the hard one kept', () => {
    expect(nofileToRestore('1024', raised('20000', '20000'))).toEqual([1024n, 20000n]);
    expect(nofileToRestore(String(MIN_SOFT), raised('1048576', '2000000'))).toEqual([MIN_SOFT, 2000000n]);
  });

  test('nothing to do: no caller\'s limit, the same, above ours (bun only raises), under the least the engine keeps, not a number', () => {
    expect(MIN_SOFT).toBeGreaterThanOrEqual(8n); // (the engine failed to create with 4)
    for (const caller of [undefined, '20000', '30000', String(MIN_SOFT - 1n), '4', '0', '', '1e3', '-1', ' 1024', '1024\n', 'unlimited', '9'.repeat(21)]) {
      expect([caller, nofileToRestore(caller, raised('20000', '20000'))]).toEqual([caller, undefined]);
    }
    expect(nofileToRestore('1024', 'Limit\n')).toBeUndefined();
  });

  test('the variable is taken out of what is passed on, whatever it holds', () => {
    const env: NodeJS.ProcessEnv = { [CALLER_NOFILE]: 'x', PATH: '/bin' };
    expect(takeCallerNofile(env)).toBe('x');
    expect(env).toEqual({ PATH: '/bin' });
    expect(takeCallerNofile(env)).toBeUndefined();
  });
});
