import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cgroupHierarchies, engineServers, holdRtLock, leftovers, makeBundle, recorded, requireRoot, runc, RUNTIME, tempRoot, until, vk } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';

/**
 * The RT ledger and the node RT cap on this host's real cgroups (v1, CONFIG_RT_GROUP_SCHED): any
 * create/delete order, and a runtime SIGKILLed between the parent's raise and the state record,
 * leave the parent exactly as it was once all containers are deleted and `gc` has run; the
 * node-wide cap refuses at create, before anything exists. A fifo container's state is handed to
 * runc's directory; its `delete` runs the engine while the group has RT tasks (these tests' created
 * containers: the kernel refuses the launcher's zero write), which gives the holder back at once;
 * a container deleted by runc alone (or a stopped one, whose delete goes straight to runc) leaves
 * its holder, and the raise of its parents, to the next ledger operation (a fifo create, gc). Each
 * test has its own lock dir (so its own ledger and count); the kernel's root budget is the host's,
 * shared with whatever else runs here.
 */
const CPU = '/sys/fs/cgroup/cpu';
const rt = (rel: string) => Number(readFileSync(join(CPU, rel, 'cpu.rt_runtime_us'), 'utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(requireRoot);

function node() {
  const parent = `vkt-ledger-${process.pid}-${Date.now().toString(36)}`;
  mkdirSync(join(CPU, parent));
  const locks = mkdtempSync(join(tmpdir(), 'vk-ledger-locks-'));
  const root = tempRoot();
  const env = { VKERNEL_LOCK_DIR: locks };
  const create = async (name: string, extraEnv: Record<string, string> = {}) => {
    const bundle = await makeBundle({ args: ['sleep', '60'], annotations: { 'io.vkernel.sched.policy': 'fifo' }, cgroupsPath: `/${parent}/${name}` });
    const log = join(root, `${name}.log`);
    const r = await vk(['--root', root, '--log', log, '--log-format', 'json', 'create', '--bundle', bundle, name], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', env: { ...env, ...extraEnv } });
    // (served, a fifo create is handed over: its budget is granted once runc has created, under its lock)
    recorded(root, name);
    const errors = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.level === 'error').map((l) => l.msg as string) : [];
    return { r, errors };
  };
  const del = async (name: string) => {
    expect((await vk(['--root', root, 'delete', '--force', name], { env })).exitCode).toBe(0);
    expect(leftovers(root, name)).toEqual([]);
  };
  /** delete by runc alone (no vkernel-runtime): our handed-over state goes with runc's directory, the ledger holder stays */
  const delByRunc = async (name: string) => {
    expect((await runc(['--root', root, 'delete', '--force', name])).exitCode).toBe(0);
    expect(leftovers(root, name)).toEqual([]);
  };
  /** gc (the ledger operation that needs no create), this test's runc root and ledger */
  const gc = async () => {
    const r = await vk(['gc', '--root', root], { env });
    expect([r.exitCode, r.stdout.split('\n').filter((l) => l.startsWith('failed'))]).toEqual([0, []]);
  };
  /** the parent's budget after gc, once the kernel has freed removed groups (an RCU grace period) */
  const settled = async (want: number) => {
    await gc();
    for (let i = 0; i < 30 && rt(parent) !== want; i++) {
      await sleep(500);
      await gc();
    }
    return rt(parent);
  };
  const ledger = () => JSON.parse(readFileSync(join(locks, 'rt-ledger.json'), 'utf8'));
  /** after a failure: what a test left (its containers, their groups) goes, then the parent */
  const cleanup = async () => {
    for (const id of (await runc(['--root', root, 'list', '-q'])).stdout.split('\n').filter(Boolean)) await runc(['--root', root, 'delete', '--force', id]);
    for (const d of readdirSync(join(CPU, parent), { withFileTypes: true })) if (d.isDirectory()) try { rmdirSync(join(CPU, parent, d.name)); } catch { /* busy */ }
    // runc made the parent in every hierarchy
    for (const h of cgroupHierarchies()) if (existsSync(join(h.mount, parent))) rmdirSync(join(h.mount, parent));
  };
  return { parent, root, env, locks, create, del, delByRunc, gc, settled, ledger, cleanup };
}

needs(RT_GROUPS).describe('RT ledger on real cgroups', () => {
  test.each([
    ['A, B, delete A, delete B', ['a', 'b'], ['a', 'b']],
    ['A, B, delete B, delete A', ['a', 'b'], ['b', 'a']],
  ])('%s: the parent ends exactly where it started', async (_n, creates, deletes) => {
    const n = node();
    try {
      expect(rt(n.parent)).toBe(0);
      for (const c of creates) expect((await n.create(c)).r.exitCode).toBe(0);
      expect(rt(n.parent)).toBe(500000);
      await n.del(deletes[0]);
      // the engine's delete (the group had RT tasks) gave the holder back at once
      expect(Object.keys(n.ledger().holders)).toEqual([join(CPU, n.parent, deletes[1])]);
      expect(await n.settled(250000)).toBe(250000);
      expect(Object.keys(n.ledger().holders)).toEqual([join(CPU, n.parent, deletes[1])]);
      await n.del(deletes[1]);
      expect(await n.settled(0)).toBe(0);
      expect(n.ledger()).toEqual({ version: 1, parents: {}, holders: {} });
    } finally {
      await n.cleanup();
    }
  }, 60000);

  test('interleaved: A, B, delete A, C, delete B, delete C; a parent with its own budget keeps it', async () => {
    const n = node();
    writeFileSync(join(CPU, n.parent, 'cpu.rt_runtime_us'), '100000');
    try {
      expect((await n.create('a')).r.exitCode).toBe(0);
      expect((await n.create('b')).r.exitCode).toBe(0);
      expect(rt(n.parent)).toBe(500000);
      await n.delByRunc('a');
      expect((await n.create('c')).r.exitCode).toBe(0);
      // c's create dropped a's holder (its group is gone)
      expect(Object.keys(n.ledger().holders).sort()).toEqual([join(CPU, n.parent, 'b'), join(CPU, n.parent, 'c')]);
      await n.del('b');
      expect(await n.settled(250000)).toBe(250000);
      await n.del('c');
      expect(await n.settled(100000)).toBe(100000);
    } finally {
      await n.cleanup();
    }
  }, 60000);

  test('SIGKILL between the raise and the state record: once all are deleted, the parent is back to 0', async () => {
    const n = node();
    // the runtime SIGKILLs itself right after the raise (before the state records the apply); the
    // kill is proven by the trace line. (Before issue 15's in-process sched_setscheduler this used
    // a chrt that never returned: fifo's create no longer starts chrt.)
    const trace = join(mkdtempSync(join(tmpdir(), 'vk-raise-kill-')), 'trace');
    try {
      expect((await n.create('a')).r.exitCode).toBe(0);
      const bundle = await makeBundle({ args: ['sleep', '60'], annotations: { 'io.vkernel.sched.policy': 'fifo' }, cgroupsPath: `/${n.parent}/k` });
      const p = await execa(RUNTIME, ['--root', n.root, 'create', '--bundle', bundle, 'k'], {
        reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore',
        env: { ...n.env, VKERNEL_RUNTIME_TEST_FAULT: `kill-at=create/rt-budget-raised,trace=${trace}` },
      });
      expect(p.signal).toBe('SIGKILL');
      expect(readFileSync(trace, 'utf8')).toMatch(/^create kill rt-budget-raised@1 /);
      // raised, and recorded in the ledger and (journaled before the raise) in the container's state
      expect(rt(n.parent)).toBe(500000);
      expect(Object.keys(n.ledger().holders)).toContain(join(CPU, n.parent, 'k'));
      const state = JSON.parse(readFileSync(join(n.root, 'vkernel@k.json'), 'utf8')) as { applied: { name: string }[] };
      expect(state.applied.map((a) => a.name)).toEqual(['sched-policy']);
      await n.del('k');
      await n.del('a');
      expect(await n.settled(0)).toBe(0);
      expect(n.ledger().holders).toEqual({});
    } finally {
      await n.cleanup();
    }
  }, 60000);

  test.each([
    ['rt-ledger-settled', 'after it dropped the holder of the deleted container and settled the parent, before writing the ledger'],
    ['rt-budget-raised', 'after it dropped the holder and raised the parent (room for the removed group too)'],
  ])('a fifo create that gives back a container deleted by runc alone, SIGKILLed at %s (%s): delete --force + gc leave the parent as it was', async (point) => {
    const n = node();
    const trace = join(mkdtempSync(join(tmpdir(), 'vk-reclaim-kill-')), 'trace');
    try {
      expect((await n.create('a')).r.exitCode).toBe(0);
      expect((await n.create('b')).r.exitCode).toBe(0);
      await n.delByRunc('a'); // a's holder stays until the next ledger operation
      expect(Object.keys(n.ledger().holders)).toContain(join(CPU, n.parent, 'a'));
      const k = await n.create('k', { VKERNEL_RUNTIME_TEST_FAULT: `kill-at=create/${point},trace=${trace}` });
      expect(k.r.signal).toBe('SIGKILL');
      expect(readFileSync(trace, 'utf8')).toMatch(new RegExp(`^create kill ${point}@1 `));
      await n.del('k');
      await n.del('b');
      expect(await n.settled(0)).toBe(0);
      expect(n.ledger()).toEqual({ version: 1, parents: {}, holders: {} });
    } finally {
      await n.cleanup();
    }
  }, 90000);

  test('a container id used again by a container without a request (same cgroup path, another group): the old holder neither counts against the cap nor keeps the parent raised', async () => {
    const n = node();
    const cfg = join(mkdtempSync(join(tmpdir(), 'vk-cap-')), 'config.yaml');
    writeFileSync(cfg, 'limits:\n  rt_budget_percent: 50\nrt:\n  budget_percent: 25\n');
    const withCfg = { VKERNEL_RUNTIME_CONFIG: cfg };
    try {
      expect((await n.create('a', withCfg)).r.exitCode).toBe(0);
      expect((await n.create('b', withCfg)).r.exitCode).toBe(0);
      await n.delByRunc('a');
      // runc alone makes a again (no request: the launcher never starts the engine)
      const plain = await makeBundle({ args: ['sleep', '60'], cgroupsPath: `/${n.parent}/a` });
      expect((await vk(['--root', n.root, 'create', '--bundle', plain, 'a'], { env: n.env, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })).exitCode).toBe(0);
      expect(existsSync(join(CPU, n.parent, 'a'))).toBe(true);
      // a's old holder (same path) would fill the 50 % with b's: c fits, a's holder is dropped
      const c = await n.create('c', withCfg);
      expect([c.r.exitCode, c.errors]).toEqual([0, []]);
      expect(Object.keys(n.ledger().holders).sort()).toEqual([join(CPU, n.parent, 'b'), join(CPU, n.parent, 'c')]);
      await n.del('a');
      await n.del('b');
      await n.del('c');
      expect(await n.settled(0)).toBe(0);
      expect(n.ledger()).toEqual({ version: 1, parents: {}, holders: {} });
    } finally {
      await n.cleanup();
    }
  }, 90000);

  test('node cap: the third fifo container is refused at create with the use and the limit, nothing created; after a delete it fits', async () => {
    const n = node();
    const cfg = join(mkdtempSync(join(tmpdir(), 'vk-cap-')), 'config.yaml');
    writeFileSync(cfg, 'limits:\n  rt_budget_percent: 50\nrt:\n  budget_percent: 25\n');
    const withCfg = { VKERNEL_RUNTIME_CONFIG: cfg };
    try {
      expect((await n.create('a', withCfg)).r.exitCode).toBe(0);
      expect((await n.create('b', withCfg)).r.exitCode).toBe(0);
      const c = await n.create('c', withCfg);
      expect(c.r.exitCode).toBe(1);
      expect(c.errors).toEqual([`io.vkernel.sched.policy=fifo: node RT budget 50 % in use (2 containers), limit 50 % (limits.rt_budget_percent in ${cfg})`]);
      process.stdout.write(`refusal in the --log JSON: ${c.errors[0]}\n`);
      expect((await runc(['--root', n.root, 'list', '-q'])).stdout.split('\n').sort()).toEqual(['a', 'b']);
      expect(existsSync(join(CPU, n.parent, 'c'))).toBe(false);
      expect(rt(n.parent)).toBe(500000);
      // doctor shows the use the refusal counted
      const doc = await vk(['doctor'], { env: { ...n.env, ...withCfg } });
      expect(doc.stdout).toMatch(/^  RT in use +50 % of each CPU \(2 containers\) of the 50 % limit \(.*rt-ledger\.json\)$/m);
      await n.del('a');
      expect((await n.create('c', withCfg)).r.exitCode).toBe(0);
      await n.del('b');
      await n.del('c');
      expect(await n.settled(0)).toBe(0);
    } finally {
      await n.cleanup();
    }
  }, 60000);

  test('node cap, two creates racing for the last slot, served (handed over: both pass the check before runc, the node\'s RT lock held by another process meanwhile): both return runc\'s 0; one gets the slot, the other\'s start is refused with the use and the limit, nothing of it held; delete cleans', async () => {
    const n = node();
    const dir = mkdtempSync(join(tmpdir(), 'vk-race-'));
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, 'limits:\n  rt_budget_percent: 50\nrt:\n  budget_percent: 25\n');
    const [sock, trace] = [join(dir, 'engine.sock'), join(dir, 'trace')];
    const env = { ...n.env, VKERNEL_RUNTIME_CONFIG: cfg, VKERNEL_ENGINE_SOCKET: sock, VKERNEL_ENGINE_TRACE: trace };
    const bundleOf = (name: string) => makeBundle({ args: ['sleep', '60'], annotations: { 'io.vkernel.sched.policy': 'fifo' }, cgroupsPath: `/${n.parent}/${name}` });
    const create = async (name: string) => vk(['--root', n.root, 'create', '--bundle', await bundleOf(name), name], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', env });
    try {
      // the first: the engine's, which starts the server
      expect((await create('a')).exitCode).toBe(0);
      expect(await until(() => existsSync(sock) && engineServers(sock).length === 1)).toBe(true);
      const held = await holdRtLock(n.locks, 1500);
      const [b, c] = await Promise.all([create('b'), create('c')]);
      expect([b.exitCode, c.exitCode]).toEqual([0, 0]);
      expect((await held.ended).exitCode).toBe(0);
      expect(readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => l.split(':')[0])).toEqual(['engine', 'served', 'served']);
      for (const x of ['b', 'c']) recorded(n.root, x);
      const starts = await Promise.all(['b', 'c'].map((x) => vk(['--root', n.root, 'start', x], { env })));
      const [wonAt, lostAt] = starts[0].exitCode === 0 ? [0, 1] : [1, 0];
      const [won, lost, loser] = [['b', 'c'][wonAt], ['b', 'c'][lostAt], starts[lostAt]];
      expect([starts[wonAt].exitCode, loser.exitCode]).toEqual([0, 1]);
      expect(loser.stderr).toMatch(/could not put its io\.vkernel\.\* request in force after runc had created it \(.*node RT budget 50 % in use \(2 containers\), limit 50 %.*\).*delete it/);
      process.stdout.write(`the racing loser's start: ${loser.stderr.trim()}\n`);
      // the loser holds nothing: the parent has the two winners' budget, the ledger two holders, its group none
      expect(rt(n.parent)).toBe(500000);
      expect(rt(`${n.parent}/${lost}`)).toBe(0);
      expect(Object.keys(n.ledger().holders).sort()).toEqual([join(CPU, n.parent, 'a'), join(CPU, n.parent, won)].sort());
      for (const x of ['a', 'b', 'c']) await n.del(x);
      expect(await n.settled(0)).toBe(0);
    } finally {
      for (const pid of engineServers(sock)) process.kill(pid, 'SIGTERM');
      await n.cleanup();
    }
  }, 60000);
});
