import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { leftovers, makeBundle, recorded, requireRoot, runc, tempRoot, uid, vk } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';

/**
 * The cuts of issue 15, seen from outside with the engine's own profile (VKERNEL_PROFILE: one line
 * per engine process): `start` of a container with nothing to do after start never reaches the
 * engine; `delete` of a container with nothing to undo after runc's delete never reaches it either
 * (its state lives in runc's container directory; fifo's RT budget is given back by the RT
 * ledger's next operation); create and delete read the init from runc's state file instead of
 * running `runc state`; a container with work after start (adaptive) still gets it.
 */
beforeAll(requireRoot);

interface Line { cmd: string; phases: Record<string, [number, number]> }

async function lifecycle(policy: string) {
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': policy } });
  const root = tempRoot();
  const id = uid('f');
  const prof = join(tmpdir(), `${id}.profile`);
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  const env = { VKERNEL_PROFILE: prof };
  const lines = (): Line[] => (existsSync(prof) ? readFileSync(prof, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line) : []);
  const created = await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out, env });
  expect(created.exitCode).toBe(0);
  const marker = existsSync(join(root, `vkernel@${id}.start`));
  const started = await vk(['--root', root, 'start', id], { env });
  expect(started.exitCode).toBe(0);
  expect(JSON.parse((await runc(['--root', root, 'state', id])).stdout).status).toBe('running');
  // beside runc's directories (engine on delete), or inside runc's own (delete straight to runc)
  const handedOver = existsSync(join(root, id, 'vkernel.json'));
  const rtLink = existsSync(join(root, id, 'vkernel.rt-group')) ? readlinkSync(join(root, id, 'vkernel.rt-group')) : undefined;
  const state = JSON.parse(readFileSync(handedOver ? join(root, id, 'vkernel.json') : join(root, `vkernel@${id}.json`), 'utf8'));
  const refused = await vk(['--root', root, 'delete', id], { env }); // running, no --force: runc refuses
  const keptAfterRefusal = existsSync(join(root, id, 'vkernel.json')) || existsSync(join(root, `vkernel@${id}.json`));
  const deleted = await vk(['--root', root, 'delete', '--force', id], { env });
  expect(deleted.exitCode).toBe(0);
  const result = { marker, handedOver, rtLink, state, refused, keptAfterRefusal, lines: lines(), root, id };
  rmSync(prof, { force: true });
  return result;
}

test('cfs: create hands its state to runc\'s directory; start and delete pass straight to runc; nothing left', async () => {
  const r = await lifecycle('cfs');
  expect(r.marker).toBe(false);
  // nothing to undo after runc's delete: the state lives in runc's container directory
  expect(r.handedOver).toBe(true);
  expect(existsSync(join(r.root, `vkernel@${r.id}.json`))).toBe(false);
  expect(r.state.policy['sched.policy']).toBe('cfs');
  expect(r.state.pid).toBeGreaterThan(0);
  // only create ran the engine: start and both deletes went straight to runc
  expect(r.lines.map((l) => l.cmd)).toEqual(['create']);
  expect(r.lines[0].phases['runc state']).toBeUndefined();
  expect(r.lines[0].phases['runc state.json']).toBeDefined();
  expect(r.lines[0].phases['state-handover']).toBeDefined();
  // runc refused to delete the running container: our state is still there, with runc's
  expect(r.refused.exitCode).not.toBe(0);
  expect(r.keptAfterRefusal).toBe(true);
  expect(leftovers(r.root, r.id)).toEqual([]);
}, 120_000);

test('cfs create SIGKILLed after handing its state to runc (kill-at=created): delete --force alone leaves nothing, its lock file included (the engine runs for a delete while a lock file is there)', async () => {
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  const root = tempRoot();
  const id = uid('fk');
  const outFile = join(tmpdir(), `${id}.out`);
  const out = openSync(outFile, 'w');
  const r = await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out, env: { VKERNEL_RUNTIME_TEST_FAULT: 'kill-at=created' } });
  expect([r.exitCode, r.signal, readFileSync(outFile, 'utf8')]).toEqual([undefined, 'SIGKILL', '']);
  // killed after the handover: our state in runc's directory, and the killed holder's lock file
  expect(readdirSync(root).sort()).toEqual([id, `vkernel@${id}.lock`].sort());
  expect(existsSync(join(root, id, 'vkernel.json'))).toBe(true);
  const del = await vk(['--root', root, 'delete', '--force', id]);
  expect([del.exitCode, del.stderr]).toEqual([0, '']);
  expect(readdirSync(root)).toEqual([]);
  expect(leftovers(root, id)).toEqual([]);
}, 120_000);

needs(RT_GROUPS).test('fifo (rt backend: an RT budget in the RT ledger), running: create hands its state to runc\'s directory and start passes straight to runc; the kernel refuses to zero the budget of a group with RT tasks, so delete runs the engine (demote, zero, runc, ledger holder given back)', async () => {
  const r = await lifecycle('fifo');
  expect(r.marker).toBe(false);
  expect(r.handedOver).toBe(true);
  expect(r.state.applied).toEqual([{ name: 'sched-policy', undo: { backend: 'rt', backendUndo: expect.objectContaining({ ledger: true, raised: [] }) } }]);
  const group = (r.state.applied[0].undo as { backendUndo: { dir: string } }).backendUndo.dir;
  expect(r.rtLink).toBe(group);
  // create, then both deletes (the refused one and --force) in the engine; start straight to runc
  expect(r.lines.map((l) => l.cmd)).toEqual(['create', 'delete', 'delete']);
  expect(r.lines[0].phases['runc state']).toBeUndefined();
  expect(r.lines[0].phases['runc state.json']).toBeDefined();
  expect(r.lines[0].phases['state-handover']).toBeDefined();
  expect(r.refused.exitCode).not.toBe(0);
  expect(r.keptAfterRefusal).toBe(true);
  expect(leftovers(r.root, r.id)).toEqual([]);
  expect(existsSync(group)).toBe(false);
  const ledger = JSON.parse(readFileSync('/run/vkernel-runtime/locks/rt-ledger.json', 'utf8')) as { holders: Record<string, unknown> };
  expect(Object.keys(ledger.holders)).not.toContain(group);
}, 120_000);

needs(RT_GROUPS).test('fifo, container stopped: the launcher zeroes the group\'s RT budget before it passes delete to runc (a removed group\'s budget would count in the kernel until the group is freed, and the next RT grant would wait for it)', async () => {
  const bundle = await makeBundle({ args: ['true'], annotations: { 'io.vkernel.sched.policy': 'fifo' } });
  const root = tempRoot();
  const id = uid('fz');
  // runc as the launcher calls it, but first noting the group's budget when asked to delete
  const seen = join(tmpdir(), `${id}.budget`);
  const prof = join(tmpdir(), `${id}.profile`);
  const wrapper = join(tmpdir(), `${id}.runc`);
  writeFileSync(wrapper, '#!/bin/sh\nfor a do [ "$a" = delete ] && cat "$VK_GROUP/cpu.rt_runtime_us" >"$VK_SEEN"; done\nexec runc "$@"\n');
  chmodSync(wrapper, 0o755);
  try {
    expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })).exitCode).toBe(0);
    // (served, the create is handed over: recorded, its budget granted, a moment after runc returns)
    recorded(root, id);
    const state = JSON.parse(readFileSync(join(root, id, 'vkernel.json'), 'utf8'));
    const group = state.applied[0].undo.backendUndo.dir as string;
    expect(readlinkSync(join(root, id, 'vkernel.rt-group'))).toBe(group);
    expect(Number(readFileSync(join(group, 'cpu.rt_runtime_us'), 'utf8'))).toBeGreaterThan(0);
    expect((await vk(['--root', root, 'start', id])).exitCode).toBe(0);
    for (let i = 0; i < 100 && JSON.parse((await runc(['--root', root, 'state', id])).stdout).status !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 50));
    const del = await vk(['--root', root, 'delete', id], { env: { VKERNEL_RUNC: wrapper, VK_GROUP: group, VK_SEEN: seen, VKERNEL_PROFILE: prof } });
    expect([del.exitCode, del.stderr]).toEqual([0, '']);
    expect(readFileSync(seen, 'utf8').trim()).toBe('0');
    expect(existsSync(group)).toBe(false);
    // straight to runc: no engine process for the delete
    expect(existsSync(prof)).toBe(false);
    // the holder of the removed group until a ledger operation: gc drops it
    const gc = await vk(['gc', '--root', root]);
    expect([gc.exitCode, gc.stdout.split('\n').filter((l) => l.startsWith('failed'))]).toEqual([0, []]);
    const ledger = JSON.parse(readFileSync('/run/vkernel-runtime/locks/rt-ledger.json', 'utf8')) as { holders: Record<string, unknown> };
    expect(Object.keys(ledger.holders)).not.toContain(group);
  } finally {
    await vk(['--root', root, 'delete', '--force', id]);
    rmSync(seen, { force: true });
    rmSync(wrapper, { force: true });
    rmSync(prof, { force: true });
  }
  expect(leftovers(root, id)).toEqual([]);
}, 120_000);

needs(RT_GROUPS).test('adaptive: create leaves the start marker, start runs the engine and starts the controller; delete removes both', async () => {
  const r = await lifecycle('adaptive');
  expect(r.marker).toBe(true);
  expect(r.lines.map((l) => l.cmd)).toEqual(['create', 'start', 'delete', 'delete']);
  expect(r.state.helpers.adaptive).toBeDefined();
  expect(existsSync(join(r.root, `vkernel@${r.id}.start`))).toBe(false);
  expect(existsSync(join(r.root, `vkernel@${r.id}.json`))).toBe(false);
  // (not leftovers(): the controller, SIGTERMed by delete, can still append to its log after delete
  // removed it, a race of the adaptive controller's own, seen once here under load)
}, 120_000);

needs(RT_GROUPS).test('fifo: create sets SCHED_FIFO on every thread of the init in-process (no chrt process)', async () => {
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'fifo' } });
  const root = tempRoot();
  const id = uid('f');
  const prof = join(tmpdir(), `${id}.profile`);
  const env = { VKERNEL_PROFILE: prof };
  try {
    const created = await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', env });
    expect(created.exitCode).toBe(0);
    const line = JSON.parse(readFileSync(prof, 'utf8').split('\n')[0]) as Line;
    expect(line.phases['exec chrt']).toBeUndefined();
    expect(line.phases.sched_setscheduler).toBeDefined();
    // the RT ledger is written (renamed into place) without fsync
    expect(line.phases['ledger-write']).toBeDefined();
    expect(line.phases.fsync).toBeUndefined();
    // runc started by Bun.spawn, not through node:child_process's layer
    expect(line.phases['spawn (Bun.spawn)']).toBeDefined();
    expect(line.phases['spawn (node:child_process)']).toBeUndefined();
    // every thread of the created init (runc init, a Go program: several threads) is SCHED_FIFO
    const pid = JSON.parse((await runc(['--root', root, 'state', id])).stdout).pid as number;
    const tids = readdirSync(`/proc/${pid}/task`);
    expect(tids.length).toBeGreaterThan(0);
    for (const t of tids) expect(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1].split(' ')[38]).toBe('1'); // policy field: SCHED_FIFO
  } finally {
    await vk(['--root', root, 'delete', '--force', id]);
    rmSync(prof, { force: true });
  }
  expect(leftovers(root, id)).toEqual([]);
}, 120_000);

// a module-only container on the patched kernel leaves its state in runc's directory with its module
// named beside it (StateStore.markModule); the launcher's delete is runc's, then rmmod. This host
// cannot load our module: the marker is written by hand beside a real runc container, and rmmod is a
// recorder early in PATH (the unload itself is checked in the VM: module.launcher_delete)
test('module marker: the launcher\'s delete leaves a container runc keeps alone, passes delete --force to runc and unloads only a loaded module; a name not of ours goes to the engine', async () => {
  const bundle = await makeBundle({ args: ['sleep', '30'] });
  const root = tempRoot();
  const id = uid('mm');
  const bin = join(tmpdir(), `${id}.bin`); // named after the test's own id
  const calls = join(tmpdir(), `${id}.rmmod`);
  const prof = join(tmpdir(), `${id}.profile`);
  mkdirSync(bin);
  writeFileSync(join(bin, 'rmmod'), `#!/bin/sh\necho "$@" >>${calls}\n`);
  chmodSync(join(bin, 'rmmod'), 0o755);
  const env = { PATH: `${bin}:${process.env.PATH}`, VKERNEL_PROFILE: prof };
  const ids: string[] = [];
  try {
    for (const [mark, engine] of [['vkernel_nosuchmodule 1', false], ['vkernel_$(touch) 1', true]] as const) {
      const c = uid('mm');
      ids.push(c);
      // (no request: the launcher execs runc; the init holds runc's stdio, so none is captured)
      expect((await vk(['--root', root, 'create', '--bundle', bundle, c], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })).exitCode).toBe(0);
      expect((await runc(['--root', root, 'start', c])).exitCode).toBe(0);
      writeFileSync(join(root, c, 'vkernel.module'), `${mark}\n`);
      // running, no --force: runc refuses, the marker stays, nothing unloaded
      const kept = await vk(['--root', root, 'delete', c], { env });
      expect(kept.exitCode).not.toBe(0);
      expect(existsSync(join(root, c, 'vkernel.module'))).toBe(true);
      const del = await vk(['--root', root, 'delete', '--force', c], { env });
      expect([del.exitCode, existsSync(join(root, c))]).toEqual([0, false]);
      // the engine ran (a profile line per engine process) only for the name that is not one of ours
      expect(existsSync(prof)).toBe(engine);
      rmSync(prof, { force: true });
    }
    // no module of that name was loaded: rmmod never ran
    expect(existsSync(calls)).toBe(false);
  } finally {
    rmSync(bin, { recursive: true, force: true });
    rmSync(calls, { force: true });
    rmSync(prof, { force: true });
    for (const c of ids) await runc(['--root', root, 'delete', '--force', c]);
  }
  for (const c of ids) expect(leftovers(root, c)).toEqual([]);
}, 120_000);
