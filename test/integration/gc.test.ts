import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { keepBesideRunc, leftovers, makeBundle, readState, REPO, requireRoot, runc, statePaths, tempRoot, uid, vk } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';
import type { ContainerState } from '../../src/store/state.js';

/** `vkernel-runtime gc` (issue 10 §1): modules that do not unload, private bundles, roots beyond a fixed list. */
beforeAll(requireRoot);

const dir = (p: string) => mkdtempSync(join(tmpdir(), p));

test('gc goes on past a module that does not unload, unloads the others and reports it (exit 1)', async () => {
  // this host has no loadable modules: a /proc/modules and an rmmod double (the kernel's part is the VM tier's)
  const proc = dir('vk-gc-proc-');
  const modules = join(proc, 'modules');
  const line = (m: string) => `${m} 16384 0 - Live 0x0000000000000000 (O)`;
  writeFileSync(modules, `${['vkernel_a', 'vkernel_b', 'ext4', 'vkernel_c'].map(line).join('\n')}\n`);
  const rmmod = join(proc, 'rmmod');
  writeFileSync(rmmod, `#!/bin/sh
# test double: vkernel_b stays pinned, the others unload
echo "$1" >> "${proc}/calls"
[ "$1" = vkernel_b ] && { echo "rmmod: ERROR: Module vkernel_b is in use" >&2; exit 1; }
grep -v "^$1 " "${modules}" > "${modules}.new"; mv "${modules}.new" "${modules}"
`);
  chmodSync(rmmod, 0o755);
  const r = await vk(['gc', '--root', tempRoot(), '--proc', proc, '--rmmod', rmmod], { env: { VKERNEL_RMMOD_TIMEOUT_MS: '300' } });
  expect(r.exitCode).toBe(1);
  for (const m of ['vkernel_a', 'vkernel_b', 'vkernel_c']) expect(r.stdout).toContain(`unloading module ${m} (no container uses it)`);
  expect(r.stdout).toMatch(/^failed: module vkernel_b: rmmod vkernel_b still failing .*in use/m);
  expect(readFileSync(modules, 'utf8').trim().split('\n').map((l) => l.split(' ')[0])).toEqual(['vkernel_b', 'ext4']);
  // vkernel_c came after the failure
  expect(readFileSync(join(proc, 'calls'), 'utf8')).toMatch(/vkernel_b\n(vkernel_b\n)*vkernel_c\n$/);
}, 60000);

test('gc removes private bundles no container uses and keeps the ones in use', async () => {
  const bundles = dir('vk-gc-bundles-');
  const root = tempRoot();
  const env = { VKERNEL_RUN_BUNDLES: bundles };
  const hooked = (id: string) => JSON.stringify({ hooks: { createRuntime: [{ path: '/x', args: ['/x', '--root', root, 'vkernel-hook', 'create-runtime', id] }] } });
  // a killed run's bundle (its state gone), a bundle whose state refers to it, a half-written one
  const lost = join(bundles, 'lost-abcdef');
  const used = join(bundles, 'used-ghijkl');
  const fresh = join(bundles, 'fresh-mnopqr');
  for (const [d, id] of [[lost, 'lost'], [used, 'used']]) {
    mkdirSync(d);
    writeFileSync(join(d, 'config.json'), hooked(id));
  }
  mkdirSync(fresh);
  // the state of `used`, written by a live process (this test: its owner), so not a leftover
  const start = readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
  writeFileSync(join(root, 'vkernel@used.json'), JSON.stringify({ version: 1, id: 'used', bundle: '/b', created: 'now', owner: { pid: process.pid, start }, policy: {}, sources: {}, helpers: {}, applied: [], runBundle: used }));
  const r = await vk(['gc', '--root', root], { env });
  expect([r.exitCode, r.stdout]).toEqual([0, `removing private bundle ${lost} (no container uses it)`]);
  expect(readdirSync(bundles).sort()).toEqual(['fresh-mnopqr', 'used-ghijkl']);
  expect(existsSync(join(root, 'vkernel@used.json'))).toBe(true);
  rmSync(root, { recursive: true, force: true }); // the state this test wrote for a live owner (itself)
}, 60000);

test('gc finds leftovers in a root it was not told about (every root our state was written under)', async () => {
  const registry = dir('vk-gc-roots-');
  const env = { VKERNEL_ROOTS_DIR: registry };
  const root = tempRoot();
  const id = uid('gcr');
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out, env })).exitCode).toBe(0);
  // a cfs container's state is in runc's directory and would go with runc's delete: staged beside
  // it, as a create killed before its handover leaves it, so runc's delete leaves a leftover of ours
  keepBesideRunc(root, id);
  await runc(['--root', root, 'delete', '--force', id]);
  // no --root: the registry names this root (dry run: the host's other roots are not ours to clean here)
  const dry = await vk(['gc', '--dry-run'], { env });
  expect(dry.stdout).toContain(`would remove ${root}: ${id}`);
  expect((await vk(['gc', '--root', root], { env })).exitCode).toBe(0);
  expect(leftovers(root, id)).toEqual([]);
}, 60000);

test('gc leaves a container whose lock a live vkernel-runtime holds', async () => {
  const root = tempRoot();
  // a state runc does not know, whose lock a live process holds
  writeFileSync(join(root, 'vkernel@busy.json'), JSON.stringify({ version: 1, id: 'busy', bundle: '/b', created: 'now', policy: {}, sources: {}, helpers: {}, applied: [] }));
  const { execa } = await import('execa');
  const holder = execa(process.execPath, [join(REPO, 'test/integration/lock-worker.mjs'), 'hold', root, 'busy', 'in-fn'], { reject: false });
  try {
    await new Promise<void>((resolve) => holder.stdout?.on('data', (d: Buffer) => { if (String(d).includes('AT in-fn')) resolve(); }));
    const r = await vk(['gc', '--root', root]);
    expect([r.exitCode, r.stdout]).toEqual([0, `${root}: busy is locked by a running vkernel-runtime; left alone`]);
    expect(existsSync(join(root, 'vkernel@busy.json'))).toBe(true);
  } finally {
    holder.kill('SIGKILL');
    await holder;
  }
  const r = await vk(['gc', '--root', root]);
  expect([r.exitCode, r.stdout]).toEqual([0, `removing ${root}: busy`]);
  expect(readdirSync(root)).toEqual([]);
}, 60000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** an adaptive container created and started under `root`, its controller running: its state */
async function adaptiveStarted(root: string, id: string): Promise<ContainerState> {
  const bundle = await makeBundle({ args: ['sleep', '60'], annotations: { 'io.vkernel.sched.policy': 'adaptive', 'io.vkernel.sched.adaptive.interval_ms': '200' } });
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
  expect((await vk(['--root', root, 'start', id])).exitCode).toBe(0);
  const state = readState(root, id);
  expect(state.helpers.adaptive).toBeDefined();
  return state;
}

const controllerDir = (state: ContainerState) => join('/sys/fs/cgroup/cpu', `${state.cgroupPath?.replace(/\/[^/]*$/, '')}/vkernel-adaptive-${state.id}`);
const procsIn = (dir: string) => readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);

needs(RT_GROUPS).test('gc removes an adaptive controller\'s cgroup (vkernel-adaptive-<id>) whose container is gone, and keeps a live one\'s', async () => {
  const root = tempRoot();
  const gone = uid('gcad');
  const live = uid('gcal');
  let liveDir = '';
  try {
    // (inside the try: when the second create fails, e.g. the node RT budget is taken by others on
    // this host, the first container is still deleted)
    const goneState = await adaptiveStarted(root, gone);
    const liveState = await adaptiveStarted(root, live);
    const goneDir = controllerDir(goneState);
    liveDir = controllerDir(liveState);
    // the controller in its group, then SIGKILLed (nothing of it removes the group), its state
    // removed by hand and its container by runc: the group is all that is left
    for (let i = 0; i < 50 && !(existsSync(goneDir) && procsIn(goneDir).length); i++) await sleep(100);
    expect(procsIn(goneDir).length).toBe(1);
    const helper = goneState.helpers.adaptive;
    process.kill(typeof helper === 'number' ? helper : helper.pid, 'SIGKILL');
    for (let i = 0; i < 50 && procsIn(goneDir).length; i++) await sleep(100);
    for (const f of statePaths(root, gone)) rmSync(f, { force: true });
    rmSync(join(root, `vkernel@${gone}.start`), { force: true });
    expect((await runc(['--root', root, 'delete', '--force', gone])).exitCode).toBe(0);
    expect(existsSync(goneDir)).toBe(true);

    for (let i = 0; i < 50 && !(existsSync(liveDir) && procsIn(liveDir).length); i++) await sleep(100);
    // no grace period (cgroupfs has no reliable age): a controller whose group a gc removed before
    // it moved in makes it again (own-group unit test)
    const r = await vk(['gc', '--root', root]);
    expect([r.exitCode, r.stdout]).toEqual([0, expect.stringContaining(`removing adaptive controller cgroup ${goneDir} (its container is gone)`)]);
    expect(existsSync(goneDir)).toBe(false);
    // the live container's controller and its group are untouched
    expect(existsSync(liveDir)).toBe(true);
    expect(procsIn(liveDir).length).toBe(1);
    expect(r.stdout).not.toContain(live);
  } finally {
    await vk(['--root', root, 'delete', '--force', live]);
    await vk(['--root', root, 'delete', '--force', gone]);
  }
  expect(existsSync(liveDir)).toBe(false);
  expect(leftovers(root, gone)).toEqual([]);
  expect(leftovers(root, live)).toEqual([]);
}, 60000);
