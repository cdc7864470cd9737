import { execa } from 'execa';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { leftovers, makeBundle, requireRoot, rewriteState, runc, stateFile, tempRoot, uid, vk } from '../helpers/fixtures.js';

/**
 * Our bookkeeping around runc (issue 10 §1): stored pids are checked before every signal; a
 * start that succeeded in runc exits 0 whatever our post-start steps do; create's rollback logs
 * our error last in --log.
 */
beforeAll(requireRoot);

const startTime = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[22 - 3];

async function created(annotations: Record<string, string>, env: Record<string, string> = {}) {
  const bundle = await makeBundle({ args: ['sleep', '60'], annotations });
  const root = tempRoot();
  const id = uid('bk');
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  const r = await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out, env });
  expect(r.exitCode).toBe(0);
  return { root, id };
}

describe('a stored helper pid that now names another process is never signalled', () => {
  test.each([
    ['{pid, start} with the start time of the process that had the pid', (pid: number) => ({ pid, start: String(Number(startTime(pid)) - 1) })],
    ['a bare pid (state of an older version) of a process that is not our helper', (pid: number) => pid],
  ])('%s', async (_what, stored) => {
    const c = await created({ 'io.vkernel.sched.policy': 'cfs' });
    // an unrelated live process now has the pid the state names
    const other = execa('sleep', ['60'], { reject: false });
    try {
      // a state with a helper is kept beside runc's container dir, so delete goes through the engine
      rewriteState(c.root, c.id, (s) => { s.helpers = { adaptive: stored(other.pid as number) }; });
      const del = await vk(['--root', c.root, 'delete', '--force', c.id]);
      expect([del.exitCode, del.stderr]).toEqual([0, '']);
      await new Promise((r) => setTimeout(r, 300));
      expect(other.exitCode).toBeNull();
      expect(existsSync(`/proc/${other.pid}`)).toBe(true);
      expect(leftovers(c.root, c.id)).toEqual([]);
    } finally {
      other.kill('SIGKILL');
      await other;
    }
  }, 60000);

  test('the helper that is still ours is stopped', async () => {
    const c = await created({ 'io.vkernel.sched.policy': 'cfs' });
    // a stand-in helper whose record is right (pid and start time)
    const helper = execa('sleep', ['60'], { reject: false });
    rewriteState(c.root, c.id, (s) => { s.helpers = { adaptive: { pid: helper.pid as number, start: startTime(helper.pid as number) } }; });
    expect((await vk(['--root', c.root, 'delete', '--force', c.id])).exitCode).toBe(0);
    const r = await helper;
    expect(r.signal).toBe('SIGTERM');
  }, 60000);
});

test('start that succeeded in runc exits 0 when our post-start step fails (a warning says why)', async () => {
  // adaptive: the one policy with work after start (a cfs start goes straight to runc at the launcher)
  const c = await created({ 'io.vkernel.sched.policy': 'adaptive' });
  const log = join(tmpdir(), `${c.id}.log`);
  const r = await vk(['--root', c.root, '--log', log, '--log-format', 'json', 'start', c.id], { env: { VKERNEL_RUNTIME_TEST_FAULT: 'fail-at=started' } });
  expect(r.exitCode).toBe(0);
  expect(JSON.parse((await runc(['--root', c.root, 'state', c.id])).stdout).status).toBe('running');
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  expect(lines.at(-1)).toMatchObject({ level: 'warning', msg: expect.stringContaining(`start ${c.id}: the container started, but: injected failure at started`) });
  expect((await vk(['--root', c.root, 'delete', '--force', c.id])).exitCode).toBe(0);
  expect(leftovers(c.root, c.id)).toEqual([]);
}, 60000);

test('create\'s rollback logs our error last in --log (containerd shows the last error line), after runc\'s and the undo\'s lines', async () => {
  const bundle = await makeBundle({ args: ['sleep', '60'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  const root = tempRoot();
  const id = uid('rb');
  const log = join(tmpdir(), `${id}.log`);
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  // --debug: runc's delete and our undo write lines of their own after the failure
  const r = await vk(['--root', root, '--debug', '--log', log, '--log-format', 'json', 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out, env: { VKERNEL_RUNTIME_TEST_FAULT: 'after-create' } });
  expect(r.exitCode).toBe(1);
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.length).toBeGreaterThan(2);
  expect(lines.at(-1)).toMatchObject({ level: 'error', msg: `create ${id}: injected failure after runc create (VKERNEL_RUNTIME_TEST_FAULT=after-create); rolled back (container deleted)` });
  expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
  expect(leftovers(root, id)).toEqual([]);
}, 60000);

test('run records as the state\'s owner the process that becomes runc run, so gc never takes a starting run for a leftover', async () => {
  const bundle = await makeBundle({ args: ['sleep', '3'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  const root = tempRoot();
  const id = uid('own');
  const p = vk(['--root', root, 'run', '--bundle', bundle, id], { stdin: 'ignore' });
  for (let i = 0; i < 100 && !stateFile(root, id); i++) await new Promise((r) => setTimeout(r, 50));
  const owner = JSON.parse(readFileSync(stateFile(root, id)!, 'utf8')).owner;
  expect(owner).toEqual({ pid: p.pid, start: startTime(p.pid as number) });
  // gc leaves it alone either way: its owner lives, or (still creating) it holds the container's lock
  const gc = (await vk(['gc', '--root', root])).stdout;
  expect([['no leftovers'], [`${root}: ${id} is locked by a running vkernel-runtime; left alone`]]).toContainEqual([gc]);
  expect((await p).exitCode).toBe(0);
  expect(leftovers(root, id)).toEqual([]);
}, 60000);
