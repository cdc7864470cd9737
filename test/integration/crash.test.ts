import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import type { ContainerState } from '../../src/store/state.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cgroupDirsOf, cgroupHierarchies, leftovers, makeBundle, requireRoot, runc, stateFile, tempRoot, uid, until, vk } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';

/**
 * Crash consistency (issue 10 §1): the engine SIGKILLs itself at each named point of a create with
 * a request (VKERNEL_RUNTIME_TEST_FAULT=kill-at=<point>, store/fault.ts); then `delete --force` and
 * `gc` must leave no runc container, no state, temp or lock file, no private bundle, none of the
 * container's cgroups (its real paths, every v1 hierarchy and v2), no helper process, and the
 * parent's RT budget as it was.
 */
const CPU = '/sys/fs/cgroup/cpu';
const hasRtGroups = RT_GROUPS.ok;
const LEDGER = '/run/vkernel-runtime/locks/rt-ledger.json';
const rtRuntime = (dir: string) => Number(readFileSync(join(dir, 'cpu.rt_runtime_us'), 'utf8'));

beforeAll(requireRoot);

/** processes whose command line mentions `id` (helpers: the adaptive controller, rt release) */
function processesOf(id: string): string[] {
  const found: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(id)) found.push(`${p}: ${cmd}`);
    } catch { /* exited */ }
  }
  return found;
}

// points every create with a request passes, and those only a budget (fifo) passes
// (create writes no state before its first applier: the first write is the one that records it, or
// fifo's journal of the budget it raises; the lock file marks the create unfinished until then)
const COMMON = ['prepared', 'locked', 'runc-created', 'applying:sched-policy', 'applied:sched-policy', 'before-state-write', 'mid-state-write', 'applied-all', 'created'];
const BUDGET = ['rt-budget-raised', 'before-state-write@2', 'mid-state-write@2'];
const ROLLBACK = 'fail-at=applied-all,kill-at=rollback-runc-deleted';
const CFS = [...COMMON.map((p) => `kill-at=${p}`), ROLLBACK];
const FIFO = [...[...COMMON, ...BUDGET].map((p) => `kill-at=${p}`), ROLLBACK];

/** the RT ledger's holders (group dirs) under `parent` */
function ledgerHolders(parent: string): string[] {
  if (!existsSync(LEDGER)) return [];
  return Object.keys((JSON.parse(readFileSync(LEDGER, 'utf8')) as { holders: Record<string, unknown> }).holders).filter((d) => d.includes(`/${parent}/`));
}

async function killedCreate(policy: string, fault: string): Promise<void> {
    const parent = `vkc-${process.pid}-${Date.now().toString(36)}`;
    const parentDirs = cgroupHierarchies().map((h) => join(h.mount, parent));
    const cpuParent = join(CPU, parent);
    if (hasRtGroups) mkdirSync(cpuParent);
    try {
      const bundle = await makeBundle({ args: ['sleep', '60'], annotations: { 'io.vkernel.sched.policy': policy }, cgroupsPath: `/${parent}/ctr` });
      const root = tempRoot();
      const id = uid('kill');
      const outFile = join(tmpdir(), `${id}.out`);
      const out = openSync(outFile, 'w');
      const budgetBefore = hasRtGroups ? rtRuntime(cpuParent) : 0;
      const r = await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out, env: { VKERNEL_RUNTIME_TEST_FAULT: fault } });
      // (the output says why when create ended otherwise, e.g. the node RT limit used up by another run)
      expect([r.exitCode, r.signal, r.signal ? '' : readFileSync(outFile, 'utf8')]).toEqual([undefined, 'SIGKILL', '']);
      // the container's real cgroups, when runc created it
      const st = await runc(['--root', root, 'state', id]);
      const dirs = st.exitCode === 0 ? cgroupDirsOf(JSON.parse(st.stdout).pid) : [];
      if (st.exitCode === 0) expect(dirs.length).toBeGreaterThan(0);

      const del = await vk(['--root', root, 'delete', '--force', id]);
      expect([del.exitCode, del.stderr]).toEqual([0, '']);
      // a write killed before its rename left a temp file: delete --force removes it, state or none
      expect(readdirSync(root).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      const gc = await vk(['gc', '--root', root]);
      expect([gc.exitCode, gc.stdout.split('\n').filter((l) => l.startsWith('failed'))]).toEqual([0, []]);

      expect((await runc(['--root', root, 'list', '-q'])).stdout).toBe('');
      expect(leftovers(root, id, { cgroupsPath: `/${parent}/ctr`, cgroupDirs: dirs })).toEqual([]);
      expect(readdirSync(root)).toEqual([]);
      expect(await until(() => processesOf(id).length === 0, 5000, 100)).toBe(true);
      expect(ledgerHolders(parent)).toEqual([]);
      if (hasRtGroups) {
        // the kernel frees a removed group after an RCU grace period; the budget comes back then
        expect(await until(() => rtRuntime(cpuParent) === budgetBefore, 15000, 100)).toBe(true);
      }
    } finally {
      for (const d of parentDirs) if (existsSync(d)) try { rmdirSync(d); } catch { /* reported by the assertions */ }
    }
}

describe('SIGKILL during create (sched.policy=cfs), then delete --force and gc: nothing left', () => {
  test.each(CFS)('cfs, %s', (fault) => killedCreate('cfs', fault), 60000);
});

needs(RT_GROUPS).describe('SIGKILL during create (sched.policy=fifo: RT budgets), then delete --force and gc: nothing left, parents\' budgets as before', () => {
  test.each(FIFO)('fifo, %s', (fault) => killedCreate('fifo', fault), 60000);
});

/** the scheduling policy of `pid` (/proc/<pid>/stat field 41: 0 SCHED_OTHER, 1 SCHED_FIFO) */
const schedPolicy = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[38]);

/**
 * A create SIGKILLed at `point`, then `start` (a caller that ignores create's failure; ARCHITECTURE.md:
 * the container's process never runs with a half-applied policy): before the create recorded its
 * last applier, start is refused (exit 1, the reason on stderr) and the container stays `created`;
 * from then on (every applier applied and recorded) start runs it with the policy in force. Then
 * `delete --force` and `gc`: nothing left.
 */
async function killedCreateThenStart(policy: string, point: string, runs: boolean): Promise<void> {
  const parent = `vks-${process.pid}-${Date.now().toString(36)}`;
  const parentDirs = cgroupHierarchies().map((h) => join(h.mount, parent));
  if (hasRtGroups) mkdirSync(join(CPU, parent));
  const root = tempRoot();
  const id = uid('kcs');
  let passed = false;
  try {
    const bundle = await makeBundle({ args: ['sleep', '60'], annotations: { 'io.vkernel.sched.policy': policy }, cgroupsPath: `/${parent}/ctr` });
    const trace = join(tmpdir(), `${id}.trace`);
    const out = openSync(join(tmpdir(), `${id}.out`), 'w');
    const r = await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out, env: { VKERNEL_RUNTIME_TEST_FAULT: `kill-at=${point},trace=${trace}` } });
    expect([r.signal, readFileSync(trace, 'utf8').replace(/ \d+\n$/, '')]).toEqual(['SIGKILL', `create kill ${point.includes('@') ? point : `${point}@1`}`]);
    const st = JSON.parse((await runc(['--root', root, 'state', id])).stdout) as { pid: number; status: string };
    const dirs = cgroupDirsOf(st.pid);
    const s = await vk(['--root', root, 'start', id]);
    const after = JSON.parse((await runc(['--root', root, 'state', id])).stdout) as { pid: number; status: string };
    if (runs) {
      expect([s.exitCode, s.stderr, after.status]).toEqual([0, '', 'running']);
      expect(schedPolicy(after.pid)).toBe(policy === 'fifo' ? 1 : 0);
    } else {
      expect([s.exitCode, after.status]).toEqual([1, 'created']);
      expect(s.stderr).toMatch(/did not finish/);
    }
    const del = await vk(['--root', root, 'delete', '--force', id]);
    expect([del.exitCode, del.stderr]).toEqual([0, '']);
    const gc = await vk(['gc', '--root', root]);
    expect([gc.exitCode, gc.stdout.split('\n').filter((l) => l.startsWith('failed'))]).toEqual([0, []]);
    expect(leftovers(root, id, { cgroupsPath: `/${parent}/ctr`, cgroupDirs: dirs })).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
    expect(ledgerHolders(parent)).toEqual([]);
    passed = true;
  } finally {
    // a failed assertion must not leave a container holding the node's RT budget (other tests' creates would be refused)
    if (!passed) {
      await vk(['--root', root, 'delete', '--force', id]);
      await vk(['gc', '--root', root]);
    }
    for (const d of parentDirs) if (existsSync(d)) try { rmdirSync(d); } catch { /* reported by the assertions */ }
  }
}

// after runc create, before the last applier is recorded: start refused; applied-all, created: start runs it
const UNFINISHED_CFS = ['runc-created', 'applying:sched-policy', 'applied:sched-policy', 'before-state-write', 'mid-state-write'];
const UNFINISHED_FIFO = ['runc-created', 'applying:sched-policy', 'mid-state-write', 'rt-budget-raised', 'applied:sched-policy', 'mid-state-write@2'];
const FINISHED = ['applied-all', 'created'];

describe('SIGKILL during create (sched.policy=cfs), then start: refused unless every applier was recorded', () => {
  test.each(UNFINISHED_CFS)('cfs, kill-at=%s: start refused', (p) => killedCreateThenStart('cfs', p, false), 60000);
  test.each(FINISHED)('cfs, kill-at=%s: start runs it', (p) => killedCreateThenStart('cfs', p, true), 60000);
});

needs(RT_GROUPS).describe('SIGKILL during create (sched.policy=fifo), then start: refused unless every applier was recorded (never runs without its FIFO policy)', () => {
  test.each(UNFINISHED_FIFO)('fifo, kill-at=%s: start refused', (p) => killedCreateThenStart('fifo', p, false), 60000);
  test.each(FINISHED)('fifo, kill-at=%s: start runs it SCHED_FIFO', (p) => killedCreateThenStart('fifo', p, true), 60000);
});

/** SIGKILL during start of an adaptive container: the controller it may have started must not outlive delete + gc */
async function killedStart(fault: string): Promise<void> {
  const bundle = await makeBundle({ args: ['sleep', '60'], annotations: { 'io.vkernel.sched.policy': 'adaptive', 'io.vkernel.sched.adaptive.interval_ms': '200' } });
  const root = tempRoot();
  const id = uid('kst');
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
  const dirs = cgroupDirsOf(JSON.parse((await runc(['--root', root, 'state', id])).stdout).pid);
  const r = await vk(['--root', root, 'start', id], { env: { VKERNEL_RUNTIME_TEST_FAULT: fault } });
  expect([r.exitCode, r.signal]).toEqual([undefined, 'SIGKILL']);
  expect((await vk(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
  const gc = await vk(['gc', '--root', root]);
  expect([gc.exitCode, gc.stdout.split('\n').filter((l) => l.startsWith('failed'))]).toEqual([0, []]);
  expect(leftovers(root, id, { cgroupDirs: dirs })).toEqual([]);
  expect(readdirSync(root)).toEqual([]);
  expect(await until(() => processesOf(id).length === 0, 5000, 100)).toBe(true);
}

needs(RT_GROUPS).describe('SIGKILL during start (sched.policy=adaptive: a helper), then delete --force and gc: no helper left', () => {
  // before the controller starts, after it started but before the state records it, mid-record
  test.each(['kill-at=started', 'kill-at=before-state-write', 'kill-at=mid-state-write'])('adaptive start, %s', (fault) => killedStart(fault), 60000);
});

/** what `run` keeps of a container while it runs: runc's state and ours */
async function runState(root: string, id: string): Promise<{ pid?: number; status?: string; ours?: ContainerState }> {
  const st = await runc(['--root', root, 'state', id]);
  const file = stateFile(root, id);
  let ours: ContainerState | undefined;
  try { if (file) ours = JSON.parse(readFileSync(file, 'utf8')) as ContainerState; } catch { /* not (yet) there */ }
  if (st.exitCode !== 0) return { ours };
  const j = JSON.parse(String(st.stdout)) as { pid: number; status: string };
  return { pid: j.pid, status: j.status, ours };
}

/**
 * SIGKILL of `vkernel-runtime run` with a request (issue 10 §1): at a fault point of one of its
 * processes (`<role>/<point>`: run's prepare step `run`, runc's hooks `hook-create-runtime`,
 * `hook-poststart`; a detached run, so a point that is never reached shows as a run that
 * succeeded), or, with `fault` undefined, the foreground `run` itself (runc, by then) killed from
 * outside while its container runs. Then `delete --force` + `gc`: nothing left.
 */
async function killedRun(policy: string, fault: string | undefined): Promise<void> {
  const parent = `vkr-${process.pid}-${Date.now().toString(36)}`;
  const parentDirs = cgroupHierarchies().map((h) => join(h.mount, parent));
  const cpuParent = join(CPU, parent);
  if (hasRtGroups) mkdirSync(cpuParent);
  try {
    const annotations: Record<string, string> = { 'io.vkernel.sched.policy': policy };
    if (policy === 'adaptive') annotations['io.vkernel.sched.adaptive.interval_ms'] = '200';
    const bundle = await makeBundle({ args: ['sleep', '60'], annotations, cgroupsPath: `/${parent}/ctr` });
    const root = tempRoot();
    const id = uid('krun');
    const outFile = join(tmpdir(), `${id}.out`);
    const out = openSync(outFile, 'w');
    const budgetBefore = hasRtGroups ? rtRuntime(cpuParent) : 0;
    let dirs: string[] = [];
    if (fault) {
      const trace = join(tmpdir(), `${id}.trace`);
      const r = await vk(['--root', root, 'run', '--detach', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out, env: { VKERNEL_RUNTIME_TEST_FAULT: `kill-at=${fault},trace=${trace}` } });
      // the point was reached, by the process it names, and that process killed there
      const [role, at] = fault.split('/');
      const killed = existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n') : [];
      expect(killed.map((l) => l.replace(/ \d+$/, ''))).toEqual([`${role} kill ${at.includes('@') ? at : `${at}@1`}`]);
      expect(r.exitCode).not.toBe(0);
      const st = await runState(root, id);
      if (st.pid) dirs = cgroupDirsOf(st.pid);
    } else {
      const p = vk(['--root', root, 'run', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out });
      const up = await until(async () => {
        const st = await runState(root, id);
        return st.status === 'running' && (policy !== 'adaptive' || st.ours?.helpers.adaptive !== undefined);
      }, 20000, 100);
      expect([up, readFileSync(outFile, 'utf8')]).toEqual([true, '']);
      const st = await runState(root, id);
      dirs = cgroupDirsOf(st.pid as number);
      expect(dirs.length).toBeGreaterThan(0);
      p.kill('SIGKILL');
      const r = await p;
      expect(r.signal).toBe('SIGKILL');
    }

    const del = await vk(['--root', root, 'delete', '--force', id]);
    expect([del.exitCode, del.stderr]).toEqual([0, '']);
    const gc = await vk(['gc', '--root', root]);
    expect([gc.exitCode, String(gc.stdout).split('\n').filter((l) => l.startsWith('failed'))]).toEqual([0, []]);

    expect((await runc(['--root', root, 'list', '-q'])).stdout).toBe('');
    expect(leftovers(root, id, { cgroupsPath: `/${parent}/ctr`, cgroupDirs: dirs, bundle })).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
    expect(await until(() => processesOf(id).length === 0, 5000, 100)).toBe(true);
    expect(ledgerHolders(parent)).toEqual([]);
    if (hasRtGroups) expect(await until(() => rtRuntime(cpuParent) === budgetBefore, 15000, 100)).toBe(true);
  } finally {
    for (const d of parentDirs) if (existsSync(d)) try { rmdirSync(d); } catch { /* reported by the assertions */ }
  }
}

// run's prepare step (the engine before runc run), then the createRuntime hook (applies the policy)
const RUN_PREPARE = ['prepared', 'locked', 'before-state-write', 'mid-state-write', 'bundle-made', 'bundle-written', 'watching'].map((p) => `run/${p}`);
const HOOK = (points: string[]) => points.map((p) => `hook-create-runtime/${p}`);
const HOOK_CFS = HOOK(['before-state-write', 'mid-state-write', 'applying:sched-policy', 'applied:sched-policy', 'mid-state-write@2', 'applied-all']);
const HOOK_BUDGET = HOOK(['before-state-write', 'mid-state-write', 'applying:sched-policy', 'before-state-write@2', 'rt-budget-raised', 'mid-state-write@3', 'applied:sched-policy', 'applied-all']);

describe('SIGKILL during run (sched.policy=cfs), then delete --force and gc: nothing left', () => {
  test.each([...RUN_PREPARE, ...HOOK_CFS])('run cfs, kill-at=%s', (fault) => killedRun('cfs', fault), 60000);
  test('run cfs, the running `run` SIGKILLed', () => killedRun('cfs', undefined), 60000);
});

needs(RT_GROUPS).describe('SIGKILL during run (sched.policy=fifo, adaptive: RT budgets, a helper), then delete --force and gc: nothing left, parents\' budgets as before', () => {
  test.each(['run/bundle-written', ...HOOK_BUDGET])('run fifo, kill-at=%s', (fault) => killedRun('fifo', fault), 60000);
  test('run fifo, the running `run` SIGKILLed', () => killedRun('fifo', undefined), 60000);
  // the poststart hook starts the controller, then records it in the state
  test.each(['hook-create-runtime/rt-budget-raised', 'hook-poststart/before-state-write', 'hook-poststart/mid-state-write'])('run adaptive, kill-at=%s', (fault) => killedRun('adaptive', fault), 60000);
  test('run adaptive, the running `run` SIGKILLed (controller running)', () => killedRun('adaptive', undefined), 60000);
});
