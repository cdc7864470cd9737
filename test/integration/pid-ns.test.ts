import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leftovers, makeBundle, requireRoot, runc, tempRoot, uid, vk } from '../helpers/fixtures.js';

/**
 * Per-pid-namespace features (the ns sysctls, the module's tables) only for a container with its own
 * pid namespace: a container sharing the host's (or another's) would have them written into that
 * namespace. Refused at create, before anything exists, whatever io.vkernel.strict says.
 */
beforeAll(requireRoot);

type Ns = { type: string; path?: string };

async function create(annotations: Record<string, string>, namespaces: (ns: Ns[]) => Ns[]) {
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations });
  const file = join(bundle, 'config.json');
  const spec = JSON.parse(readFileSync(file, 'utf8'));
  spec.linux.namespaces = namespaces(spec.linux.namespaces);
  writeFileSync(file, JSON.stringify(spec));
  const root = tempRoot();
  const id = uid('pidns');
  const log = join(root, 'log.json');
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  const r = await vk(['--root', root, '--log', log, '--log-format', 'json', 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out });
  const errors = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.level === 'error').map((l) => l.msg as string) : [];
  return { id, root, r, errors };
}

const withoutPid = (ns: Ns[]) => ns.filter((n) => n.type !== 'pid');
const hostPid = (ns: Ns[]) => [...withoutPid(ns), { type: 'pid', path: '/proc/1/ns/pid' }];

test.each([
  ['no pid namespace (the host\'s)', withoutPid, 'it has no pid namespace of its own (no "pid" entry in linux.namespaces'],
  ['joins the host\'s pid namespace by path', hostPid, 'it joins the pid namespace "/proc/1/ns/pid" (linux.namespaces), shared with what already runs there'],
])('%s: per-namespace sysctls are refused, nothing is created, strict=false does not change it', async (_name, ns, why) => {
  const c = await create({ 'io.vkernel.mm.thp': 'never', 'io.vkernel.mm.overcommit_memory': '1', 'io.vkernel.strict': 'false' }, ns);
  expect(c.r.exitCode).toBe(1);
  expect(c.errors).toHaveLength(1);
  expect(c.errors[0]).toMatch(/^io\.vkernel\.mm\.overcommit_memory=1, io\.vkernel\.mm\.thp=never: per-container kernel parameters apply to the container's own pid namespace, and /);
  expect(c.errors[0]).toContain(why);
  expect((await runc(['--root', c.root, 'list', '-q'])).stdout).toBe('');
  expect(leftovers(c.root, c.id)).toEqual([]);
}, 30000);

test('the module (syscall.deny) in a shared pid namespace is refused too', async () => {
  const c = await create({ 'io.vkernel.syscall.deny': 'mkdir' }, hostPid);
  expect(c.r.exitCode).toBe(1);
  expect(c.errors[0]).toMatch(/^io\.vkernel\.syscall\.deny=mkdir: the per-container module's syscall and futex tables apply to the container's own pid namespace, and it joins/);
  expect((await runc(['--root', c.root, 'list', '-q'])).stdout).toBe('');
}, 30000);

test('with its own pid namespace the request goes on to the host check (here: a stock kernel)', async () => {
  const c = await create({ 'io.vkernel.mm.thp': 'never' }, (ns) => ns);
  expect(c.r.exitCode).toBe(1);
  expect(c.errors[0]).not.toContain('pid namespace');
  expect(c.errors[0]).toMatch(/io\.vkernel\.mm\.thp=never \(from annotation\): needs the vkernel kernel/);
}, 30000);

// io.vkernel.log=private (printk_ns): refused before anything exists on a kernel without the feature,
// and in a shared pid namespace whatever strict says; log=shared asks for nothing
test('log=private on this stock kernel: refused at create, nothing created', async () => {
  const c = await create({ 'io.vkernel.log': 'private' }, (ns) => ns);
  expect(c.r.exitCode).toBe(1);
  expect(c.errors).toEqual([expect.stringMatching(/^io\.vkernel\.log=private \(from annotation\): needs the vkernel kernel/)]);
  expect((await runc(['--root', c.root, 'list', '-q'])).stdout).toBe('');
  expect(leftovers(c.root, c.id)).toEqual([]);
}, 30000);

test('log=private in the host\'s pid namespace: refused even with strict=false', async () => {
  const c = await create({ 'io.vkernel.log': 'private', 'io.vkernel.strict': 'false' }, hostPid);
  expect(c.r.exitCode).toBe(1);
  expect(c.errors[0]).toMatch(/^io\.vkernel\.log=private: the private kernel log \(printk_ns\) and its readers apply to the container's own pid namespace, and it joins/);
  expect((await runc(['--root', c.root, 'list', '-q'])).stdout).toBe('');
}, 30000);

test('log=shared asks for nothing: it runs on a stock kernel, in any pid namespace', async () => {
  const c = await create({ 'io.vkernel.log': 'shared' }, withoutPid);
  expect(c.errors).toEqual([]);
  expect(c.r.exitCode).toBe(0);
  expect((await vk(['--root', c.root, 'delete', '--force', c.id])).exitCode).toBe(0);
  expect(leftovers(c.root, c.id)).toEqual([]);
}, 30000);

test('scheduling policy needs no private pid namespace: fifo/cfs in the host\'s still works', async () => {
  const c = await create({ 'io.vkernel.sched.policy': 'cfs' }, withoutPid);
  expect(c.errors).toEqual([]);
  expect(c.r.exitCode).toBe(0);
  expect((await vk(['--root', c.root, 'delete', '--force', c.id])).exitCode).toBe(0);
  expect(leftovers(c.root, c.id)).toEqual([]);
}, 30000);
