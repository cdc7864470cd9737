import { chmodSync, closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { cgroupDirsOf, cgroupHierarchies, engineServers, flocked, holdRtLock, recorded, serverSockets, leftovers, threadCpuMs, until, makeBundle, readState, REPO, stateFile, requireRoot, run, runc, RUNTIME, SH_LAUNCHER, tempRoot, uid, vk, PERL_SUBREAPER } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';
import { procStat, startTime, statFields } from '../../src/store/proc.js';
import { runcStateHead } from '../../src/oci/runc-state.js';
import { PROTOCOL } from '../../src/serve/protocol.js';
import { lockPath } from '../../src/store/lock.js';

/**
 * The engine server (src/serve/server.ts) and its client (client/vkernel-client.c): a create with a
 * request, served by an engine started once, with runc run by the client as the caller's
 * descendant. Each test has a socket of its own (VKERNEL_ENGINE_SOCKET) and reads the client's
 * trace (VKERNEL_ENGINE_TRACE: "served" or "engine: <why>") to know which way a call went; a runc
 * wrapper (VKERNEL_RUNC) notes the command line of runc's parent and can hold runc create at a
 * gate, so that a test can kill the caller or the server while runc works.
 */
beforeAll(requireRoot);

const CLIENT = join(REPO, 'dist/vkernel-client');
const ENGINE = join(REPO, 'dist/vkernel-engine');

interface Setup { socket: string; trace: string; parents: string; gate: string; env: Record<string, string>; root: string }

/** a socket, trace, runc wrapper and root of the test's own */
function setup(name: string): Setup {
  const dir = join(tmpdir(), `${name}-${process.pid}`);
  execFileSync('mkdir', ['-p', dir]);
  const wrapper = join(dir, 'runc');
  // runc create: its parent's command line noted; with VK_GATE, held after writing its pid to
  // $VK_GATE.started until $VK_GATE.go exists; killed by $VK_DIE when set (the process the caller
  // runs as runc dies by it)
  writeFileSync(wrapper, [
    '#!/bin/sh',
    // with VK_LIMITS: each run's command and resource limits appended to that file
    '[ -n "${VK_LIMITS:-}" ] && { echo "runc $*"; cat /proc/$$/limits; } >>"$VK_LIMITS"',
    'for a do',
    // (VK_GATE_CMD: the subcommand noted and held, create when unset)
    '  [ "$a" = "${VK_GATE_CMD:-create}" ] || continue',
    '  tr "\\0" " " </proc/$PPID/cmdline >>"$VK_PARENTS"; echo >>"$VK_PARENTS"',
    // (held 20 s at most: a test that failed before opening the gate leaves no runc waiting)
    '  if [ -n "${VK_GATE:-}" ]; then echo $$ >"$VK_GATE.started"; i=0; while [ ! -e "$VK_GATE.go" ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done; fi',
    '  [ -n "${VK_DIE:-}" ] && kill -"$VK_DIE" $$',
    // with VK_LINGER: a child left running that long, holding the fds runc was given (as a
    // runtime whose children keep what they inherit would)
    '  [ -n "${VK_LINGER:-}" ] && { sleep "$VK_LINGER" & }',
    // with VK_KILL_INIT: runc create through kill-init.pl, which kills the container's init once
    // runc has created it
    '  [ -n "${VK_KILL_INIT:-}" ] && exec perl "$(dirname "$0")/kill-init.pl" "$@"',
    'done',
    'exec runc "$@"',
    '',
  ].join('\n'));
  chmodSync(wrapper, 0o755);
  // VK_KILL_INIT=reap: made a child subreaper (PERL_SUBREAPER) first, so that the init, orphaned when runc
  // ends, is ours to reap: its pid free (as a containerd shim, a subreaper, would reap it).
  // VK_KILL_INIT=zombie: killed only, a zombie until its new parent (a subreaper above) reaps it
  writeFileSync(join(dir, 'kill-init.pl'), [
    'my $mode = $ENV{VK_KILL_INIT};',
    `if ($mode eq "reap") { ${PERL_SUBREAPER} }`,
    'my $rc = system("runc", @ARGV) >> 8;',
    'exit $rc if $rc;',
    'open(my $f, "<", "$ARGV[1]/$ARGV[-1]/state.json") or die "state.json: $!";',
    'my ($pid) = do { local $/; <$f> } =~ /"init_process_pid":(\\d+)/ or die "no init pid";',
    'kill 9, $pid;',
    'waitpid($pid, 0) if $mode eq "reap";',
    // (a zombie already when runc is seen to end: SIGKILL takes effect when the init next runs)
    'for (1 .. 200) { last if $mode ne "zombie"; open(my $s, "<", "/proc/$pid/stat") or last; last if <$s> =~ /\\) Z /; select(undef, undef, undef, 0.01); }',
    'exit 0;',
    '',
  ].join('\n'));
  const s = { socket: join(dir, 'engine.sock'), trace: join(dir, 'trace'), parents: join(dir, 'parents'), gate: join(dir, 'gate') };
  return { ...s, root: tempRoot(), env: { VKERNEL_ENGINE_SOCKET: s.socket, VKERNEL_ENGINE_TRACE: s.trace, VKERNEL_RUNC: wrapper, VK_PARENTS: s.parents } };
}
const rawLines = (f: string): string[] => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
/** the trace's lines, a served call's without its times */
const lines = (f: string): string[] => rawLines(f).map((l) => l.replace(/^served: .*/, 'served'));
/** a served call's times in its trace line (ms) */
const TIMES = /^served: call ([0-9.]+) ms, before ([0-9.]+) ms, runc ([0-9.]+) ms \(([0-9]+)\), after ([0-9.]+) ms, in all ([0-9.]+) ms$/;
/** a served call's trace line when the client became runc (Y) */
const HANDED = /^served: call [0-9.]+ ms, before [0-9.]+ ms, runc as this process, in all [0-9.]+ ms$/;
const fifo = { 'io.vkernel.sched.policy': 'fifo' };
const cfs = { 'io.vkernel.sched.policy': 'cfs' };
const adaptive = { 'io.vkernel.sched.policy': 'adaptive' };
/** the pid of a stored helper */
const helperPid = (h: number | { pid: number }): number => (typeof h === 'number' ? h : h.pid);
/** /proc/PID/stat's state and parent, undefined when there is no such process (a reaped one) */
function procOf(pid: number): { state: string; ppid: number } | undefined {
  const stat = procStat(pid);
  if (stat === undefined) return undefined;
  const [state, ppid] = statFields(stat, 3, 4);
  return { state, ppid: Number(ppid) };
}
/** the children of `pid` that ended and are not reaped */
const zombiesOf = (pid: number): number[] => readdirSync('/proc').map(Number).filter((p) => p > 0 && procOf(p)?.ppid === pid && procOf(p)?.state === 'Z');
/**
 * create; its stdout and stderr in a file (a created container's init keeps runc's stdio open
 * until it runs: a pipe would not close) or, for a create that fails before runc, in pipes
 */
function create(s: Setup, bundle: string, id: string, env: Record<string, string> = {}, pipes = false, entry = RUNTIME, wrap: string[] = []) {
  made.push({ root: s.root, id });
  const file = join(s.root, `${id}.out`);
  const fd = pipes ? undefined : openSync(file, 'w');
  const o = { stdin: 'ignore' as const, env: { ...s.env, ...env }, ...(fd === undefined ? {} : { stdout: fd, stderr: fd }) };
  const args = ['--root', s.root, 'create', '--bundle', bundle, id];
  // (with `wrap`: run by that command, e.g. prlimit --nofile=256:1024)
  const p = wrap.length ? run(wrap[0], [...wrap.slice(1), entry, ...args], o) : run(entry, args, o);
  if (fd !== undefined) closeSync(fd);
  return p;
}
const output = (s: Setup, id: string): string => readFileSync(join(s.root, `${id}.out`), 'utf8');
const initPid = async (s: Setup, id: string): Promise<number> => JSON.parse((await runc(['--root', s.root, 'state', id])).stdout).pid;
const policyOf = (pid: number): string => execFileSync('chrt', ['-p', String(pid)], { encoding: 'utf8' });

/** one server on s (other than `not`), listening: its socket is made a moment after its process runs */
const oneListening = (s: Setup, not?: number): Promise<boolean> => until(() => {
  const pids = engineServers(s.socket);
  return pids.length === 1 && pids[0] !== not && existsSync(s.socket);
});

/** a server for s, started by one create the engine serves (then deleted) */
async function warm(s: Setup, bundle: string): Promise<number> {
  const id = uid('warm');
  expect((await create(s, bundle, id)).exitCode).toBe(0);
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(await oneListening(s)).toBe(true);
  return engineServers(s.socket)[0];
}

/** a test's own setup, a bundle of `args` with `annotations`, and its server warm (started by one served create) */
async function warmed(name: string, annotations: Record<string, string>, args = ['true']): Promise<{ s: Setup; bundle: string; server: number }> {
  const s = setup(name);
  const bundle = await makeBundle({ args, annotations });
  return { s, bundle, server: await warm(s, bundle) };
}

/** ids each test created, removed after it whatever happened (a fifo one left would hold the node's RT budget) */
const made: { root: string; id: string }[] = [];
afterEach(async () => {
  for (const { root, id } of made.splice(0)) await vk(['--root', root, 'delete', '--force', id]);
});

afterAll(() => {
  for (const d of readdirSync(tmpdir())) {
    const sock = join(tmpdir(), d, 'engine.sock');
    if (d.endsWith(`-${process.pid}`)) for (const pid of engineServers(sock)) process.kill(pid, 'SIGTERM');
  }
});

test('the build made the client beside the engine', () => {
  expect(existsSync(CLIENT)).toBe(true);
  expect(existsSync(ENGINE)).toBe(true);
});

needs(RT_GROUPS).test('the first create starts a server and is the engine\'s; the next is served and handed over (fifo applies once runc has created): runc the caller\'s own process, the policy applied, the same state; nothing left', async () => {
  const s = setup('srv-basic');
  const bundle = await makeBundle({ args: ['true'], annotations: fifo });
  const [a, b] = [uid('sa'), uid('sb')];
  const first = await create(s, bundle, a);
  expect([first.exitCode, output(s, a)]).toEqual([0, '']);
  expect(await oneListening(s)).toBe(true);
  // the server started by that call holds none of the caller's fds (containerd waits for its
  // stdio pipes to close): /dev/null on 0-2, and not the file that was the caller's stdout
  const [server] = engineServers(s.socket);
  const fds = readdirSync(`/proc/${server}/fd`).map((f) => { try { return readlinkSync(`/proc/${server}/fd/${f}`); } catch { return ''; } });
  expect([0, 1, 2].map((f) => readlinkSync(`/proc/${server}/fd/${f}`))).toEqual(['/dev/null', '/dev/null', '/dev/null']);
  expect(fds).not.toContain(join(s.root, `${a}.out`));
  // started with its allocator's setting (vkernel-client.c exec_server)
  expect(readFileSync(`/proc/${server}/environ`, 'utf8').split('\0')).toContain('MIMALLOC_PURGE_DELAY=-1');
  const secondCall = create(s, bundle, b);
  const second = await secondCall;
  expect([second.exitCode, output(s, b)]).toEqual([0, '']);
  expect(lines(s.trace)).toEqual(['engine: no server (one started)', 'served']);
  expect(rawLines(s.trace)[1]).toMatch(HANDED);
  // runc's parent: the engine for the first; for the second the caller itself (the client became runc)
  const parents = lines(s.parents);
  expect(parents[0]).toMatch(new RegExp(`^${ENGINE} --root `));
  expect(parents[1]).toMatch(/node|jest/);
  recorded(s.root, b);
  for (const id of [a, b]) expect(policyOf(await initPid(s, id))).toMatch(/SCHED_FIFO/);
  const [sa, sb] = [readState(s.root, a), readState(s.root, b)];
  // the owner our state records is the caller's process (the client: the launcher's pid), not
  // the server, which lives on (gc leaves a state alone while its owner lives)
  expect(sb.owner?.pid).toBe(secondCall.pid);
  expect(sb.owner?.pid).not.toBe(server);
  expect(sb.policy).toEqual(sa.policy);
  // the init each state records: runc's (its state.json), whose start time /proc still shows
  for (const [id, st] of [[a, sa], [b, sb]] as const) {
    const text = readFileSync(join(s.root, id, 'state.json'), 'utf8');
    const theirs = JSON.parse(text) as { init_process_pid: number; init_process_start: number };
    expect([st.pid, st.pidStart]).toEqual([theirs.init_process_pid, String(theirs.init_process_start)]);
    // runc's file has the head create reads without parsing the rest (oci/runc-state.ts)
    expect(runcStateHead(text, id)).toEqual({ init_process_pid: theirs.init_process_pid, init_process_start: String(theirs.init_process_start) });
    expect(startTime(st.pid as number)).toBe(st.pidStart);
  }
  expect(sb.applied.map((x) => x.name)).toEqual(sa.applied.map((x) => x.name));
  for (const id of [a, b]) {
    expect((await vk(['--root', s.root, 'start', id], { env: s.env })).exitCode).toBe(0);
    expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
    expect(leftovers(s.root, id)).toEqual([]);
  }
}, 60_000);

test('the server a create starts where systemd is not init leaves its caller\'s cgroups (each hierarchy\'s top): not charged, limited or frozen with that caller, which it does not keep from being removed', async () => {
  if (existsSync('/run/systemd/system')) throw new Error('systemd is init here: this test is for a host without it (test/integration/systemd-driver.test.ts has the scope)');
  const s = setup('srv-cgroups');
  const bundle = await makeBundle({ args: ['true'], annotations: cfs });
  // the caller in a group of its own in every hierarchy (as podman's conmon, in a scope per container)
  const tops = cgroupHierarchies().map((h) => h.mount).sort();
  expect(tops.length).toBeGreaterThan(0);
  const groups = tops.map((m) => join(m, `vk-first-caller-${process.pid}`));
  for (const g of groups) execFileSync('mkdir', ['-p', g]);
  try {
    const into = ['sh', '-c', 'while [ "$1" != -- ]; do echo $$ >"$1/cgroup.procs"; shift; done; shift; exec "$@"', 'sh', ...groups, '--'];
    const id = uid('scg');
    expect((await create(s, bundle, id, {}, false, RUNTIME, into)).exitCode).toBe(0);
    expect(await oneListening(s)).toBe(true);
    const [server] = engineServers(s.socket);
    // in each hierarchy: at its top (as this host's mount shows it), not in the caller's group
    expect(cgroupDirsOf(server).map((d) => d.replace(/\/$/, '')).sort()).toEqual(tops);
    // the caller's groups, empty once its call has ended and its container is gone (runc made the
    // container's group inside its caller's: the spec names none), can go (a server in them: EBUSY)
    expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
    for (const g of groups) execFileSync('rmdir', [g]);
    // and it serves
    const id2 = uid('scg');
    expect((await create(s, bundle, id2)).exitCode).toBe(0);
    expect(lines(s.trace)).toEqual(['engine: no server (one started)', 'served']);
  } finally {
    // (failed: the server may still be in them)
    if (groups.some((g) => existsSync(g))) {
      for (const pid of engineServers(s.socket)) process.kill(pid, 'SIGKILL');
      await until(() => engineServers(s.socket).length === 0);
      for (const g of groups) if (existsSync(g)) execFileSync('rmdir', [g]);
    }
  }
}, 60_000);

test('no request: the client execs runc itself (no engine, no server); a request spelt with a JSON \\u escape is one', async () => {
  const s = setup('srv-plain');
  const plain = await makeBundle({ args: ['true'] });
  const id = uid('splain');
  expect((await create(s, plain, id)).exitCode).toBe(0);
  // runc is the caller's process itself (exec'd: its parent is this test), nothing of ours ran
  expect(lines(s.parents)).toEqual([expect.stringMatching(/node|jest/)]);
  expect(lines(s.trace)).toEqual([]);
  expect(engineServers(s.socket)).toEqual([]);
  expect(leftovers(s.root, id).filter((l) => !l.startsWith('runc dir') && !l.startsWith('cgroup'))).toEqual([]);
  // io\u002evkernel...: the engine parses JSON properly; the client only has to notice the escape
  const escaped = await makeBundle({ args: ['true'] });
  const cfg = join(escaped, 'config.json');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/^\{/, '{"annotations": {"io\\u002evkernel.sched.policy": "cfs"},'));
  const id2 = uid('sesc');
  expect((await create(s, escaped, id2)).exitCode).toBe(0);
  expect(lines(s.trace)).toEqual(['engine: no server (one started)']);
  expect(readState(s.root, id2).policy['sched.policy']).toBe('cfs');
}, 60_000);

test('bad input: the engine\'s error and status, from the server; nothing is created', async () => {
  const { s } = await warmed('srv-bad', cfs);
  const bad = await makeBundle({ args: ['true'], annotations: { 'io.vkernel.sched.policy': 'fifoo' } });
  const id = uid('sbad');
  const served = await create(s, bad, id, {}, true);
  const engine = await create(s, bad, id, { VKERNEL_ENGINE_SOCKET: 'off' }, true);
  expect(lines(s.trace).slice(-2)).toEqual(['served', 'engine: VKERNEL_ENGINE_SOCKET=off']);
  const noTime = (t: string) => t.replace(/time="[^"]*"/g, 'time=T');
  expect(served.exitCode).toBe(1);
  expect(served.stderr).toMatch(/fifoo/);
  expect([served.exitCode, noTime(served.stderr)]).toEqual([engine.exitCode, noTime(engine.stderr)]);
  expect(leftovers(s.root, id)).toEqual([]);
  expect(lines(s.parents)).toHaveLength(1); // the warm-up's: runc never ran for the bad one
}, 60_000);

test('a start or delete runc refuses (a marker left for a container runc does not know; a running container deleted without --force): runc\'s error and status, as the engine\'s; nothing changed', async () => {
  const { s, bundle } = await warmed('srv-refused', adaptive, ['sleep', '30']);
  const noTime = (t: string) => t.replace(/time="[^"]*"/g, 'time=T');
  const both = async (args: string[]) => {
    const served = await vk(['--root', s.root, ...args], { env: s.env });
    const engine = await vk(['--root', s.root, ...args], { env: { ...s.env, VKERNEL_ENGINE_SOCKET: 'off' } });
    expect(lines(s.trace).slice(-2)).toEqual(['served', 'engine: VKERNEL_ENGINE_SOCKET=off']);
    expect(served.exitCode).not.toBe(0);
    expect([served.exitCode, noTime(served.stdout), noTime(served.stderr)]).toEqual([engine.exitCode, noTime(engine.stdout), noTime(engine.stderr)]);
    return served;
  };
  const ghost = uid('sghost');
  writeFileSync(join(s.root, `vkernel@${ghost}.start`), '');
  expect((await both(['start', ghost])).stderr).toMatch(/does not exist/);
  rmSync(join(s.root, `vkernel@${ghost}.start`));
  expect(leftovers(s.root, ghost)).toEqual([]);
  const id = uid('srun');
  made.push({ root: s.root, id });
  expect((await create(s, bundle, id)).exitCode).toBe(0);
  expect((await vk(['--root', s.root, 'start', id], { env: s.env })).exitCode).toBe(0);
  const before = readState(s.root, id);
  expect((await both(['delete', id])).stderr).toMatch(/running/);
  // still running, with its controller and our state as they were
  expect((await runc(['--root', s.root, 'state', id])).stdout).toMatch(/"status": "running"/);
  expect(readState(s.root, id)).toEqual(before);
  expect(procOf(helperPid(before.helpers.adaptive))?.state).not.toBe('Z');
}, 60_000);

/**
 * a create of `annotations` made by `call`, served and then through the engine executable (the same
 * server warm for both): cfs is handed over (the client becomes runc), adaptive is run by the client
 */
async function servedAndEngine(name: string, call: (s: Setup, bundle: string, id: string, socket: string) => Promise<void>, annotations = cfs): Promise<void> {
  const { s, bundle } = await warmed(name, annotations);
  for (const socket of [s.socket, 'off']) await call(s, bundle, uid(name), socket);
  expect(lines(s.trace).slice(-2)).toEqual(['served', 'engine: VKERNEL_ENGINE_SOCKET=off']);
  expect(rawLines(s.trace).at(-2)).toMatch(annotations === cfs ? HANDED : TIMES);
}

/**
 * the two ways a served create runs runc: the client becomes runc (cfs, nothing to apply; fifo,
 * applied once runc has created), or runs it as its child (adaptive: its group set up before runc returns)
 */
const RUNC_WAYS = [['handed over: cfs', cfs], ['run by the client: adaptive', adaptive]] as const;
const testOf = (annotations: Record<string, string>) => (annotations === cfs ? test : needs(RT_GROUPS).test);

for (const [way, annotations] of RUNC_WAYS) {
  testOf(annotations)(`runc dies by a signal (${way}): the caller dies by it, as with the engine; nothing left`, async () => {
    await servedAndEngine('srv-sig', async (s, bundle, id, socket) => {
      const r = await create(s, bundle, id, { VK_DIE: 'TERM', VKERNEL_ENGINE_SOCKET: socket });
      expect([r.exitCode, r.signal]).toEqual([undefined, 'SIGTERM']);
      // (a create handed over releases its lock once it has seen runc end, a moment after its caller)
      expect(await until(() => leftovers(s.root, id).length === 0, 5000)).toBe(true);
    }, annotations);
  }, 60_000);

  testOf(annotations)(`a signal the caller gets while runc runs is runc's (${way}): it dies by it, and so does the caller, as with the engine; nothing left`, async () => {
    await servedAndEngine('srv-fwd', async (s, bundle, id, socket) => {
      rmSync(`${s.gate}.started`, { force: true });
      const p = create(s, bundle, id, { VK_GATE: s.gate, VKERNEL_ENGINE_SOCKET: socket });
      // (runc, the wrapper, waits at the gate: the signal finds it running, not yet runc)
      expect(await until(() => existsSync(`${s.gate}.started`))).toBe(true);
      const wrapper = Number(readFileSync(`${s.gate}.started`, 'utf8'));
      process.kill(p.pid as number, 'SIGTERM');
      const r = await p;
      expect([r.exitCode, r.signal]).toEqual([undefined, 'SIGTERM']);
      // runc got it: gone now, not 20 s later at the gate's end
      expect(await until(() => !existsSync(`/proc/${wrapper}/cmdline`), 3000)).toBe(true);
      expect(await until(() => leftovers(s.root, id).length === 0, 5000)).toBe(true);
    }, annotations);
  }, 60_000);
}

test('runc cannot be run: the served call fails as the engine\'s does, naming it; nothing is created', async () => {
  const { s, bundle } = await warmed('srv-noexec', cfs);
  chmodSync(s.env.VKERNEL_RUNC, 0o644);
  const served = await create(s, bundle, uid('snx'), {}, true);
  const engine = await create(s, bundle, uid('snx'), { VKERNEL_ENGINE_SOCKET: 'off' }, true);
  expect(lines(s.trace).slice(-2)).toEqual(['served', 'engine: VKERNEL_ENGINE_SOCKET=off']);
  expect([served.exitCode, engine.exitCode]).toEqual([1, 1]);
  for (const r of [served, engine]) expect(r.stderr).toContain(`cannot run ${s.env.VKERNEL_RUNC}`);
  for (const { id } of made) expect(leftovers(s.root, id)).toEqual([]);
}, 60_000);

needs(RT_GROUPS).test('the caller SIGKILLed while runc creates (run by the client: adaptive): what a killed engine leaves (the lock file: start refused); delete --force and gc clean; the server serves on', async () => {
  const { s, bundle, server } = await warmed('srv-kill-caller', adaptive);
  const id = uid('skc');
  const p = create(s, bundle, id, { VK_GATE: s.gate });
  expect(await until(() => existsSync(`${s.gate}.started`))).toBe(true);
  process.kill(p.pid as number, 'SIGKILL');
  expect((await p).signal).toBe('SIGKILL');
  writeFileSync(`${s.gate}.go`, '');
  // runc, orphaned, goes on and creates the container
  expect(await until(async () => (await runc(['--root', s.root, 'state', id])).exitCode === 0)).toBe(true);
  expect(await until(() => existsSync(join(s.root, `vkernel@${id}.lock`)))).toBe(true);
  const start = await vk(['--root', s.root, 'start', id], { env: s.env });
  expect(start.exitCode).not.toBe(0);
  expect(start.stderr).toMatch(/did not finish/);
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, id)).toEqual([]);
  expect((await vk(['gc', '--root', s.root], { env: s.env })).exitCode).toBe(0);
  // the same server takes the next call
  const next = uid('skn');
  expect((await create(s, bundle, next)).exitCode).toBe(0);
  expect(lines(s.trace).at(-1)).toBe('served');
  expect(engineServers(s.socket)).toEqual([server]);
  expect((await vk(['--root', s.root, 'delete', '--force', next], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, next)).toEqual([]);
}, 60_000);

/** a create of `id` whose runc is held at the gate while the server is SIGKILLed, then let go: how it ended */
async function serverKilledAtGate(s: Setup, bundle: string, id: string, server: number): Promise<Awaited<ReturnType<typeof create>>> {
  const p = create(s, bundle, id, { VK_GATE: s.gate });
  expect(await until(() => existsSync(`${s.gate}.started`))).toBe(true);
  process.kill(server, 'SIGKILL');
  expect(await until(() => engineServers(s.socket).length === 0)).toBe(true);
  writeFileSync(`${s.gate}.go`, '');
  return p;
}

needs(RT_GROUPS).test('the server SIGKILLed while runc creates (run by the client: adaptive): the caller fails saying so; delete --force cleans; the next call starts a new server', async () => {
  const { s, bundle: theirs, server } = await warmed('srv-kill-server', adaptive);
  const bundle = await makeBundle({ args: ['true'], annotations: fifo });
  const id = uid('sks');
  const r = await serverKilledAtGate(s, theirs, id, server);
  expect(r.exitCode).toBe(1);
  expect(output(s, id)).toMatch(/engine server went away/);
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, id)).toEqual([]);
  // the socket file is left, nobody listens: the next call is the engine's and starts a server
  const [c, d] = [uid('skc'), uid('skd')];
  expect((await create(s, bundle, c)).exitCode).toBe(0);
  expect(lines(s.trace).at(-1)).toBe('engine: no server (one started)');
  expect(await oneListening(s, server)).toBe(true);
  expect((await create(s, bundle, d)).exitCode).toBe(0);
  expect(lines(s.trace).at(-1)).toBe('served');
  for (const x of [c, d]) {
    recorded(s.root, x);
    expect(policyOf(await initPid(s, x))).toMatch(/SCHED_FIFO/);
    expect((await vk(['--root', s.root, 'delete', '--force', x], { env: s.env })).exitCode).toBe(0);
    expect(leftovers(s.root, x)).toEqual([]);
  }
}, 60_000);

const lockOf = (s: Setup, id: string) => lockPath(s.root, id);
/** the fds of a process, as /proc names them */
const fdsOf = (pid: number): string[] => readdirSync(`/proc/${pid}/fd`).map((f) => { try { return readlinkSync(`/proc/${pid}/fd/${f}`); } catch { return ''; } });

needs(RT_GROUPS).test('a create with nothing to apply (cfs: the rt backend sets nothing) is handed over: runc is the caller\'s own process (the client execs it), the container recorded once runc has ended as the engine records it, its init without the server\'s connection; start and delete as before; nothing left', async () => {
  const { s, bundle, server } = await warmed('srv-handover', cfs, ['sleep', '30']);
  const [id, theirs] = [uid('sho'), uid('shoe')];
  const call = create(s, bundle, id);
  const r = await call;
  expect([r.exitCode, output(s, id)]).toEqual([0, '']);
  expect(rawLines(s.trace).at(-1)).toMatch(HANDED);
  // runc's parent is the caller itself: the client became runc
  expect(lines(s.parents).at(-1)).toMatch(/node|jest/);
  expect(await until(() => !existsSync(lockOf(s, id)), 5000)).toBe(true);
  // recorded as the engine records the same create
  expect((await create(s, bundle, theirs, { VKERNEL_ENGINE_SOCKET: 'off' })).exitCode).toBe(0);
  const [mine, engine] = [readState(s.root, id), readState(s.root, theirs)];
  expect(stateFile(s.root, id)).toBe(join(s.root, id, 'vkernel.json'));
  const pid = await initPid(s, id);
  expect([mine.pid, mine.pidStart, mine.creating]).toEqual([pid, startTime(pid), undefined]);
  expect(mine.owner?.pid).toBe(call.pid);
  const same = (x: typeof mine) => ({ ...x, id: '', pid: 0, pidStart: '', created: '', owner: undefined, cgroupPath: x.cgroupPath?.replace(x.id, '') });
  expect(same(mine)).toEqual(same(engine));
  expect(policyOf(pid)).toMatch(/SCHED_OTHER/);
  // the container's init does not hold the server's connection (runc's inherited fds close on its exec)
  expect(fdsOf(pid).filter((f) => f.startsWith('socket:'))).toEqual([]);
  expect(engineServers(s.socket)).toEqual([server]);
  for (const x of [id, theirs]) {
    expect((await vk(['--root', s.root, 'start', x], { env: s.env })).exitCode).toBe(0);
    expect((await vk(['--root', s.root, 'delete', '--force', x], { env: s.env })).exitCode).toBe(0);
    expect(leftovers(s.root, x)).toEqual([]);
  }
}, 60_000);

/** rt_priority (the 40th field) and policy (the 41st; 1: SCHED_FIFO) of a /proc/PID/stat line (fields after the command's ')' are the 3rd on) */
function policyAtStart(stat: string): { rtPriority: string; policy: string } {
  const f = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
  return { rtPriority: f[40 - 3], policy: f[41 - 3] };
}

needs(RT_GROUPS).test('a fifo create is handed over, its budget and policy applied once runc has created: a start at once after each runs the container\'s process at SCHED_FIFO from its first instruction, in a group with its budget; delete leaves nothing', async () => {
  // the container's process prints its own /proc/self/stat as its first act: policy and priority as it started
  const { s, bundle } = await warmed('srv-ho-fifo', fifo, ['cat', '/proc/self/stat']);
  const warmLines = lines(s.trace).length;
  for (let i = 0; i < 6; i++) {
    const id = uid('shff');
    const r = await create(s, bundle, id);
    expect(r.exitCode).toBe(0);
    expect(rawLines(s.trace).at(-1)).toMatch(HANDED);
    expect(lines(s.parents).at(-1)).toMatch(/node|jest/);
    const started = await vk(['--root', s.root, 'start', id], { env: s.env });
    expect([started.exitCode, started.stderr]).toEqual([0, '']);
    expect(await until(() => output(s, id).endsWith('\n'), 5000)).toBe(true);
    expect(policyAtStart(output(s, id))).toEqual({ rtPriority: '1', policy: '1' });
    const st = readState(s.root, id);
    expect([st.creating, st.failed, st.applied.map((a) => a.name)]).toEqual([undefined, undefined, ['sched-policy']]);
    expect(Number(readFileSync(join('/sys/fs/cgroup/cpu', st.cgroupPath as string, 'cpu.rt_runtime_us'), 'utf8'))).toBeGreaterThan(0);
    expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
    expect(leftovers(s.root, id)).toEqual([]);
  }
  expect(lines(s.trace).slice(warmLines).filter((l) => l !== 'served')).toEqual([]);
  // the apply held up (the node's RT lock taken by another process for 1.5 s): create returns with
  // runc, the container's lock still held; the start made at once is the server's, which waits for
  // that create, and the container's process still starts at SCHED_FIFO
  const id = uid('shfw');
  const holder = await holdRtLock('/run/vkernel-runtime/locks', 1500);
  expect((await create(s, bundle, id)).exitCode).toBe(0);
  expect(flocked(lockOf(s, id))).toBe(true);
  const before = lines(s.trace).length;
  const started = await vk(['--root', s.root, 'start', id], { env: s.env });
  expect([started.exitCode, started.stderr]).toEqual([0, '']);
  expect((await holder.ended).exitCode).toBe(0);
  expect(lines(s.trace).slice(before)).toEqual(['served']);
  expect(await until(() => output(s, id).endsWith('\n'), 5000)).toBe(true);
  expect(policyAtStart(output(s, id))).toEqual({ rtPriority: '1', policy: '1' });
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, id)).toEqual([]);
}, 60_000);

needs(RT_GROUPS).test('start or delete at once after a handed-over create: each finds the container recorded or waits for it; never refused; nothing left', async () => {
  const { s, bundle } = await warmed('srv-ho-race', cfs);
  const warmLines = lines(s.trace).length;
  for (let i = 0; i < 8; i++) {
    const id = uid('shr');
    expect((await create(s, bundle, id)).exitCode).toBe(0);
    if (i % 2 === 0) {
      const started = await vk(['--root', s.root, 'start', id], { env: s.env });
      expect([started.exitCode, started.stderr]).toEqual([0, '']);
      expect(readState(s.root, id).policy['sched.policy']).toBe('cfs');
    }
    const deleted = await vk(['--root', s.root, 'delete', '--force', id], { env: s.env });
    expect([deleted.exitCode, deleted.stderr]).toEqual([0, '']);
    expect(await until(() => leftovers(s.root, id).length === 0, 5000)).toBe(true);
  }
  expect(lines(s.trace).slice(warmLines).filter((l) => l !== 'served')).toEqual([]);
}, 60_000);

test('a handed-over create runc refuses (its program not in the rootfs): runc\'s status and words are the caller\'s, as with the engine; nothing recorded, nothing left; the server serves on', async () => {
  const { s, server } = await warmed('srv-ho-fail', cfs);
  const bad = await makeBundle({ args: ['/no-such-program'], annotations: cfs });
  const [id, theirs] = [uid('shf'), uid('shfe')];
  const served = await create(s, bad, id);
  expect(rawLines(s.trace).at(-1)).toMatch(HANDED);
  const engine = await create(s, bad, theirs, { VKERNEL_ENGINE_SOCKET: 'off' });
  expect([served.exitCode, engine.exitCode]).toEqual([1, 1]);
  const said = (x: string) => output(s, x).replace(/time="[^"]*"/g, 'time=T');
  expect(said(id)).toMatch(/no-such-program/);
  expect(said(id)).toBe(said(theirs));
  for (const x of [id, theirs]) expect(await until(() => leftovers(s.root, x).length === 0, 5000)).toBe(true);
  const next = uid('shn');
  expect((await create(s, await makeBundle({ args: ['true'], annotations: cfs }), next)).exitCode).toBe(0);
  expect(rawLines(s.trace).at(-1)).toMatch(HANDED);
  expect(engineServers(s.socket)).toEqual([server]);
}, 60_000);

needs(RT_GROUPS).test('a create of an id runc already has is not handed over: runc refuses it as it would, and the container of that id keeps its record', async () => {
  const { s, bundle } = await warmed('srv-ho-dup', cfs);
  const id = uid('shd');
  expect((await create(s, bundle, id)).exitCode).toBe(0);
  const before = readState(s.root, id);
  const t0 = performance.now();
  const again = await create(s, bundle, id);
  const wall = performance.now() - t0;
  expect(again.exitCode).toBe(1);
  expect(output(s, id)).toMatch(/exist/);
  // runc run by the client as its child (R), whose status the server took; the call's parts'
  // times: one runc run, each part within the call, together at most the whole
  const t = rawLines(s.trace).at(-1)?.match(TIMES)?.slice(1).map(Number);
  expect(t).toBeDefined();
  const [call, ahead, runcMs, runs, after, all] = t as number[];
  expect(runs).toBe(1);
  expect(runcMs).toBeGreaterThan(0);
  expect(call + ahead + runcMs + after).toBeLessThanOrEqual(all + 0.05);
  expect(all).toBeLessThan(wall);
  expect(readState(s.root, id)).toEqual(before);
  expect(existsSync(lockOf(s, id))).toBe(false);
}, 60_000);

needs(RT_GROUPS).test('the server SIGKILLed while a handed-over runc creates: runc\'s status is the caller\'s; the container unrecorded, its lock file left (start refused, as after a killed create); delete --force and gc clean', async () => {
  const { s, bundle, server } = await warmed('srv-ho-kill', cfs);
  const id = uid('shk');
  expect((await serverKilledAtGate(s, bundle, id, server)).exitCode).toBe(0);
  expect(existsSync(lockOf(s, id))).toBe(true);
  expect(stateFile(s.root, id)).toBeUndefined();
  const start = await vk(['--root', s.root, 'start', id], { env: s.env });
  expect(start.exitCode).toBe(1);
  expect(start.stderr).toMatch(/did not finish/);
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, id)).toEqual([]);
  expect((await vk(['gc', '--root', s.root], { env: s.env })).exitCode).toBe(0);
}, 60_000);

test('a handed-over runc killed before it creates: the caller dies by it; nothing recorded, the lock released, nothing left; the server serves on', async () => {
  const { s, bundle, server } = await warmed('srv-ho-die', cfs);
  const id = uid('shx');
  const r = await create(s, bundle, id, { VK_DIE: 'KILL' });
  expect(r.signal).toBe('SIGKILL');
  expect(await until(() => leftovers(s.root, id).length === 0, 5000)).toBe(true);
  expect(engineServers(s.socket)).toEqual([server]);
}, 60_000);

test('a handed-over create runc fails after it recorded the container (its --pid-file unwritable: runc removes it): runc\'s status and message alone; nothing recorded, nothing left', async () => {
  const { s, bundle } = await warmed('srv-ho-late', cfs);
  const id = uid('shp');
  made.push({ root: s.root, id });
  const file = join(s.root, `${id}.out`);
  const fd = openSync(file, 'w');
  const p = run(RUNTIME, ['--root', s.root, 'create', '--bundle', bundle, '--pid-file', join(s.root, 'no-such-dir', 'pid'), id], { stdin: 'ignore', stdout: fd, stderr: fd, env: s.env });
  closeSync(fd);
  expect((await p).exitCode).toBe(1);
  expect(readFileSync(file, 'utf8')).toMatch(/runc create failed: open .*no-such-dir.*no such file or directory/);
  expect(rawLines(s.trace).at(-1)).toMatch(HANDED);
  expect(await until(() => leftovers(s.root, id).length === 0, 5000)).toBe(true);
  expect((await runc(['--root', s.root, 'list', '-q'])).stdout).toBe('');
}, 60_000);

test('a handed-over create whose init is dead before the server records it (killed once runc made it): runc\'s status (0) is the caller\'s, nothing recorded, the lock released; delete --force cleans', async () => {
  const { s, bundle } = await warmed('srv-ho-dead', cfs);
  const id = uid('shz');
  const r = await create(s, bundle, id, { VK_KILL_INIT: 'reap' });
  expect(r.exitCode).toBe(0);
  expect(rawLines(s.trace).at(-1)).toMatch(HANDED);
  expect(await until(() => !existsSync(lockOf(s, id)), 5000)).toBe(true);
  expect(stateFile(s.root, id)).toBeUndefined();
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, id)).toEqual([]);
}, 60_000);

needs(RT_GROUPS).test('a runc whose child keeps the connection it inherited (3 s): the server sees runc end by its pid and records the container within its poll; start at once succeeds', async () => {
  const { s, bundle } = await warmed('srv-ho-linger', cfs);
  const id = uid('shl');
  expect((await create(s, bundle, id, { VK_LINGER: '3' })).exitCode).toBe(0);
  const t0 = Date.now();
  expect(await until(() => !existsSync(lockOf(s, id)), 2500, 5)).toBe(true);
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(readState(s.root, id).policy['sched.policy']).toBe('cfs');
  expect((await vk(['--root', s.root, 'start', id], { env: s.env })).exitCode).toBe(0);
}, 60_000);

needs(RT_GROUPS).test('a server that does not answer (stopped): the call is the engine\'s after VKERNEL_ENGINE_WAIT_MS, its policy applied; continued, the server leaves the call whose client is gone and serves the next; nothing left', async () => {
  const { s, bundle, server } = await warmed('srv-stopped', fifo);
  const env = { VKERNEL_ENGINE_WAIT_MS: '500' };
  const [a, b] = [uid('sta'), uid('stb')];
  process.kill(server, 'SIGSTOP');
  const t0 = Date.now();
  const r = await create(s, bundle, a, env).finally(() => process.kill(server, 'SIGCONT'));
  expect([r.exitCode, output(s, a)]).toEqual([0, '']);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
  expect(lines(s.trace).at(-1)).toBe('engine: the server did not take the call within 500 ms');
  expect(policyOf(await initPid(s, a))).toMatch(/SCHED_FIFO/);
  // the server reads the call it was sent while stopped, from a caller that is gone: nothing of it taken
  expect((await create(s, bundle, b, env)).exitCode).toBe(0);
  expect(lines(s.trace).at(-1)).toBe('served');
  expect(engineServers(s.socket)).toEqual([server]);
  for (const x of [a, b]) {
    expect(existsSync(join(s.root, `vkernel@${x}.lock`))).toBe(false);
    expect(policyOf(await initPid(s, x))).toMatch(/SCHED_FIFO/);
    expect((await vk(['--root', s.root, 'delete', '--force', x], { env: s.env })).exitCode).toBe(0);
    expect(leftovers(s.root, x)).toEqual([]);
  }
}, 60_000);

test('a server that resumes while the engine its client fell back to still runs: it takes that call, waits for the engine\'s lock, finds the client gone before any runc ran, and leaves no lock file behind', async () => {
  const { s, bundle, server } = await warmed('srv-late', cfs);
  const id = uid('slt');
  made.push({ root: s.root, id });
  const log = join(s.root, `${id}.log`);
  const lock = join(s.root, `vkernel@${id}.lock`);
  process.kill(server, 'SIGSTOP');
  let p: ReturnType<typeof run>;
  try {
    // the client gives up on the stopped server and execs the engine (same pid), which holds the
    // container's lock while runc (the wrapper) waits at the gate
    const out = openSync(join(s.root, `${id}.out`), 'w');
    p = run(RUNTIME, ['--root', s.root, '--log', log, 'create', '--bundle', bundle, id],
      { stdin: 'ignore', stdout: out, stderr: out, env: { ...s.env, VKERNEL_ENGINE_WAIT_MS: '300', VK_GATE: s.gate } });
    closeSync(out);
    expect(await until(() => existsSync(`${s.gate}.started`), 10_000)).toBe(true);
  } finally {
    process.kill(server, 'SIGCONT');
  }
  // the server reads the call it was sent while stopped; its caller (now the engine) lives
  await new Promise((r) => setTimeout(r, 500));
  writeFileSync(`${s.gate}.go`, '');
  const r = await p;
  expect([r.exitCode, output(s, id)]).toEqual([0, '']);
  expect(lines(s.trace).at(-1)).toBe('engine: the server did not take the call within 300 ms');
  // the server took it (its words in the call's log), and ended it without leaving the lock file
  expect(await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('the client went away before it ran runc'), 10_000)).toBe(true);
  expect(await until(() => !existsSync(lock), 5_000)).toBe(true);
  // the engine's create stands: start passes to runc, delete leaves nothing
  expect((await vk(['--root', s.root, 'start', id], { env: s.env })).exitCode).toBe(0);
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, id)).toEqual([]);
  expect(engineServers(s.socket)).toEqual([server]);
}, 60_000);

needs(RT_GROUPS).test('SIGTERM while a call is served: the socket goes at once, the call ends as it would have (its policy applied), then the server', async () => {
  const { s, bundle, server } = await warmed('srv-term', fifo);
  const id = uid('stm');
  made.push({ root: s.root, id });
  const p = create(s, bundle, id, { VK_GATE: s.gate });
  expect(await until(() => existsSync(`${s.gate}.started`))).toBe(true);
  process.kill(server, 'SIGTERM');
  // no new call reaches it; it stays for the one it serves
  expect(await until(() => !existsSync(s.socket))).toBe(true);
  expect(engineServers(s.socket)).toEqual([server]);
  writeFileSync(`${s.gate}.go`, '');
  const r = await p;
  expect([r.exitCode, output(s, id)]).toEqual([0, '']);
  expect(lines(s.trace).at(-1)).toBe('served');
  expect(policyOf(await initPid(s, id))).toMatch(/SCHED_FIFO/);
  expect(await until(() => engineServers(s.socket).length === 0)).toBe(true);
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, id)).toEqual([]);
}, 60_000);

test('a server idle for VKERNEL_ENGINE_IDLE_MS ends by itself, its socket with it; the next create starts another', async () => {
  const s = setup('srv-idle');
  s.env.VKERNEL_ENGINE_IDLE_MS = '400';
  const bundle = await makeBundle({ args: ['true'], annotations: cfs });
  const server = await warm(s, bundle);
  expect(await until(() => engineServers(s.socket).length === 0, 10_000)).toBe(true);
  expect(existsSync(s.socket)).toBe(false);
  const id = uid('sid');
  made.push({ root: s.root, id });
  expect((await create(s, bundle, id)).exitCode).toBe(0);
  expect(lines(s.trace).at(-1)).toBe('engine: no server (one started)');
  expect(await until(() => engineServers(s.socket).length === 1 && engineServers(s.socket)[0] !== server)).toBe(true);
}, 60_000);

needs(RT_GROUPS).test('a helper a served create starts (the adaptive controller) holds none of the server\'s sockets: the server killed, its socket file left, the next create is refused a connection and starts another server', async () => {
  const { s, bundle, server } = await warmed('srv-helper', { 'io.vkernel.sched.policy': 'adaptive' }, ['sleep', '30']);
  const id = uid('shl');
  made.push({ root: s.root, id });
  expect((await create(s, bundle, id)).exitCode).toBe(0);
  expect(lines(s.trace).at(-1)).toBe('served');
  // (the controller starts with the container)
  expect((await vk(['--root', s.root, 'start', id], { env: s.env })).exitCode).toBe(0);
  expect(await until(() => readState(s.root, id).helpers.adaptive !== undefined)).toBe(true);
  const helper = readState(s.root, id).helpers.adaptive;
  const ctl = typeof helper === 'number' ? helper : helper.pid;
  const sockets = (pid: number) => new Set(readdirSync(`/proc/${pid}/fd`).flatMap((f) => {
    try { return [readlinkSync(`/proc/${pid}/fd/${f}`)].filter((l) => l.startsWith('socket:')); } catch { return []; }
  }));
  const theirs = sockets(server);
  expect(theirs.size).toBeGreaterThan(0); // (its listening socket at least)
  expect([...sockets(ctl)].filter((x) => theirs.has(x))).toEqual([]);
  process.kill(server, 'SIGKILL');
  expect(await until(() => engineServers(s.socket).length === 0)).toBe(true);
  expect(existsSync(s.socket)).toBe(true);
  const next = uid('shn');
  made.push({ root: s.root, id: next });
  // (cfs: the adaptive container holds the node's RT budget)
  expect([(await create(s, await makeBundle({ args: ['true'], annotations: cfs }), next)).exitCode, output(s, next)]).toEqual([0, '']);
  expect(lines(s.trace).at(-1)).toBe('engine: no server (one started)');
}, 60_000);

needs(RT_GROUPS).test('an OCI hook as hooks.d runs it (oci-hook createRuntime, poststop; the OCI state on stdin) is served, with the engine\'s outcome; a hook the server leaves to the engine still has its stdin', async () => {
  const s = setup('srv-hook');
  const hookRoot = tempRoot();
  const runcRoot = tempRoot();
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: fifo });
  const ids: string[] = [];
  /** a container runc made (podman's or CRI-O's runtime), and our hook at `stage` for it, as runc runs it */
  const hook = async (id: string, stage: string, env: Record<string, string> = {}) => {
    const pid = JSON.parse((await runc(['--root', runcRoot, 'state', id])).stdout).pid as number;
    const state = JSON.stringify({ ociVersion: '1.0.2', id, status: stage === 'poststop' ? 'stopped' : 'created', pid, bundle });
    return run(RUNTIME, ['--root', hookRoot, 'oci-hook', stage], { input: state, env: { ...s.env, ...env } });
  };
  const created = async (): Promise<string> => {
    const id = uid('shook');
    ids.push(id);
    expect((await run('runc', ['--root', runcRoot, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })).exitCode).toBe(0);
    return id;
  };
  try {
    /** the init runc made FIFO; our state's policy, backend and appliers */
    const applied = async (id: string) => {
      expect(policyOf(JSON.parse((await runc(['--root', runcRoot, 'state', id])).stdout).pid)).toMatch(/SCHED_FIFO/);
      const st = readState(hookRoot, id);
      return [st.policy, st.backend, st.applied.map((x) => x.name)];
    };
    /** poststop, served: our state (and the RT budget: the node's admits two fifo containers) gone */
    const stopped = async (id: string) => {
      expect((await runc(['--root', runcRoot, 'kill', id, 'KILL'])).exitCode).toBe(0);
      const p = await hook(id, 'poststop');
      expect([p.exitCode, p.stderr, lines(s.trace).at(-1)]).toEqual([0, '', 'served']);
      expect(stateFile(hookRoot, id)).toBeUndefined();
    };
    // the first: the engine's (it starts the server); the next: served, with the same outcome
    const [a, b, c] = [await created(), await created(), await created()];
    const ha = await hook(a, 'createRuntime');
    expect([ha.exitCode, ha.stderr, lines(s.trace).at(-1)]).toEqual([0, '', 'engine: no server (one started)']);
    // (its process, then its socket: it listens a moment after it runs)
    expect(await oneListening(s)).toBe(true);
    const hb = await hook(b, 'createRuntime');
    expect([hb.exitCode, hb.stderr, lines(s.trace).at(-1)]).toEqual([0, '', 'served']);
    const want = await applied(a);
    expect(await applied(b)).toEqual(want);
    await stopped(a);
    // another environment: the engine's, which reads the stdin the client left unread
    const hc = await hook(c, 'createRuntime', { PATH: `${process.env.PATH ?? ''}:/vk-nowhere` });
    expect([hc.exitCode, hc.stderr, lines(s.trace).at(-1)]).toEqual([0, '', 'engine: another environment']);
    expect(await applied(c)).toEqual(want);
    for (const id of [b, c]) await stopped(id);
    expect(engineServers(s.socket)).toHaveLength(1);
    // a stage of no hook of ours: the engine's error (the entry point does not even ask the server)
    const traced = lines(s.trace).length;
    const bad = await run(RUNTIME, ['--root', hookRoot, 'oci-hook', 'poststart'], { input: JSON.stringify({ id: c, pid: 1, bundle }), env: s.env });
    expect([bad.exitCode, bad.stderr, lines(s.trace).length]).toEqual([1, expect.stringMatching(/oci-hook: unknown stage .*poststart/), traced]);
  } finally {
    for (const id of ids) {
      await runc(['--root', runcRoot, 'delete', '--force', id]);
      await vk(['--root', hookRoot, 'oci-hook', 'poststop'], { input: JSON.stringify({ id, bundle }), env: { VKERNEL_ENGINE_SOCKET: 'off' } });
    }
  }
  for (const id of ids) expect(leftovers(hookRoot, id)).toEqual([]);
}, 90_000);

needs(RT_GROUPS).test('start and delete of a container with work of ours after runc\'s (adaptive: its controller) are served, with the engine\'s outcome: the controller started by the server, stopped and reaped at delete; nothing left', async () => {
  const { s, bundle, server } = await warmed('srv-start-delete', adaptive, ['sleep', '30']);
  /** create, start, delete through the entry point with `env`: the ways they went, the state and the controller after start */
  const lifecycle = async (env: Record<string, string>) => {
    const id = uid('ssd');
    const e = { env: { ...s.env, ...env } };
    expect((await create(s, bundle, id, env)).exitCode).toBe(0);
    expect((await vk(['--root', s.root, 'start', id], e)).exitCode).toBe(0);
    expect(await until(() => readState(s.root, id).helpers.adaptive !== undefined)).toBe(true);
    const state = readState(s.root, id);
    const ctl = helperPid(state.helpers.adaptive);
    // (start returns once it is spawned: its command line is the controller's once its exec is done)
    expect(await until(() => readFileSync(`/proc/${ctl}/cmdline`, 'utf8').split('\0').includes('vkernel-adaptive'))).toBe(true);
    const parent = procOf(ctl)?.ppid;
    expect((await vk(['--root', s.root, 'delete', '--force', id], e)).exitCode).toBe(0);
    // (gone, not a zombie: reaped by its parent, the server when it started it)
    expect(await until(() => procOf(ctl) === undefined)).toBe(true);
    expect(leftovers(s.root, id)).toEqual([]);
    return { ways: lines(s.trace).slice(-3), parent, shape: { policy: state.policy, backend: state.backend, applied: state.applied.map((a) => a.name), helpers: Object.keys(state.helpers) } };
  };
  const served = await lifecycle({});
  expect(served.ways).toEqual(['served', 'served', 'served']);
  expect(served.parent).toBe(server);
  const engine = await lifecycle({ VKERNEL_ENGINE_SOCKET: 'off' });
  expect(engine.ways).toEqual(Array(3).fill('engine: VKERNEL_ENGINE_SOCKET=off'));
  expect(engine.parent).not.toBe(server);
  expect(served.shape).toEqual(engine.shape);
  expect(zombiesOf(server)).toEqual([]);
  expect(engineServers(s.socket)).toEqual([server]);
}, 60_000);

/** a test's own setup and warm server, and an adaptive container (`sleep 30`) created and started through it, its controller recorded */
async function startedAdaptive(name: string, prefix: string): Promise<{ s: Setup; server: number; id: string }> {
  const { s, bundle, server } = await warmed(name, adaptive, ['sleep', '30']);
  const id = uid(prefix);
  expect((await create(s, bundle, id)).exitCode).toBe(0);
  expect((await vk(['--root', s.root, 'start', id], { env: s.env })).exitCode).toBe(0);
  expect(await until(() => readState(s.root, id).helpers.adaptive !== undefined)).toBe(true);
  return { s, server, id };
}

needs(RT_GROUPS).test('the server SIGKILLed while runc runs a served start: the caller fails saying so; the container runs without its controller, as a killed engine leaves it; delete --force cleans', async () => {
  const { s, bundle, server } = await warmed('srv-kill-server-start', adaptive, ['sleep', '30']);
  const id = uid('skss');
  expect((await create(s, bundle, id)).exitCode).toBe(0);
  const p = vk(['--root', s.root, 'start', id], { env: { ...s.env, VK_GATE: s.gate, VK_GATE_CMD: 'start' }, stdin: 'ignore' });
  expect(await until(() => existsSync(`${s.gate}.started`))).toBe(true);
  // (runc's parent: the caller's process, the client: the call is served)
  expect(lines(s.parents).at(-1)).toMatch(new RegExp(`^${RUNTIME} --root `));
  process.kill(server, 'SIGKILL');
  expect(await until(() => engineServers(s.socket).length === 0)).toBe(true);
  writeFileSync(`${s.gate}.go`, '');
  const r = await p;
  expect([r.exitCode, r.stderr]).toEqual([1, expect.stringMatching(/engine server went away/)]);
  // runc went on and started the container; nothing started its controller
  expect((await runc(['--root', s.root, 'state', id])).stdout).toMatch(/"status": "running"/);
  expect(readState(s.root, id).helpers.adaptive).toBeUndefined();
  const del = await vk(['--root', s.root, 'delete', '--force', id], { env: s.env });
  expect([del.exitCode, del.stderr]).toEqual([0, '']);
  expect(leftovers(s.root, id)).toEqual([]);
}, 60_000);

needs(RT_GROUPS).test('the caller of a served delete SIGKILLed while runc deletes: what a killed engine leaves (our state and the lock file); delete --force cleans; the server serves on', async () => {
  const { s, server, id } = await startedAdaptive('srv-kill-delete', 'skd');
  const p = vk(['--root', s.root, 'delete', '--force', id], { env: { ...s.env, VK_GATE: s.gate, VK_GATE_CMD: 'delete' }, stdin: 'ignore' });
  expect(await until(() => existsSync(`${s.gate}.started`))).toBe(true);
  // (runc's parent: the caller's process, the client: the call is served)
  expect(lines(s.parents).at(-1)).toMatch(new RegExp(`^${RUNTIME} --root `));
  process.kill(p.pid as number, 'SIGKILL');
  // (then runc goes on: it holds the caller's stdio pipes, whose end the caller's result waits for)
  expect(await until(() => procOf(p.pid as number)?.state !== 'S')).toBe(true);
  writeFileSync(`${s.gate}.go`, '');
  expect((await p).signal).toBe('SIGKILL');
  // runc, orphaned, goes on and deletes the container; the server stops where the caller died
  expect(await until(async () => (await runc(['--root', s.root, 'state', id])).exitCode !== 0)).toBe(true);
  expect(await until(() => existsSync(join(s.root, `vkernel@${id}.lock`)))).toBe(true);
  expect(existsSync(join(s.root, `vkernel@${id}.json`))).toBe(true);
  const again = await vk(['--root', s.root, 'delete', '--force', id], { env: s.env });
  expect([again.exitCode, again.stderr]).toEqual([0, '']);
  expect(leftovers(s.root, id)).toEqual([]);
  const next = uid('skdn');
  made.push({ root: s.root, id: next });
  expect((await create(s, await makeBundle({ args: ['true'], annotations: cfs }), next)).exitCode).toBe(0);
  expect(lines(s.trace).at(-1)).toBe('served');
  expect(engineServers(s.socket)).toEqual([server]);
}, 60_000);

needs(RT_GROUPS).test('the caller of a served delete SIGKILLed before runc runs (the server still stopping the controller): runc never deletes, as with a killed engine; delete --force cleans', async () => {
  const { s, server, id } = await startedAdaptive('srv-kill-delete-early', 'ske');
  const ctl = helperPid(readState(s.root, id).helpers.adaptive);
  // stopped, the controller cannot end on SIGTERM: the delete waits for it (up to 1 s, then kills it)
  process.kill(ctl, 'SIGSTOP');
  const p = vk(['--root', s.root, 'delete', '--force', id], { env: s.env, stdin: 'ignore' });
  const sigterm = 1n << 14n;
  const pending = () => (BigInt(`0x${/^ShdPnd:\s*([0-9a-f]+)/m.exec(readFileSync(`/proc/${ctl}/status`, 'utf8'))?.[1] ?? '0'}`) & sigterm) !== 0n;
  expect(await until(pending)).toBe(true);
  process.kill(p.pid as number, 'SIGKILL');
  expect((await p).signal).toBe('SIGKILL');
  // the server goes on stopping the controller, then ends the call where its caller died: the
  // lock's flock dropped, its file left
  expect(await until(() => procOf(ctl) === undefined)).toBe(true);
  const lock = join(s.root, `vkernel@${id}.lock`);
  expect(await until(async () => (await run('flock', ['-n', lock, 'true'])).exitCode === 0)).toBe(true);
  expect(existsSync(lock)).toBe(true);
  expect((await runc(['--root', s.root, 'state', id])).exitCode).toBe(0);
  expect(existsSync(join(s.root, `vkernel@${id}.json`))).toBe(true);
  const again = await vk(['--root', s.root, 'delete', '--force', id], { env: s.env });
  expect([again.exitCode, again.stderr]).toEqual([0, '']);
  expect(leftovers(s.root, id)).toEqual([]);
  expect(zombiesOf(server)).toEqual([]);
  expect(engineServers(s.socket)).toEqual([server]);
}, 60_000);

test('another environment: the engine serves the call and the server stays; a variable the engine does not read is no difference', async () => {
  const { s, bundle, server } = await warmed('srv-env', cfs);
  // the client sends only the variables the engine reads (VKERNEL_*, PATH, LISTEN_FDS, LISTEN_PID):
  // each still reaches the server, which gives a call in another environment to the engine
  const cases: [string, Record<string, string>, string][] = [
    ['VKERNEL_*', { VKERNEL_RMMOD_TIMEOUT_MS: '1234' }, 'engine: another environment'],
    ['PATH', { PATH: `${process.env.PATH ?? ''}:/vk-nowhere` }, 'engine: another environment'],
    ['another variable', { VK_NOT_READ_BY_THE_ENGINE: 'x'.repeat(200), npm_config_vk_test: 'y' }, 'served'],
  ];
  for (const [what, env, way] of cases) {
    const id = uid('senv');
    expect([what, (await create(s, bundle, id, env)).exitCode, lines(s.trace).at(-1)]).toEqual([what, 0, way]);
    if (way !== 'served') expect(lines(s.parents).at(-1)).toMatch(new RegExp(`^${ENGINE} `));
    expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
    expect(leftovers(s.root, id)).toEqual([]);
  }
  // socket activation (LISTEN_PID set to the entry point's pid by sh, as systemd does): the engine's,
  // which passes the fds on to runc (a served runc would get them without LISTEN_PID naming it)
  const id = uid('senv');
  made.push({ root: s.root, id });
  const fd = openSync(join(s.root, `${id}.out`), 'w');
  const r = await run('/bin/sh', ['-c', 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', 'sh', RUNTIME, '--root', s.root, 'create', '--bundle', bundle, id],
    { stdio: ['ignore', fd, fd, fd], env: { ...s.env, LISTEN_FDS: '1' } });
  closeSync(fd);
  expect([r.exitCode, output(s, id), lines(s.trace).at(-1)]).toEqual([0, '', 'engine: socket activation (LISTEN_FDS)']);
  expect(engineServers(s.socket)).toEqual([server]);
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, id)).toEqual([]);
}, 90_000);

test('the other entry point (sh launcher or C) is served by the same server: the launcher a caller ran is no other environment', async () => {
  const { s, bundle, server } = await warmed('srv-entry', fifo, ['sleep', '30']);
  const other = RUNTIME === SH_LAUNCHER ? join(REPO, 'dist/vkernel-runtime') : SH_LAUNCHER;
  expect(existsSync(other)).toBe(true);
  const id = uid('sentry');
  const r = await create(s, bundle, id, {}, false, other);
  expect([r.exitCode, output(s, id)]).toEqual([0, '']);
  expect(lines(s.trace).at(-1)).toBe('served');
  expect(engineServers(s.socket)).toEqual([server]);
  // handed over (fifo applies once runc has created): runc's parent is the caller, the client became runc
  expect(rawLines(s.trace).at(-1)).toMatch(HANDED);
  expect(lines(s.parents).at(-1)).toMatch(/node|jest/);
  recorded(s.root, id);
  expect(policyOf(await initPid(s, id))).toMatch(/SCHED_FIFO/);
  expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  expect(leftovers(s.root, id)).toEqual([]);
}, 60_000);

test('one server per environment under a socket directory (VKERNEL_ENGINE_SOCKET=DIR/, as the default /run/vkernel-runtime/): callers whose PATHs or resource limits differ each get theirs and are served from their second call; the order of the variables, one the engine does not read and the entry point make no other', async () => {
  const s = setup('srv-dir');
  const dir = join(tmpdir(), `srv-dir-${process.pid}`, 'sockets/');
  const bundle = await makeBundle({ args: ['true'], annotations: cfs });
  const other = RUNTIME === SH_LAUNCHER ? join(REPO, 'dist/vkernel-runtime') : SH_LAUNCHER;
  const ours = () => [...serverSockets().entries()].filter(([, sock]) => sock.startsWith(dir));
  /** n servers in the directory, each listening (its socket made: a moment after its process runs) */
  const listening = (n: number) => until(() => ours().length === n && ours().every(([, sock]) => existsSync(sock)));
  /** a create and delete: how the create went (the trace's line) */
  const call = async (env: Record<string, string>, entry = RUNTIME, envList?: string[], wrap: string[] = []): Promise<string | undefined> => {
    const id = uid('sdir');
    made.push({ root: s.root, id });
    const args = ['--root', s.root, 'create', '--bundle', bundle, id];
    const r = envList ? await run('env', ['-i', ...envList, entry, ...args], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' }) : await create(s, bundle, id, env, false, entry, wrap);
    expect(r.exitCode).toBe(0);
    expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
    return lines(s.trace).at(-1);
  };
  const pathA = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  const a = { VKERNEL_ENGINE_SOCKET: dir, PATH: pathA };
  const b = { VKERNEL_ENGINE_SOCKET: dir, PATH: `${pathA}:/vk-nowhere` };
  try {
    expect(await call(a)).toBe('engine: no server (one started)');
    expect(await listening(1)).toBe(true);
    expect(await call(a)).toBe('served');
    // (with one socket for all, this caller's every create went to the engine: "another environment")
    expect(await call(b)).toBe('engine: no server (one started)');
    expect(await listening(2)).toBe(true);
    expect([await call(b), await call(a), await call(b)]).toEqual(['served', 'served', 'served']);
    expect([await call({ ...a, VK_NOT_READ_BY_THE_ENGINE: 'x' }), await call(a, other)]).toEqual(['served', 'served']);
    // the same variables in two orders, nothing else (env -i): a's server
    const vars = Object.entries({ ...process.env, ...s.env, ...a }).filter(([k]) => k.startsWith('VKERNEL_') || k === 'PATH').map(([k, v]) => `${k}=${v}`);
    expect([await call({}, RUNTIME, vars), await call({}, RUNTIME, [...vars].reverse())]).toEqual(['served', 'served']);
    // a's environment under other resource limits (with one socket: "other resource limits" at
    // each create); under another open files soft limit, which the server does not compare: a's
    const limits = ['prlimit', '--core=12345:67890', '--'];
    expect(await call(a, RUNTIME, undefined, limits)).toBe('engine: no server (one started)');
    expect(await listening(3)).toBe(true);
    expect([await call(a, RUNTIME, undefined, limits), await call(a)]).toEqual(['served', 'served']);
    const nofile = limitOf(process.pid, 'Max open files')?.split(' ') ?? [];
    expect(await call(a, RUNTIME, undefined, ['prlimit', `--nofile=${Number(nofile[0]) - 1}:${nofile[1]}`, '--'])).toBe('served');
    // three servers, each on a socket of its own in the directory (made 0700)
    const socks = ours().map(([, sock]) => sock).sort();
    expect(socks).toEqual(readdirSync(dir).filter((f) => f.endsWith('.sock')).map((f) => join(dir, f)).sort());
    expect(socks).toEqual(Array(3).fill(expect.stringMatching(/\/engine-[0-9a-f]{16}\.sock$/)));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  } finally {
    for (const [pid] of ours()) process.kill(pid, 'SIGTERM');
  }
}, 120_000);

/** a limit of /proc/PID/limits (or of such a text) as "soft hard" */
const limitIn = (text: string, name: string): string | undefined => text.match(new RegExp(`^${name} +(\\S+) +(\\S+)`, 'm'))?.slice(1).join(' ');
const limitOf = (pid: number, name: string): string | undefined => limitIn(readFileSync(`/proc/${pid}/limits`, 'utf8'), name);

needs(RT_GROUPS).test('resource limits: runc and the container\'s init have the caller\'s, whichever way the call goes (the engine, bun, raises its open files soft limit: put back); the server has its first caller\'s (but its own open files soft limit) and leaves a caller with others to the engine', async () => {
  const s = setup('srv-limits');
  // no RLIMIT_NOFILE in config.json: the init keeps runc's, as under runc itself
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: cfs, rlimits: [] });
  const hard = limitOf(process.pid, 'Max open files')?.split(' ')[1] ?? '';
  const caller = ['--nofile=256:' + hard, '--core=12345:67890'];
  const limitsFile = join(s.root, 'limits');
  /** create under `limits`; the trace's line, and the open files and core limits of its runc create and of the init */
  const createUnder = async (limits: string[], env: Record<string, string> = {}) => {
    const id = uid('lim');
    rmSync(limitsFile, { force: true });
    const r = await create(s, bundle, id, { VK_LIMITS: limitsFile, ...env }, false, RUNTIME, ['prlimit', ...limits]);
    expect([r.exitCode, output(s, id)]).toEqual([0, '']);
    const runcCreate = readFileSync(limitsFile, 'utf8').split(/^(?=runc )/m).find((x) => / create /.test(x.split('\n')[0])) ?? '';
    const init = await initPid(s, id);
    return {
      way: lines(s.trace).at(-1),
      runc: [limitIn(runcCreate, 'Max open files'), limitIn(runcCreate, 'Max core file size')],
      init: [limitOf(init, 'Max open files'), limitOf(init, 'Max core file size')],
    };
  };
  // runc run by the caller itself: the init's limits (runc 1.1's Go raises its open files soft limit
  // too, and its init keeps that; a runc that puts its caller's back gives the init 256)
  const plainInit = async (limits: string[]) => {
    const plain = uid('limplain');
    made.push({ root: s.root, id: plain });
    expect((await run('prlimit', [...limits, 'runc', '--root', s.root, 'create', '--bundle', bundle, plain], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })).exitCode).toBe(0);
    const pid = await initPid(s, plain);
    return [limitOf(pid, 'Max open files'), limitOf(pid, 'Max core file size')];
  };
  const callers = { runc: [`256 ${hard}`, '12345 67890'], init: await plainInit(caller) };
  // the engine's (no server), the first call's (which starts one), a served one
  expect(await createUnder(caller, { VKERNEL_ENGINE_SOCKET: 'off' })).toEqual({ way: 'engine: VKERNEL_ENGINE_SOCKET=off', ...callers });
  // a soft limit too small for the engine's own fds (8; it fails at 4): kept raised, and the create works
  const tiny = ['--nofile=8:' + hard, '--core=12345:67890'];
  expect(await createUnder(tiny, { VKERNEL_ENGINE_SOCKET: 'off' })).toEqual({ way: 'engine: VKERNEL_ENGINE_SOCKET=off', runc: [`${hard} ${hard}`, '12345 67890'], init: await plainInit(tiny) });
  expect(await createUnder(caller)).toEqual({ way: 'engine: no server (one started)', ...callers });
  expect(await oneListening(s)).toBe(true);
  const [server] = engineServers(s.socket);
  // (its open files soft limit raised: it serves many calls at once)
  expect([limitOf(server, 'Max open files'), limitOf(server, 'Max core file size')]).toEqual([`${hard} ${hard}`, '12345 67890']);
  expect(await createUnder(caller)).toEqual({ way: 'served', ...callers });
  // another open files soft limit: served, runc with it
  const others = [`--nofile=512:${hard}`, '--core=12345:67890'];
  expect(await createUnder(others)).toEqual({ way: 'served', runc: [`512 ${hard}`, '12345 67890'], init: await plainInit(others) });
  // another core file size: the engine's, with its caller's limits; the server stays
  const core = [`--nofile=512:${hard}`, '--core=0:67890'];
  const other = await createUnder(core);
  expect(other.way).toMatch(/^engine: other resource limits \(rlimits=u:u,u:u,u:u,[^,]+,0:67890,/);
  expect({ ...other, way: '' }).toEqual({ way: '', runc: [`512 ${hard}`, '0 67890'], init: await plainInit(core) });
  expect(engineServers(s.socket)).toEqual([server]);
}, 90_000);

test('a server started by a caller with a small open files soft limit (24) serves twelve creates at once from such callers (its own is bun\'s, raised)', async () => {
  const s = setup('srv-fds');
  const bundle = await makeBundle({ args: ['true'], annotations: cfs });
  const hard = limitOf(process.pid, 'Max open files')?.split(' ')[1] ?? '';
  const limits = ['prlimit', `--nofile=24:${hard}`];
  const first = uid('sfds');
  expect((await create(s, bundle, first, {}, false, RUNTIME, limits)).exitCode).toBe(0);
  expect((await vk(['--root', s.root, 'delete', '--force', first], { env: s.env })).exitCode).toBe(0);
  expect(await oneListening(s)).toBe(true);
  expect(limitOf(engineServers(s.socket)[0], 'Max open files')).toBe(`${hard} ${hard}`);
  const ids = Array.from({ length: 12 }, () => uid('sfds'));
  try {
    const rs = await Promise.all(ids.map((id) => create(s, bundle, id, {}, false, RUNTIME, limits)));
    expect(rs.map((r, i) => [r.exitCode, output(s, ids[i])])).toEqual(ids.map(() => [0, '']));
    expect(lines(s.trace).slice(-12)).toEqual(ids.map(() => 'served'));
  } finally {
    for (const id of ids) await vk(['--root', s.root, 'delete', '--force', id], { env: s.env });
  }
  for (const id of ids) expect(leftovers(s.root, id)).toEqual([]);
}, 90_000);

needs(RT_GROUPS).test('credentials: a caller whose bounding set lacks CAP_SYS_NICE is the engine\'s, which runs without it: its fifo create fails as the engine\'s does (rolled back), the server never applies for it what it could not; a no_new_privs caller is the engine\'s too', async () => {
  const { s, bundle, server } = await warmed('srv-creds', fifo, ['sleep', '30']);
  const id = uid('screds');
  const r = await create(s, bundle, id, {}, false, RUNTIME, ['setpriv', '--bounding-set', '-sys_nice', '--']);
  expect([r.exitCode, output(s, id)]).toEqual([1, expect.stringMatching(/cannot set SCHED_FIFO .*not permitted.*rolled back \(container deleted\)/)]);
  expect(lines(s.trace).at(-1)).toMatch(/^engine: other credentials \(creds=/);
  expect(leftovers(s.root, id)).toEqual([]);
  const nnp = uid('snnp');
  const n = await create(s, bundle, nnp, {}, false, RUNTIME, ['setpriv', '--no-new-privs', '--']);
  expect([n.exitCode, output(s, nnp), lines(s.trace).at(-1)]).toEqual([0, '', expect.stringMatching(/^engine: other credentials \(creds=/)]);
  expect(policyOf(await initPid(s, nnp))).toMatch(/SCHED_FIFO/);
  expect(engineServers(s.socket)).toEqual([server]);
  // the same caller as the server's: served
  const same = uid('ssame');
  expect((await create(s, bundle, same)).exitCode).toBe(0);
  expect(lines(s.trace).at(-1)).toBe('served');
}, 60_000);

/**
 * A client of our own, not vkernel-client.c: connects to SOCKET, sends a Q of the given fields (NUL
 * after each), prints the server's first answer ("A", or "F <why>"). With HANDOFF=1 the process that
 * connected forks, prints its pid and exits; its child, which has the socket, waits until it is
 * gone and sends the request.
 */
const RAW_CLIENT = [
  'use strict; use IO::Socket::UNIX;',
  'my ($path, @fields) = @ARGV;',
  'my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) or die "connect: $!";',
  'if ($ENV{HANDOFF}) { my $parent = $$; my $pid = fork() // die "fork: $!"; if ($pid) { print "$parent\\n"; exit 0; }',
  '  for (1 .. 500) { last if getppid() != $parent; select(undef, undef, undef, 0.01); } }',
  'my $q = join("", map { "$_\\0" } @fields);',
  '$s->print("Q" . pack("V", length $q) . $q);',
  'read($s, my $head, 5) == 5 or die "no answer";',
  'my ($type, $len) = unpack("a1 V", $head);',
  'my $body = ""; read($s, $body, $len) if $len;',
  'print "$type $body\\n";',
].join('\n');

test('who calls is the kernel\'s word, not the client\'s: a process that connects itself and asks for a create is refused for the umask or bounding set it really has, and when the process that connected is gone (its socket handed to a child)', async () => {
  const { s, server } = await warmed('srv-peer', cfs);
  const script = join(s.root, 'raw-client.pl');
  writeFileSync(script, RAW_CLIENT);
  // the environment the server has (what a caller's must equal), of the variables the engine reads
  const env = readFileSync(`/proc/${server}/environ`, 'utf8').split('\0').filter((kv) => /^(VKERNEL_[A-Z_]*|PATH|LISTEN_FDS|LISTEN_PID)=/.test(kv));
  const id = uid('speer');
  // (no such bundle: a call taken fails reading it, before anything is made)
  const argv = ['--root', s.root, 'create', '--bundle', join(s.root, 'no-bundle'), id];
  const fields = [PROTOCOL, ENGINE, '/', String(argv.length), ...argv, ...env];
  const ask = async (wrap: string[], o: { env?: Record<string, string> } = {}) =>
    (await run(wrap[0] ?? 'perl', [...wrap.slice(1), ...(wrap.length ? ['perl'] : []), script, s.socket, ...fields], { env: { ...o.env }, stdin: 'ignore' })).stdout;
  // the same context as the server's: taken
  expect(await ask([])).toBe('A ');
  expect(await ask(['setpriv', '--bounding-set', '-sys_nice', '--'])).toMatch(/^F other credentials \(creds=([0-9.]+,){2}[0-9a-f]{16},[0-9a-f]{16},/);
  expect(await ask(['sh', '-c', 'umask 077; exec "$@"', 'sh'])).toBe('F another umask (umask=077)');
  expect(await ask(['prlimit', '--core=0:0', '--'])).toMatch(/^F other resource limits \(rlimits=/);
  // the process that connected gone: whatever its pid is now, not our caller
  const handoff = (await ask([], { env: { HANDOFF: '1' } })).split('\n');
  expect(handoff).toEqual([expect.stringMatching(/^[0-9]+$/), `F the caller (pid ${handoff[0]}) is gone`]);
  // the first protocol's request, which said who the caller was: refused as another protocol
  const v1 = ['vkernel-serve-1', ENGINE, '/', readFileSync(`/proc/${server}/status`, 'utf8').slice(0, 10), String(process.pid), String(argv.length), ...argv, ...env];
  expect((await run('perl', [script, s.socket, ...v1], { stdin: 'ignore' })).stdout).toBe(`F protocol "vkernel-serve-1", not ${PROTOCOL}`);
  // the second's (a client that cannot become runc: Y): refused too
  expect((await run('perl', [script, s.socket, 'vkernel-serve-2', ...fields.slice(1)], { stdin: 'ignore' })).stdout).toBe(`F protocol "vkernel-serve-2", not ${PROTOCOL}`);
  // nothing made; the same server serves the next call
  expect(leftovers(s.root, id)).toEqual([]);
  expect(existsSync(join(s.root, id))).toBe(false);
  const next = uid('speer-next');
  expect((await create(s, await makeBundle({ args: ['true'], annotations: cfs }), next)).exitCode).toBe(0);
  expect([lines(s.trace).at(-1), engineServers(s.socket)]).toEqual(['served', [server]]);
}, 60_000);

test('six creates at once, all served, each with its policy', async () => {
  // cfs: six fifo containers would pass the node's RT budget (limits.rt_budget_percent)
  const { s, bundle } = await warmed('srv-many', cfs);
  const ids = Array.from({ length: 6 }, () => uid('smany'));
  try {
    const rs = await Promise.all(ids.map((id) => create(s, bundle, id)));
    expect(rs.map((r, i) => [r.exitCode, output(s, ids[i])])).toEqual(ids.map(() => [0, '']));
    expect(lines(s.trace).slice(-6)).toEqual(ids.map(() => 'served'));
    for (const id of ids) expect(readState(s.root, id).policy['sched.policy']).toBe('cfs');
  } finally {
    for (const id of ids) await vk(['--root', s.root, 'delete', '--force', id], { env: s.env });
  }
  for (const id of ids) expect(leftovers(s.root, id)).toEqual([]);
}, 90_000);

test('a warm server\'s threads besides its main one (the JIT\'s compilers, the allocator\'s) use under 0.5 ms CPU per served create', async () => {
  const { s, bundle, server } = await warmed('srv-threads', cfs);
  const one = async () => {
    const id = uid('sthr');
    expect((await create(s, bundle, id)).exitCode).toBe(0);
    expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
  };
  for (let i = 0; i < 10; i++) await one();
  const before = threadCpuMs(server);
  const n = 40;
  for (let i = 0; i < n; i++) await one();
  const after = threadCpuMs(server);
  expect(lines(s.trace).slice(-n)).toEqual(Array.from({ length: n }, () => 'served'));
  let others = 0;
  for (const [tid, ms] of after) if (tid !== server) others += ms - (before.get(tid) ?? 0);
  // (with JavaScriptCore's normal tier-up policy its compiler threads took 1.1-1.3 ms per call, the
  // allocator's scavenger 0.6-0.7 without MIMALLOC_PURGE_DELAY=-1; ticks of 10 ms: 20 ms in 40 calls)
  expect(others).toBeLessThan(0.5 * n);
}, 120_000);

/** through the engine (no server: VKERNEL_ENGINE_SOCKET=off) and through the server */
const WAYS = ['engine', 'served'] as const;
async function waySetup(way: typeof WAYS[number], name: string, annotations: Record<string, string>): Promise<{ s: Setup; bundle: string }> {
  if (way === 'served') return warmed(`${name}-${way}`, annotations, ['sleep', '60']);
  const s = setup(`${name}-${way}`);
  s.env.VKERNEL_ENGINE_SOCKET = 'off';
  return { s, bundle: await makeBundle({ args: ['sleep', '60'], annotations }) };
}

needs(RT_GROUPS).describe('runc failing in create after ours began (fifo: RT budgets)', () => {
  test.each(WAYS)('runc failing after it recorded the container (its --pid-file unwritable: runc removes it): runc\'s status and message alone, nothing left (%s)', async (way) => {
    const { s, bundle } = await waySetup(way, 'srv-late-fail', fifo);
    const id = uid('latefail');
    made.push({ root: s.root, id });
    const file = join(s.root, `${id}.out`);
    const fd = openSync(file, 'w');
    const args = ['--root', s.root, 'create', '--bundle', bundle, '--pid-file', join(s.root, 'no-such-dir', 'pid'), id];
    const p = run(RUNTIME, args, { stdin: 'ignore', stdout: fd, stderr: fd, env: s.env });
    closeSync(fd);
    const r = await p;
    expect(r.exitCode).toBe(1);
    const out = readFileSync(file, 'utf8');
    expect(out).toMatch(/runc create failed: open .*no-such-dir.*no such file or directory/);
    expect(out).not.toMatch(/rolled back|vkernel-runtime/);
    expect(lines(s.trace).at(-1)).toBe(way === 'served' ? 'served' : 'engine: VKERNEL_ENGINE_SOCKET=off');
    expect((await runc(['--root', s.root, 'list', '-q'])).stdout).toBe('');
    expect(leftovers(s.root, id)).toEqual([]);
  }, 60_000);

  // VK_KILL_INIT (the runc wrapper's kill-init.pl): reap, the init's pid free to be reused; zombie,
  // listed in the root of every cgroup hierarchy until its parent reaps it
  // served, the create is handed over (fifo applies once runc has created): runc's status (0) is the
  // caller's, and the error is start's, which refuses the container; delete --force removes it
  test.each(WAYS.flatMap((way) => (['reap', 'zombie'] as const).map((mode) => [way, mode] as const)))('the container\'s init dead before ours begins (%s; killed by the wrapper, %s): a clear error (create\'s, or, handed over, start\'s), nothing applied, the host\'s RT budget untouched, nothing left', async (way, mode) => {
    const { s, bundle } = await waySetup(way, `srv-init-${mode}`, fifo);
    const id = uid(`init${mode}`);
    made.push({ root: s.root, id });
    const rootBudget = readFileSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us', 'utf8');
    // the caller a child subreaper (as a containerd shim is): an init orphaned by runc becomes its
    // child, and stays a zombie while the caller waits for create alone
    const file = join(s.root, `${id}.out`);
    const fd = openSync(file, 'w');
    const p = run('perl', ['-e', `${PERL_SUBREAPER} exit(system(@ARGV) >> 8)`, '--', RUNTIME, '--root', s.root, 'create', '--bundle', bundle, id],
      { stdin: 'ignore', stdout: fd, stderr: fd, env: { ...s.env, VK_KILL_INIT: mode } });
    closeSync(fd);
    if (way === 'engine') {
      expect((await p).exitCode).toBe(1);
      expect(readFileSync(file, 'utf8')).toMatch(/the container's init \(pid [0-9]+\) ended before its request was applied; rolled back/);
      expect(lines(s.trace).at(-1)).toBe('engine: VKERNEL_ENGINE_SOCKET=off');
    } else {
      expect((await p).exitCode).toBe(0);
      expect(rawLines(s.trace).at(-1)).toMatch(HANDED);
      recorded(s.root, id);
      expect(readFileSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us', 'utf8')).toBe(rootBudget);
      expect(readState(s.root, id)).toMatchObject({ creating: true, applied: [], failed: expect.stringMatching(/its init \(pid [0-9]+\) ended before the container was recorded/) });
      for (let i = 0; i < 2; i++) { // (refused again: the lock file stays)
        const start = await vk(['--root', s.root, 'start', id], { env: s.env });
        expect([start.exitCode, start.stderr]).toEqual([1, expect.stringMatching(/could not put its io\.vkernel\.\* request in force after runc had created it \(its init \(pid [0-9]+\) ended before the container was recorded\).*delete it/)]);
      }
      expect(lines(s.trace).at(-1)).toBe('served');
      expect((await vk(['--root', s.root, 'delete', '--force', id], { env: s.env })).exitCode).toBe(0);
    }
    expect(readFileSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us', 'utf8')).toBe(rootBudget);
    expect((await runc(['--root', s.root, 'list', '-q'])).stdout).toBe('');
    expect(leftovers(s.root, id)).toEqual([]);
  }, 60_000);

  test.each(WAYS)('a create of an id runc already has under the root (a container runc made itself): runc\'s error, exit 1; that container untouched, nothing of ours (%s)', async (way) => {
    const { s, bundle } = await waySetup(way, 'srv-taken', fifo);
    const id = uid('taken');
    made.push({ root: s.root, id });
    const plain = await makeBundle({ args: ['sleep', '60'] });
    const theirs = openSync(join(s.root, `${id}.theirs`), 'w');
    expect((await runc(['--root', s.root, 'create', '--bundle', plain, id], { stdin: 'ignore', stdout: theirs, stderr: theirs })).exitCode).toBe(0);
    closeSync(theirs);
    const pid = await initPid(s, id);
    const r = await create(s, bundle, id);
    expect([r.exitCode, output(s, id)]).toEqual([1, expect.stringMatching(/exists/)]);
    expect(lines(s.trace).at(-1)).toBe(way === 'served' ? 'served' : 'engine: VKERNEL_ENGINE_SOCKET=off');
    expect(JSON.parse((await runc(['--root', s.root, 'state', id])).stdout)).toMatchObject({ pid, status: 'created' });
    expect(policyOf(pid)).toMatch(/SCHED_OTHER/);
    expect(stateFile(s.root, id)).toBeUndefined();
  }, 60_000);
});
