import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { StateStore, checkId, type ContainerState } from '../../src/store/state.js';
import { withLock } from '../../src/store/lock.js';

const state = (id: string, n: number): ContainerState => ({
  version: 1, id, bundle: '/b', created: 'now', policy: { 'sched.policy': 'fifo' }, sources: {}, helpers: { n }, applied: [],
});

test('round trip, list, remove; files are named vkernel@<id>.json (never a runc container dir)', () => {
  const root = mkdtempSync(join(tmpdir(), 'vk-store-'));
  const s = new StateStore(join(root, 'r'));
  expect(s.read('a')).toBeUndefined();
  s.write(state('a', 1));
  s.write(state('b.c', 2));
  expect(s.read('a')?.helpers.n).toBe(1);
  expect(s.list().sort()).toEqual(['a', 'b.c']);
  expect(readdirSync(join(root, 'r')).sort()).toEqual(['vkernel@a.json', 'vkernel@b.c.json']);
  s.remove('a');
  s.remove('a');
  expect(s.list()).toEqual(['b.c']);
});

test('ids that could escape the root are refused', () => {
  for (const bad of ['../x', 'a/b', '', '..', 'a b', 'x\n']) expect(() => checkId(bad)).toThrow('invalid container id format');
  expect(() => new StateStore('/tmp').path('../../etc/passwd')).toThrow();
});

test('a lock held by a dead process is taken over', async () => {
  const root = mkdtempSync(join(tmpdir(), 'vk-lock-'));
  writeFileSync(join(root, 'vkernel@c.lock'), '999999999');
  await expect(withLock(root, 'c', async () => 42, 2000)).resolves.toBe(42);
});

test('concurrent writers under the lock never lose an update (separate processes)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'vk-conc-'));
  new StateStore(root).write(state('c', 0));
  const worker = new URL('./store-worker.mjs', import.meta.url).pathname;
  const procs = Array.from({ length: 6 }, () => new Promise<number>((resolve, reject) => {
    const p = fork(worker, [root, '15'], { stdio: 'inherit' });
    p.on('exit', (code) => (code === 0 ? resolve(0) : reject(new Error(`worker exit ${code}`))));
  }));
  await Promise.all(procs);
  expect(new StateStore(root).read('c')?.helpers.n).toBe(6 * 15);
  expect(readdirSync(root)).toEqual(['vkernel@c.json']);
}, 60000);
