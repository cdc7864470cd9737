import { openSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { KEYS, PREFIX } from '../../src/policy/keys.js';
import { makeBundle, requireRoot, run, runc, tempRoot, uid, vk, leftovers, RUNTIME, hasState } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';

beforeAll(requireRoot);

/** engine paths: a flag of ours sends the call through the TypeScript engine instead of the launcher's exec */
const ENGINE = ['--vkernel-set', 'strict=false'];

describe('same observable results as runc', () => {
  test.each([['launcher'], ['engine']])('run: output and exit code (%s)', async (path) => {
    const bundle = await makeBundle({ args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    const root = tempRoot();
    const ours = await vk(['--root', root, ...(path === 'engine' ? ENGINE : []), 'run', '--bundle', bundle, uid()]);
    const theirs = await runc(['--root', root, 'run', '--bundle', bundle, uid()]);
    expect([ours.exitCode, ours.stdout, ours.stderr]).toEqual([3, 'out', 'err']);
    expect([ours.exitCode, ours.stdout, ours.stderr]).toEqual([theirs.exitCode, theirs.stdout, theirs.stderr]);
  });

  test.each([['launcher', {}], ['engine (policy)', { 'io.vkernel.sched.policy': 'cfs', 'io.vkernel.strict': 'false' }]])(
    'create/state/start/delete (%s)', async (_name, annotations) => {
      const bundle = await makeBundle({ args: ['sh', '-c', 'sleep 0.5; echo done'], annotations });
      const root = tempRoot();
      const ids = { ours: uid('o'), theirs: uid('t') };
      const states: Record<string, unknown[]> = { ours: [], theirs: [] };
      for (const [who, tool] of [['ours', vk], ['theirs', runc]] as const) {
        const id = ids[who];
        const log = join(tmpdir(), `${id}.out`);
        const fd = openSync(log, 'w');
        const created = await tool(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: fd, stderr: fd });
        expect(created.exitCode).toBe(0);
        const s1 = JSON.parse((await tool(['--root', root, 'state', id])).stdout);
        expect((await tool(['--root', root, 'start', id])).exitCode).toBe(0);
        await new Promise((r) => setTimeout(r, 900));
        const s2 = JSON.parse((await tool(['--root', root, 'state', id])).stdout);
        expect((await tool(['--root', root, 'delete', id])).exitCode).toBe(0);
        const gone = await tool(['--root', root, 'state', id]);
        states[who] = [s1.status, s2.status, Object.keys(s1).sort(), s1.bundle, gone.exitCode, readFileSync(log, 'utf8')];
        expect(s1.pid).toBeGreaterThan(0);
      }
      expect(states.ours).toEqual(states.theirs);
      expect(states.ours.slice(0, 2)).toEqual(['created', 'stopped']);
      expect(leftovers(root, ids.ours)).toEqual([]);
    }, 30000);

  test('delete of an unknown container fails like runc; delete --force of it succeeds like runc', async () => {
    const root = tempRoot();
    const a = await vk(['--root', root, 'delete', 'nope']);
    const b = await runc(['--root', root, 'delete', 'nope']);
    expect(a.exitCode).toBe(b.exitCode);
    expect((await vk(['--root', root, 'delete', '--force', 'nope'])).exitCode).toBe(0);
  });

  /**
   * delete, delete, delete --force, delete --force of a created container: each call answers as
   * runc's does (exit code, stderr), nothing of ours left after any. Three ways a delete goes: the
   * launcher straight to runc (no request); a cfs container whose state create handed to runc's
   * directory (delete straight to runc); an adaptive one, whose state stays beside runc's until
   * delete, so the first delete runs in the engine (lifecycle/delete.ts) and the later ones find
   * nothing of ours.
   */
  async function deleteRepeated(annotations: Record<string, string> | undefined, engineState: boolean): Promise<void> {
    const bundle = await makeBundle({ args: ['sleep', '30'], annotations });
    const root = tempRoot();
    const steps = [['delete'], ['delete'], ['delete', '--force'], ['delete', '--force']];
    const seen: Record<string, { step: string; exit?: number; err: string }[]> = { ours: [], theirs: [] };
    for (const [who, tool] of [['ours', vk], ['theirs', runc]] as const) {
      const id = uid(who === 'ours' ? 'o' : 't');
      const fd = openSync(join(tmpdir(), `${id}.out`), 'w');
      expect((await tool(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: fd, stderr: fd })).exitCode).toBe(0);
      // the path this row is about: our state beside runc's (the engine deletes) or not
      if (who === 'ours') expect(existsSync(join(root, `vkernel@${id}.json`))).toBe(engineState);
      for (const step of steps) {
        const r = await tool(['--root', root, ...step, id]);
        // runc's error lines carry a time; the id is each side's own
        const err = String(r.stderr).replace(/time="[^"]*" /g, '').replaceAll(id, '<id>');
        seen[who].push({ step: step.join(' '), exit: r.exitCode, err });
        expect(leftovers(root, id)).toEqual([]);
      }
    }
    expect(seen.ours).toEqual(seen.theirs);
    expect(seen.ours.map((s) => s.exit)).toEqual([0, 1, 0, 0]);
  }

  test.each([['launcher', undefined], ['cfs: state handed to runc, delete straight to runc', { 'io.vkernel.sched.policy': 'cfs', 'io.vkernel.strict': 'false' }]] as const)(
    'delete repeated: each call answers as runc does for the same sequence, nothing left after any (%s)', (_name, annotations) => deleteRepeated(annotations, false), 30000);

  needs(RT_GROUPS).test('delete repeated: each call answers as runc does for the same sequence, nothing left after any (adaptive: the first delete runs in the engine)',
    () => deleteRepeated({ 'io.vkernel.sched.policy': 'adaptive' }, true), 30000);

  test('--version prints runc\'s lines first, then ours (compat.test.ts checks every path)', async () => {
    const r = await vk(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.startsWith((await runc(['--version'])).stdout)).toBe(true);
    expect(r.stdout).toMatch(/\nvkernel-runtime version \d+\.\d+\.\d+\n/);
  });

  test('features: runc\'s JSON plus our keys', async () => {
    const ours = JSON.parse((await vk(['features'])).stdout);
    const theirs = JSON.parse((await runc(['features'])).stdout);
    expect(ours.hooks).toEqual(theirs.hooks);
    expect(ours.annotations['io.vkernel.sched.policy']).toBe('one of cfs, fifo, adaptive');
    // every key of the registry, with its allowed values, and nothing else under io.vkernel.
    const listed = Object.keys(ours.annotations).filter((k) => k.startsWith(PREFIX)).sort();
    expect(listed).toEqual(KEYS.map((k) => PREFIX + k.key).sort());
    for (const k of KEYS) expect(ours.annotations[PREFIX + k.key]).toBe(k.allowed);
    expect(listed.length).toBeGreaterThanOrEqual(14);
    // io.vkernel.log=private (issue 12, deck claim 1) and whether this host can apply it (this host: a stock kernel)
    expect(ours.annotations['io.vkernel.log']).toBe('one of shared, private');
    expect(ours.annotations['org.vkernel-runtime.log.private']).toMatch(existsSync('/sys/kernel/vkernel/abi_version') ? /^(kernel \(printk_ns|none: this vkernel kernel)/ : /^none: needs the vkernel kernel/);
    for (const k of Object.keys(theirs.annotations ?? {})) expect(ours.annotations[k]).toBe(theirs.annotations[k]);
  });
});

describe('fds, signals, terminal', () => {
  test.each([['launcher'], ['engine']])('--preserve-fds passes an fd into the container (%s)', async (path) => {
    const file = join(tmpdir(), `${uid('fd')}.txt`);
    writeFileSync(file, 'through-fd-3\n');
    const bundle = await makeBundle({ args: ['sh', '-c', 'cat <&3'] });
    const root = tempRoot();
    const fd = openSync(file, 'r');
    const r = await vk(['--root', root, ...(path === 'engine' ? ENGINE : []), 'run', '--preserve-fds', '1', '--bundle', bundle, uid()],
      { stdio: ['ignore', 'pipe', 'pipe', fd] });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('through-fd-3');
  });

  /**
   * `--preserve-fds 2` from a caller with nothing open at 3 and 4: runc passes whatever its own
   * process has there (its fds, as runc called directly shows), never an fd of ours: not the
   * container's lock file, not the engine's event loop fds (issue 10 §2).
   */
  test.each([
    ['create+start, a request (engine)', 'create', { 'io.vkernel.sched.policy': 'cfs' }, []],
    ['create+start, our flag (engine)', 'create', {}, ENGINE],
    ['run, a request', 'run', { 'io.vkernel.sched.policy': 'cfs' }, []],
    ['run, our flag (engine)', 'run', {}, ENGINE],
  ] as const)('--preserve-fds 2 with fds 3 and 4 closed: the container gets what runc alone gives, nothing of ours (%s)', async (_name, how, annotations, flags) => {
    const bundle = await makeBundle({ args: ['sh', '-c', 'for f in 3 4; do echo "$f $(readlink /proc/self/fd/$f)"; done'], annotations });
    const root = tempRoot();
    const seen: Record<string, string> = {};
    for (const [who, bin] of [['ours', RUNTIME], ['theirs', 'runc']] as const) {
      const id = uid(`pf${who[0]}`);
      const out = join(tmpdir(), `${id}.out`);
      const fd = openSync(out, 'w');
      const closed = ['-c', 'exec 3>&- 4>&-; exec "$@"', 'sh', bin, '--root', root, ...(who === 'ours' ? flags : [])];
      if (how === 'create') {
        const c = await run('/bin/sh', [...closed, 'create', '--preserve-fds', '2', '--bundle', bundle, id], { stdin: 'ignore', stdout: fd, stderr: fd });
        expect(c.exitCode).toBe(0);
        expect((await run(bin, ['--root', root, 'start', id])).exitCode).toBe(0);
        for (let i = 0; i < 50 && !readFileSync(out, 'utf8').includes('\n4 '); i++) await new Promise((r) => setTimeout(r, 100));
        expect((await run(bin, ['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
      } else {
        const r = await run('/bin/sh', [...closed, 'run', '--preserve-fds', '2', '--bundle', bundle, id], { stdin: 'ignore', stdout: fd, stderr: fd });
        expect(r.exitCode).toBe(0);
      }
      seen[who] = readFileSync(out, 'utf8');
      expect(leftovers(root, id)).toEqual([]);
    }
    expect(seen.ours).not.toMatch(/vkernel|eventfd|\.lock/);
    expect(seen.ours).toBe(seen.theirs);
  }, 30000);

  test.each([['launcher'], ['engine']])('socket activation: LISTEN_FDS fds reach the container (%s)', async (path) => {
    const file = join(tmpdir(), `${uid('lfd')}.txt`);
    writeFileSync(file, 'listen-fd\n');
    const bundle = await makeBundle({ args: ['sh', '-c', 'echo "LISTEN_FDS=$LISTEN_FDS"; cat <&3'] });
    const fd = openSync(file, 'r');
    // as systemd does: LISTEN_PID is the pid of the process it starts (sh sets it, then execs us)
    const r = await run('/bin/sh', ['-c', 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', 'sh', RUNTIME,
      '--root', tempRoot(), ...(path === 'engine' ? ENGINE : []), 'run', '--bundle', bundle, uid()],
    { stdio: ['ignore', 'pipe', 'pipe', fd], env: { LISTEN_FDS: '1' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('LISTEN_FDS=1\nlisten-fd');
  });

  test.each([['launcher', []], ['engine', ENGINE], ['engine with a policy', ['--vkernel-set', 'sched.policy=cfs', ...ENGINE]]])(
    'a signal sent to vkernel-runtime run reaches the container (%s)', async (_name, flags) => {
      const bundle = await makeBundle({ args: ['sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.05; done'] });
      const root = tempRoot();
      const child = spawn(RUNTIME, ['--root', root, ...flags, 'run', '--bundle', bundle, uid()], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      for (let i = 0; i < 100 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('ready');
      child.kill('SIGTERM');
      const code = await new Promise((r) => child.on('exit', (c) => r(c)));
      expect(out).toContain('got-term');
      expect(code).toBe(7);
    }, 20000);

  test.each([['launcher', []], ['engine with a policy', ['--vkernel-set', 'sched.policy=cfs', ...ENGINE]]])(
    'a container started in a pty gets a terminal (%s)', async (_name, flags) => {
      const pty = await import('node-pty');
      const bundle = await makeBundle({ args: ['sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; read line; echo "got:$line"'], terminal: true });
      const root = tempRoot();
      const p = pty.spawn(RUNTIME, ['--root', root, ...flags, 'run', '--bundle', bundle, uid()], { cols: 80, rows: 24, env: process.env as Record<string, string> });
      let out = '';
      p.onData((d) => {
        out += d;
        if (out.includes('is-a-tty') && !out.includes('sent')) { out += 'sent'; p.write('hello\r'); }
      });
      const code = await new Promise<number>((r) => p.onExit((e) => r(e.exitCode)));
      expect(out).toMatch(/\/dev\/pts\/\d+/);
      expect(out).toContain('is-a-tty');
      expect(out).toContain('got:hello');
      expect(code).toBe(0);
    }, 20000);
});

describe('errors and rollback', () => {
  test('bad annotation: exit 1, JSON error in --log, nothing created', async () => {
    const bundle = await makeBundle({ args: ['true'], annotations: { 'io.vkernel.sched.policy': 'fast' } });
    const root = tempRoot();
    const log = join(tmpdir(), `${uid('log')}.json`);
    const id = uid();
    const r = await vk(['--root', root, '--log', log, '--log-format', 'json', 'create', '--bundle', bundle, id]);
    expect(r.exitCode).toBe(1);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ level: 'error', msg: 'io.vkernel.sched.policy: "fast" is not one of cfs, fifo, adaptive (from annotation)' });
    expect(lines.at(-1).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(r.stderr).toContain('"fast" is not one of cfs, fifo, adaptive');
    expect((await runc(['--root', root, 'list', '-q'])).stdout).toBe('');
    expect(leftovers(root, id)).toEqual([]);
  });

  test('bad env value through Docker-style VKERNEL_* also fails before anything exists', async () => {
    const bundle = await makeBundle({ args: ['true'], env: ['VKERNEL_MM_THP=sometimes'] });
    const root = tempRoot();
    const r = await vk(['--root', root, 'run', '--bundle', bundle, uid()]);
    expect(r.exitCode).toBe(1);
    // no --log: runc's text format on stderr
    expect(r.stderr).toContain(`level=error msg=${JSON.stringify('io.vkernel.mm.thp: "sometimes" is not one of always, madvise, never (from env VKERNEL_MM_THP)')}`);
    expect((await runc(['--root', root, 'list', '-q'])).stdout).toBe('');
  });

  test.each([['create'], ['run']])('injected failure after runc create (%s): nothing left behind', async (cmd) => {
    const bundle = await makeBundle({ args: ['sh', '-c', 'echo should-not-run'], annotations: { 'io.vkernel.sched.policy': 'cfs', 'io.vkernel.strict': 'false' } });
    const root = tempRoot();
    const id = uid('fault');
    const r = await vk(['--root', root, cmd, '--bundle', bundle, id], { env: { VKERNEL_RUNTIME_TEST_FAULT: 'after-create' } });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).not.toContain('should-not-run');
    expect(r.stderr).toContain('injected failure after runc create');
    expect((await runc(['--root', root, 'list', '-q'])).stdout).toBe('');
    expect(leftovers(root, id)).toEqual([]);
    expect(existsSync('/run/vkernel-runtime/bundles') ? (await import('node:fs')).readdirSync('/run/vkernel-runtime/bundles').filter((d) => d.startsWith(id)) : []).toEqual([]);
  });
});

test('20 containers created in parallel all succeed, start and delete', async () => {
  const bundle = await makeBundle({ args: ['sh', '-c', 'exit 0'], annotations: { 'io.vkernel.sched.policy': 'cfs', 'io.vkernel.strict': 'false' } });
  const root = tempRoot();
  const ids = Array.from({ length: 20 }, () => uid('par'));
  // the container's init inherits create's stdio: give it a file, not a pipe that would stay open
  const errFile = join(tmpdir(), `${uid('par')}.err`);
  const fd = openSync(errFile, 'w');
  const created = await Promise.all(ids.map((id) => vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: fd, stderr: fd })));
  expect(readFileSync(errFile, 'utf8')).toBe('');
  expect(created.map((r) => r.exitCode)).toEqual(ids.map(() => 0));
  expect((await runc(['--root', root, 'list', '-q'])).stdout.split('\n').sort()).toEqual([...ids].sort());
  const started = await Promise.all(ids.map((id) => vk(['--root', root, 'start', id])));
  expect(started.map((r) => r.exitCode)).toEqual(ids.map(() => 0));
  const deleted = await Promise.all(ids.map((id) => vk(['--root', root, 'delete', '--force', id])));
  expect(deleted.map((r) => r.exitCode)).toEqual(ids.map(() => 0));
  for (const id of ids) expect(leftovers(root, id)).toEqual([]);
}, 120000);

describe('the engine under node (VKERNEL_ENGINE=node) behaves like the bun binary', () => {
  const env = { VKERNEL_ENGINE: 'node' };
  test('run with a policy: output, exit code, nothing left', async () => {
    const bundle = await makeBundle({ args: ['sh', '-c', 'echo out; exit 5'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
    const root = tempRoot();
    const id = uid('node');
    const r = await vk(['--root', root, 'run', '--bundle', bundle, id], { env });
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([5, 'out', '']);
    expect(leftovers(root, id)).toEqual([]);
  }, 30000); // node starts for the prepare step and each of run's hooks: ~1 s each on a loaded 2-core host (jest's default 5 s was exceeded at load ~9)

  test('create/start/delete with a policy and a bad annotation', async () => {
    const root = tempRoot();
    const bad = await makeBundle({ args: ['true'], annotations: { 'io.vkernel.sched.policy': 'fast' } });
    const r = await vk(['--root', root, 'create', '--bundle', bad, uid('node')], { env, stdin: 'ignore' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('\\"fast\\" is not one of cfs, fifo, adaptive');
    const good = await makeBundle({ args: ['true'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
    const id = uid('node');
    const out = openSync(join(tmpdir(), `${id}.out`), 'w');
    expect((await vk(['--root', root, 'create', '--bundle', good, id], { env, stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
    expect(hasState(root, id)).toBe(true);
    expect((await vk(['--root', root, 'start', id], { env })).exitCode).toBe(0);
    expect((await vk(['--root', root, 'delete', '--force', id], { env })).exitCode).toBe(0);
    expect(leftovers(root, id)).toEqual([]);
  }, 30000); // four node starts: ~1 s each on a loaded 2-core host
});

test('run with a policy keeps the caller\'s flag order working (boolean flag right before the id)', async () => {
  const bundle = await makeBundle({ args: ['echo', 'ok'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  const r = await vk(['--root', tempRoot(), 'run', '--bundle', bundle, '--no-new-keyring', uid('order')]);
  expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, 'ok', '']);
});

/**
 * Every container forced through the engine: a config file with `defaults:` sends every create and
 * run into the engine (an empty mapping: the engine finds nothing requested and must behave as
 * runc; a policy: every container gets it, through create's appliers or run's hooks). Each
 * behaviour is compared with plain runc's on the same bundle, in the same way as for the launcher.
 */
const cfg = (name: string, text: string) => {
  const file = join(tmpdir(), `${uid(name)}.yaml`);
  writeFileSync(file, text);
  return file;
};
const MODES: [string, Record<string, string>][] = [
  ['launcher, no config', {}],
  ['engine: config defaults {}', { VKERNEL_RUNTIME_CONFIG: cfg('empty', 'defaults: {}\n') }],
  ['engine: config defaults with a policy', { VKERNEL_RUNTIME_CONFIG: cfg('policy', 'defaults:\n  sched.policy: cfs\n  strict: "false"\n') }],
];

describe.each(MODES)('runc behaviours hold (%s)', (mode, env) => {
  const withPolicy = mode.includes('policy');
  const norm = (s: Record<string, unknown>, id: string) => ({ ...s, id: s.id === id ? '<id>' : s.id, pid: typeof s.pid === 'number' && s.pid > 0 ? '<pid>' : s.pid, created: typeof s.created === 'string' ? '<time>' : s.created });

  test('run: output and exit code', async () => {
    const bundle = await makeBundle({ args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    const root = tempRoot();
    const id = uid('m');
    const ours = await vk(['--root', root, 'run', '--bundle', bundle, id], { env });
    const theirs = await runc(['--root', root, 'run', '--bundle', bundle, uid('t')]);
    expect([ours.exitCode, ours.stdout, ours.stderr]).toEqual([theirs.exitCode, theirs.stdout, theirs.stderr]);
    expect(leftovers(root, id)).toEqual([]);
  }, 30000);

  test('create/state/start/state/delete: exit codes, full state JSON, the container\'s output', async () => {
    const bundle = await makeBundle({ args: ['sh', '-c', 'sleep 0.5; echo done'] });
    const root = tempRoot();
    const seen: Record<string, unknown[]> = {};
    for (const [who, tool] of [['ours', (a: string[], o = {}) => vk(a, { env, ...o })], ['theirs', runc]] as const) {
      const id = uid(who);
      const out = join(tmpdir(), `${id}.out`);
      const fd = openSync(out, 'w');
      const steps: unknown[] = [];
      steps.push((await tool(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: fd, stderr: fd })).exitCode);
      steps.push(norm(JSON.parse((await tool(['--root', root, 'state', id])).stdout), id));
      if (who === 'ours') expect(hasState(root, id)).toBe(withPolicy);
      steps.push((await tool(['--root', root, 'start', id])).exitCode);
      await new Promise((r) => setTimeout(r, 900));
      steps.push(norm(JSON.parse((await tool(['--root', root, 'state', id])).stdout), id));
      steps.push((await tool(['--root', root, 'delete', id])).exitCode);
      const gone = await tool(['--root', root, 'state', id]);
      steps.push(gone.exitCode, String(gone.stderr).replace(/time="[^"]*" /g, '').replaceAll(id, '<id>'), readFileSync(out, 'utf8'));
      seen[who] = steps;
      expect(leftovers(root, id)).toEqual([]);
    }
    expect(seen.ours).toEqual(seen.theirs);
  }, 30000);

  test('run --preserve-fds 1 and socket activation (LISTEN_FDS)', async () => {
    const file = join(tmpdir(), `${uid('fd')}.txt`);
    writeFileSync(file, 'through-fd-3\n');
    const bundle = await makeBundle({ args: ['sh', '-c', 'echo "LISTEN_FDS=$LISTEN_FDS"; cat <&3'] });
    const root = tempRoot();
    const results: Record<string, unknown[]> = {};
    for (const [who, bin] of [['ours', RUNTIME], ['theirs', 'runc']] as const) {
      const preserved = await run(bin, ['--root', root, 'run', '--preserve-fds', '1', '--bundle', bundle, uid(who)],
        { stdio: ['ignore', 'pipe', 'pipe', openSync(file, 'r')], env: who === 'ours' ? env : {} });
      const activated = await run('/bin/sh', ['-c', 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', 'sh', bin, '--root', root, 'run', '--bundle', bundle, uid(who)],
        { stdio: ['ignore', 'pipe', 'pipe', openSync(file, 'r')], env: { ...(who === 'ours' ? env : {}), LISTEN_FDS: '1' } });
      results[who] = [preserved.exitCode, preserved.stdout, preserved.stderr, activated.exitCode, activated.stdout, activated.stderr];
    }
    expect(results.ours).toEqual(results.theirs);
    expect(results.ours).toEqual([0, 'LISTEN_FDS=\nthrough-fd-3', '', 0, 'LISTEN_FDS=1\nthrough-fd-3', '']);
  }, 30000);

  test('SIGTERM to run reaches the container; its exit status comes back', async () => {
    const bundle = await makeBundle({ args: ['sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.05; done'] });
    const root = tempRoot();
    const child = spawn(RUNTIME, ['--root', root, 'run', '--bundle', bundle, uid('m')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('exit', (c) => r(c)));
    expect([code, out]).toEqual([7, 'ready\ngot-term\n']);
  }, 20000);

  test('a terminal: run in a pty as runc does', async () => {
    const pty = await import('node-pty');
    const bundle = await makeBundle({ args: ['sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo is-a-tty; read line; echo "got:$line"; exit 5'], terminal: true });
    const root = tempRoot();
    const results: Record<string, unknown[]> = {};
    for (const [who, bin] of [['ours', RUNTIME], ['theirs', 'runc']] as const) {
      const p = pty.spawn(bin, ['--root', root, 'run', '--bundle', bundle, uid(who)], { cols: 80, rows: 24, env: { ...process.env, ...(who === 'ours' ? env : {}) } as Record<string, string> });
      let out = '';
      p.onData((d) => {
        out += d;
        if (out.includes('is-a-tty') && !out.includes('sent')) { out += 'sent'; p.write('hello\r'); }
      });
      const code = await new Promise<number>((r) => p.onExit((e) => r(e.exitCode)));
      results[who] = [code, out.replace(/sent/, '')];
    }
    expect(results.ours).toEqual(results.theirs);
    expect(results.ours[0]).toBe(5);
  }, 30000);

  test('a bundle without config.json, or with one that is not JSON: runc\'s own refusal', async () => {
    const { mkdtempSync } = await import('node:fs');
    const root = tempRoot();
    for (const text of [undefined, '{bad']) {
      const bundle = mkdtempSync(join(tmpdir(), 'vk-nospec-'));
      if (text) writeFileSync(join(bundle, 'config.json'), text);
      for (const cmd of ['create', 'run']) {
        const id = uid('nospec');
        const ours = await vk(['--root', root, cmd, '--bundle', bundle, id], { env });
        const theirs = await runc(['--root', root, cmd, '--bundle', bundle, id]);
        const clean = (t: string) => t.replace(/time="[^"]*" /g, '');
        expect([cmd, text, ours.exitCode, ours.stdout, clean(ours.stderr)]).toEqual([cmd, text, theirs.exitCode, theirs.stdout, clean(theirs.stderr)]);
        expect(leftovers(root, id)).toEqual([]);
      }
    }
  }, 30000);

  test('exec into a running container, then kill and delete', async () => {
    const bundle = await makeBundle({ args: ['sleep', '30'] });
    const root = tempRoot();
    const seen: Record<string, unknown[]> = {};
    for (const [who, tool] of [['ours', (a: string[], o = {}) => vk(a, { env, ...o })], ['theirs', runc]] as const) {
      const id = uid(who);
      const fd = openSync(join(tmpdir(), `${id}.out`), 'w');
      const steps: unknown[] = [(await tool(['--root', root, 'run', '-d', '--bundle', bundle, id], { stdin: 'ignore', stdout: fd, stderr: fd })).exitCode];
      const e = await tool(['--root', root, 'exec', id, 'sh', '-c', 'echo in-$((6*7)); exit 2']);
      steps.push(e.exitCode, e.stdout, norm(JSON.parse((await tool(['--root', root, 'state', id])).stdout), id));
      steps.push((await tool(['--root', root, 'kill', id, 'KILL'])).exitCode);
      for (let i = 0; i < 50 && JSON.parse((await tool(['--root', root, 'state', id])).stdout).status !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 50));
      steps.push((await tool(['--root', root, 'delete', id])).exitCode);
      seen[who] = steps;
      expect(leftovers(root, id)).toEqual([]);
    }
    expect(seen.ours).toEqual(seen.theirs);
    expect(seen.ours.slice(0, 3)).toEqual([0, 2, 'in-42']);
  }, 30000);
});
