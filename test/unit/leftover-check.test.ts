import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const check = require('../global/leftovers.cjs') as {
  snapshot(): Record<string, string[]>;
  find(base: Record<string, string[]>, pids: string[]): string[];
};

/** the end-of-run leftover check of the integration and e2e tiers (test/global/leftovers.cjs) finds what a test left */
test('a file of ours in a new test root is a leftover; one in a root that was there before is not', () => {
  const old = mkdtempSync(join(tmpdir(), 'vk-root-424242-'));
  writeFileSync(join(old, 'vkernel@before.json'), '{}');
  const base = check.snapshot();
  const fresh = mkdtempSync(join(tmpdir(), 'vk-root-424242-'));
  const other = mkdtempSync(join(tmpdir(), 'vk-root-424243-'));
  try {
    expect(check.find(base, ['424242'])).toEqual([]);
    // another run's root (another pid) is not this run's
    writeFileSync(join(other, 'vkernel@d.json'), '{}');
    writeFileSync(join(fresh, 'vkernel@c-424242-x.json'), '{}');
    mkdirSync(join(fresh, 'not-ours'));
    expect(check.find(base, ['424242'])).toEqual([`file ${join(fresh, 'vkernel@c-424242-x.json')}`]);
    // a state of ours handed to runc's container directory, left with runc's state gone (runc list misses it)
    mkdirSync(join(fresh, 'c-424242-y'));
    writeFileSync(join(fresh, 'c-424242-y', 'vkernel.json'), '{}');
    expect(check.find(base, ['424242'])).toEqual([`file ${join(fresh, 'vkernel@c-424242-x.json')}`, `file ${join(fresh, 'c-424242-y', 'vkernel.json')}`]);
  } finally {
    rmSync(old, { recursive: true, force: true });
    rmSync(fresh, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  }
});
