import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { StateStore, checkId, type ContainerState } from '../../src/store/state.js';
import { withLock } from '../../src/store/lock.js';
import { knownRoots } from '../../src/lifecycle/leftovers.js';
import { diesWithContainer, moduleAtDelete } from '../../src/lifecycle/undo.js';
import { registerRoot, registeredRoots } from '../../src/store/roots.js';

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

test('handToRunc: the state moves into runc\'s container directory, where read, list and remove find it; not without runc\'s state.json', () => {
  const root = mkdtempSync(join(tmpdir(), 'vk-store-'));
  const s = new StateStore(root);
  s.write(state('h', 3));
  expect(s.handToRunc('h')).toBe(false); // no runc container dir: stays beside it
  expect(readdirSync(root)).toEqual(['vkernel@h.json']);
  mkdirSync(join(root, 'h'));
  writeFileSync(join(root, 'h', 'state.json'), '{}');
  expect(s.handToRunc('h')).toBe(true);
  expect(readdirSync(root)).toEqual(['h']);
  expect(readdirSync(join(root, 'h')).sort()).toEqual(['state.json', 'vkernel.json']);
  expect(s.runcOwnedPath('h')).toBe(join(root, 'h', 'vkernel.json'));
  expect(s.read('h')?.helpers.n).toBe(3);
  expect(s.list()).toEqual(['h']);
  s.remove('h');
  expect(s.read('h')).toBeUndefined();
  expect(s.list()).toEqual([]);
  expect(existsSync(join(root, 'h', 'state.json'))).toBe(true); // runc's own file is runc's
});

test('markModule: the module and its init pid named in runc\'s container directory, for the launcher\'s delete; not without runc\'s state.json; remove takes it', () => {
  const root = mkdtempSync(join(tmpdir(), 'vk-store-'));
  const s = new StateStore(root);
  s.write({ ...state('m', 1), module: 'vkernel_m' });
  expect(s.markModule('m', 'vkernel_m', 4242)).toBe(false); // no runc container dir: delete stays the engine's
  expect(readdirSync(root)).toEqual(['vkernel@m.json']);
  mkdirSync(join(root, 'm'));
  writeFileSync(join(root, 'm', 'state.json'), '{}');
  expect(s.markModule('m', 'vkernel_m', 4242)).toBe(true);
  expect(s.handToRunc('m')).toBe(true);
  expect(readFileSync(join(root, 'm', 'vkernel.module'), 'utf8')).toBe('vkernel_m 4242\n');
  expect(s.read('m')?.module).toBe('vkernel_m');
  s.remove('m');
  expect(readdirSync(join(root, 'm'))).toEqual(['state.json']);
});

test('moduleAtDelete: the module\'s name when it is all that runc\'s delete leaves to undo; never with a helper, a private bundle or a step that outlives the container', () => {
  const base: ContainerState = { ...state('m', 0), helpers: {}, module: 'vkernel_m', applied: [{ name: 'kernel-log' }, { name: 'module', undo: { name: 'vkernel_m' } }] };
  expect(moduleAtDelete(base)).toBe('vkernel_m');
  expect(diesWithContainer(base)).toBe(false); // the module needs its unload: not runc's alone
  expect(moduleAtDelete({ ...base, module: undefined })).toBeUndefined();
  expect(moduleAtDelete({ ...base, helpers: { adaptive: { pid: 1, start: '1' } } })).toBeUndefined();
  expect(moduleAtDelete({ ...base, runBundle: '/run/vkernel-runtime/bundles/m' })).toBeUndefined();
  // fifo on the v1 rt backend with parents of its own raised: released by the engine's delete
  const rtParents = { name: 'sched-policy', undo: { backend: 'rt', backendUndo: { dir: '/cg/c1', base: '/cg', raised: [{ dir: '/cg/p', original: 0 }] } } };
  expect(moduleAtDelete({ ...base, policy: { 'sched.policy': 'fifo' }, applied: [rtParents, ...base.applied] })).toBeUndefined();
});

test('knownRoots: a root whose only state of ours is inside a runc container directory is still a root of ours (gc, doctor)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vk-roots-'));
  const root = join(dir, 'root');
  const s = new StateStore(root);
  s.write(state('k', 1));
  registerRoot(join(dir, 'registry'), root);
  mkdirSync(join(root, 'k'));
  writeFileSync(join(root, 'k', 'state.json'), '{}');
  expect(s.handToRunc('k')).toBe(true);
  expect(knownRoots(join(dir, 'registry'))).toContain(root);
});

test('a root removed (its entry pruned) and made again is registered again by the same process (the engine server lives on)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vk-roots-'));
  const root = join(dir, 'root');
  const registry = join(dir, 'registry');
  mkdirSync(root);
  registerRoot(registry, root);
  expect(registeredRoots(registry)).toEqual([root]);
  rmSync(root, { recursive: true });
  expect(registeredRoots(registry)).toEqual([]); // pruned
  mkdirSync(root);
  registerRoot(registry, root);
  expect(registeredRoots(registry)).toEqual([root]);
});

test('ids that could escape the root are refused', () => {
  for (const bad of ['../x', 'a/b', '', '..', 'a b', 'x\n']) expect(() => checkId(bad)).toThrow('invalid container id format');
  expect(() => new StateStore('/tmp').path('../../etc/passwd')).toThrow();
});

test('the lock and a state write make a missing root (0700, parents too), use one that is there as it is, and fail on a root that is a file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vk-making-'));
  const mode = (p: string) => statSync(p).mode & 0o777;
  await withLock(join(dir, 'a/r'), 'c', async () => expect(readdirSync(join(dir, 'a/r'))).toEqual(['vkernel@c.lock']));
  expect(mode(join(dir, 'a/r'))).toBe(0o700);
  new StateStore(join(dir, 'b/r')).write(state('c', 1));
  expect(mode(join(dir, 'b/r'))).toBe(0o700);
  mkdirSync(join(dir, 'open'), { mode: 0o755 });
  await withLock(join(dir, 'open'), 'c', async () => new StateStore(join(dir, 'open')).write(state('c', 1)));
  expect(mode(join(dir, 'open'))).toBe(0o755);
  expect(readdirSync(join(dir, 'open'))).toEqual(['vkernel@c.json']);
  writeFileSync(join(dir, 'file'), '');
  await expect(withLock(join(dir, 'file'), 'c', async () => 1)).rejects.toThrow(/ENOTDIR|EEXIST/);
  expect(() => new StateStore(join(dir, 'file')).write(state('c', 1))).toThrow(/ENOTDIR|EEXIST/);
  expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('');
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
