import { existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { leftovers, makeBundle, requireRoot, runc, tempRoot, uid, vk } from '../helpers/fixtures.js';

beforeAll(requireRoot);

test('doctor: one screen of what this host supports, exit 0 when containers can run', async () => {
  const r = await vk(['doctor']);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain((await runc(['--version'])).stdout.split('\n')[0]);
  for (const name of ['runc', 'cgroup', 'kernel', 'modules', 'headers', 'rt group sched']) expect(r.stdout).toMatch(new RegExp(`^  \\S+\\s+${name} `, 'm'));
  expect(r.stdout.split('\n').length).toBeLessThan(25);
  const json = JSON.parse((await vk(['doctor', '--json'])).stdout);
  expect(json.ok).toBe(true);
  expect(json.checks.find((c: { name: string }) => c.name === 'modules').ok).toBe(existsSync('/proc/modules'));
});

test('doctor: exit 1 and says why when runc is missing', async () => {
  const r = await vk(['doctor', '--runc', '/nonexistent/runc']);
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toContain('not ready: runc');
});

test('ps lists our containers with policy and backend; delete --force clears a leftover runc forgot', async () => {
  const root = tempRoot();
  const id = uid('ps');
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
  const ps = await vk(['--root', root, 'ps']);
  expect(ps.exitCode).toBe(0);
  expect(ps.stdout).toMatch(new RegExp(`^${id}\\tcreated\\t(rt|kernel)\\t-\\t/${id}\\tio\\.vkernel\\.sched\\.policy=cfs$`, 'm'));
  // runc ps <id> is still runc's
  expect((await vk(['--root', root, 'ps', id])).stdout).toMatch(/^UID\s+PID/);
  // runc forgets the container behind our back: our state is a leftover
  expect((await runc(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
  expect(existsSync(join(root, `vkernel@${id}.json`))).toBe(true);
  expect((await vk(['--root', root, 'ps', '--format', 'json'])).stdout).toContain('gone (leftover: delete --force cleans it)');
  expect((await vk(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
  expect(leftovers(root, id)).toEqual([]);
  expect((await vk(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
});

test('gc removes the state, budgets and helpers of containers runc forgot, and nothing else', async () => {
  const root = tempRoot();
  const keep = uid('keep');
  const lost = uid('lost');
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  for (const id of [keep, lost]) {
    const out = openSync(join(tmpdir(), `${id}.out`), 'w');
    expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
  }
  await runc(['--root', root, 'delete', '--force', lost]);
  const dry = await vk(['--root', root, 'gc', '--dry-run']);
  expect(dry.stdout).toContain(`would remove ${root}: ${lost}`);
  expect(existsSync(join(root, `vkernel@${lost}.json`))).toBe(true);
  const r = await vk(['--root', root, 'gc']);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain(`removing ${root}: ${lost}`);
  expect(leftovers(root, lost)).toEqual([]);
  expect(existsSync(join(root, `vkernel@${keep}.json`))).toBe(true);
  expect((await vk(['--root', root, 'gc'])).stdout).toContain('no leftovers');
  await vk(['--root', root, 'delete', '--force', keep]);
});
