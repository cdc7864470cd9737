import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diff } from '../../src/install/files.js';

test('--dry-run\'s diff works in a private temp dir: a planted /tmp/vkernel-diff-<pid> link is never written through', async () => {
  const victim = mkdtempSync(join(tmpdir(), 'vk-victim-'));
  const planted = join(tmpdir(), `vkernel-diff-${process.pid}`);
  rmSync(planted, { recursive: true, force: true });
  symlinkSync(victim, planted);
  try {
    expect(await diff('/etc/x.conf', 'a\n', 'b\n')).toContain('+b');
    expect(readdirSync(victim)).toEqual([]);
  } finally {
    rmSync(planted, { force: true });
    rmSync(victim, { recursive: true, force: true });
  }
});

test('diff leaves no temp dir behind', async () => {
  const before = readdirSync(tmpdir()).filter((n) => n.startsWith('vkernel-diff-'));
  await diff('/f', undefined, 'x\n');
  expect(readdirSync(tmpdir()).filter((n) => n.startsWith('vkernel-diff-') && !before.includes(n))).toEqual([]);
});
