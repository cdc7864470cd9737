import { chmodSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { cgroupDirsOf, leftovers, makeBundle, PERL_SUBREAPER, requireRoot, runc, RUNTIME, tempRoot, uid, until, vk } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';

/**
 * The adaptive controller with real runc on this host's rt backend (cgroup v1, RT group
 * scheduling): how a switch is done (no process per task), where the controller runs and when it
 * goes, and that it runs under `run` and under the OCI hook as under create+start.
 */
const CPU = '/sys/fs/cgroup/cpu';
const HOOK_ROOT = '/run/vkernel-runtime/hooks';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const schedPolicyOf = (pid: number) => {
  try {
    return Number(/^policy\s*:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/sched`, 'utf8'))?.[1]);
  } catch {
    return -1; // exited
  }
};
/** running (not a zombie); a process reaped between two looks is not */
const alive = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const cpuLine = (pid: number) => /^\d+:cpu:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
const procsOf = (rel: string) => readFileSync(join(CPU, rel, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);

const ADAPTIVE = {
  'io.vkernel.sched.policy': 'adaptive',
  'io.vkernel.sched.adaptive.interval_ms': '200',
  'io.vkernel.sched.adaptive.cpu_high': '20', 'io.vkernel.sched.adaptive.cpu_low': '5',
  'io.vkernel.sched.adaptive.ctx_high': '2', 'io.vkernel.sched.adaptive.ctx_low': '1',
};

/**
 * A deterministic load: `extra` first (e.g. background sleeps), then CPU-bound with a fork every
 * ~2000 loop turns (context switches well above ctx_high) until SIGUSR1, then idle (exec sleep).
 * The phase ends when the test says so, not after a wall time the loaded host may eat.
 */
const busyUntilUsr1 = (extra = '') => ['sh', '-c', `${extra}busy=1; trap 'busy=0' USR1; while [ $busy = 1 ]; do i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; x=$(echo); done; exec sleep 60`];

/** a bundle with a large CPU share, so the busy phase gets well over cpu_high on a loaded host */
async function bundleFor(args: string[], hooks?: object): Promise<string> {
  const bundle = await makeBundle({ args, annotations: ADAPTIVE });
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.linux.resources = { ...spec.linux.resources, cpu: { shares: 16384 } };
  if (hooks) spec.hooks = hooks;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
  return bundle;
}

const logOf = (root: string, id: string) => join(root, `vkernel@${id}.adaptive.log`);
const text = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '(no log)');
async function waitFor(file: string, re: RegExp, ms: number): Promise<RegExpExecArray> {
  for (let t = 0; t < ms; t += 100) {
    const m = re.exec(text(file));
    if (m) return m;
    await sleep(100);
  }
  throw new Error(`no ${re} in ${file} within ${ms} ms:\n${text(file)}`);
}
async function waitState(root: string, id: string, ms = 10000): Promise<{ pid: number; helpers: { adaptive: { pid: number } } }> {
  const f = join(root, `vkernel@${id}.json`);
  for (let t = 0; t < ms; t += 100) {
    if (existsSync(f)) {
      const s = JSON.parse(readFileSync(f, 'utf8'));
      if (s.helpers?.adaptive) return s;
    }
    await sleep(100);
  }
  throw new Error(`no controller recorded in ${f} within ${ms} ms`);
}

beforeAll(requireRoot);

needs(RT_GROUPS).describe('adaptive controller', () => {
  test('a switch of 50 tasks starts no process (no chrt per task), every task ends SCHED_FIFO, then SCHED_OTHER; the controller runs in its own small-share group beside the container\'s and leaves with it', async () => {
    // a chrt first in PATH that records each call: the controller must not need it
    const bin = mkdtempSync(join(tmpdir(), 'vk-chrt-'));
    const calls = join(bin, 'calls');
    writeFileSync(calls, '');
    writeFileSync(join(bin, 'chrt'), `#!/bin/sh\necho "$*" >> ${calls}\nexec /usr/bin/chrt "$@"\n`);
    chmodSync(join(bin, 'chrt'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const bundle = await bundleFor(busyUntilUsr1('n=0; while [ $n -lt 49 ]; do sleep 60 & n=$((n+1)); done; '));
    const root = tempRoot();
    const id = uid('ad50');
    const out = openSync(join(tmpdir(), `${id}.out`), 'w');
    expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out, env })).exitCode).toBe(0);
    try {
      expect((await vk(['--root', root, 'start', id], { env })).exitCode).toBe(0);
      const state = await waitState(root, id);
      const ctl = state.helpers.adaptive.pid;
      const cgroups = cgroupDirsOf(state.pid);
      // where the controller runs: its own group beside the container's, 1/16 of a default share
      // (once started: one interval after the container)
      await waitFor(logOf(root, id), /started/, 5000);
      expect(cpuLine(ctl)).toBe(`/vkernel-adaptive-${id}`);
      expect(readFileSync(join(CPU, `vkernel-adaptive-${id}`, 'cpu.shares'), 'utf8').trim()).toBe('64');
      expect(procsOf(id)).not.toContain(ctl);
      const log = logOf(root, id);
      const m = await waitFor(log, /cfs -> fifo .*switched (\d+) threads in ([\d.]+ ms, [\d.]+ ms CPU)/, 10000);
      const procs = procsOf(id);
      expect(procs.length).toBeGreaterThanOrEqual(50);
      const policies = procs.map(schedPolicyOf).filter((p) => p >= 0);
      expect(policies.filter((p) => p !== 1)).toEqual([]);
      expect(readFileSync(calls, 'utf8')).toBe('');
      console.log(`switch cfs -> fifo of a container with ${m[1]} threads: ${m[2]} (controller log)`);
      expect((await runc(['--root', root, 'kill', id, 'USR1'])).exitCode).toBe(0);
      const back = await waitFor(log, /fifo -> cfs .*switched (\d+) threads in ([\d.]+ ms, [\d.]+ ms CPU)/, 10000);
      console.log(`switch fifo -> cfs of a container with ${back[1]} threads: ${back[2]} (controller log)`);
      expect(procsOf(id).map(schedPolicyOf).filter((p) => p > 0)).toEqual([]);
      expect(readFileSync(calls, 'utf8')).toBe('');
      expect((await vk(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
      expect(alive(ctl)).toBe(false);
      expect(existsSync(join(CPU, `vkernel-adaptive-${id}`))).toBe(false);
      expect(leftovers(root, id, { cgroupDirs: cgroups })).toEqual([]);
    } finally {
      await vk(['--root', root, 'delete', '--force', id]);
    }
  }, 60000);

  test('per tick, a steady 50-task container costs the controller a few file opens, not one per task (strace of the controller for 3 s at 100 ms)', async () => {
    const bundle = await bundleFor(['sh', '-c', 'n=0; while [ $n -lt 49 ]; do sleep 60 & n=$((n+1)); done; exec sleep 60']);
    const root = tempRoot();
    const id = uid('adtick');
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    spec.annotations['io.vkernel.sched.adaptive.interval_ms'] = '100';
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const out = openSync(join(tmpdir(), `${id}.out`), 'w');
    expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
    try {
      expect((await vk(['--root', root, 'start', id])).exitCode).toBe(0);
      const ctl = (await waitState(root, id)).helpers.adaptive.pid;
      await waitFor(logOf(root, id), /started/, 5000);
      for (let i = 0; i < 50 && procsOf(id).length < 50; i++) await sleep(100);
      expect(procsOf(id).length).toBe(50);
      // and idle: the shell's 49 forks and execs take a while on a loaded host, and a tick that sees
      // their CPU (over cpu_high) rightly scans the tasks (once, in a CI run)
      const usage = () => BigInt(readFileSync(join('/sys/fs/cgroup/cpuacct', id, 'cpuacct.usage'), 'utf8').trim());
      let last = usage();
      expect(await until(() => { const now = usage(); const idle = now - last < 2_000_000n; last = now; return idle; }, 10_000, 300)).toBe(true);
      const trace = join(tmpdir(), `${id}.strace`);
      await execa('timeout', ['-s', 'INT', '3', 'strace', '-f', '-qq', '-e', 'trace=openat,open', '-o', trace, '-p', String(ctl)], { reject: false });
      const opens = readFileSync(trace, 'utf8').split('\n').filter((l) => /open/.test(l));
      const perTask = opens.filter((l) => /\/proc\/\d+\/(status|stat|sched)"/.test(l) && !l.includes(`/proc/${JSON.parse(readFileSync(join(root, `vkernel@${id}.json`), 'utf8')).pid}/`));
      const ticks = opens.filter((l) => l.includes('cpuacct.usage')).length;
      console.log(`controller opens in 3 s at 100 ms: ${opens.length} (${ticks} ticks), per-task reads: ${perTask.length}`);
      expect(ticks).toBeGreaterThanOrEqual(5);
      expect(perTask).toEqual([]);
      expect(opens.length).toBeLessThanOrEqual(ticks * 4);
      expect(alive(ctl)).toBe(true);
    } finally {
      await vk(['--root', root, 'delete', '--force', id]);
    }
    expect(leftovers(root, id)).toEqual([]);
  }, 60000);

  test('the controller starts one interval after the container: until then a small waiting process (the client, not the engine) holds its place, and a container deleted sooner never runs one', async () => {
    const bundle = await bundleFor(['sleep', '60']);
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    spec.annotations['io.vkernel.sched.adaptive.interval_ms'] = '3000';
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const root = tempRoot();
    const exe = (pid: number) => readlinkSync(`/proc/${pid}/exe`).split('/').pop();
    for (const [id, deleteAt] of [[uid('adlate'), undefined], [uid('adsoon'), 500]] as const) {
      const out = openSync(join(tmpdir(), `${id}.out`), 'w');
      expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
      try {
        const t0 = Date.now();
        expect((await vk(['--root', root, 'start', id])).exitCode).toBe(0);
        const ctl = (await waitState(root, id)).helpers.adaptive.pid;
        expect(exe(ctl)).toBe('vkernel-client');
        expect(readFileSync(`/proc/${ctl}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['--after', '3000', 'vkernel-adaptive', id]));
        if (deleteAt !== undefined) {
          await sleep(deleteAt);
          expect(exe(ctl)).toBe('vkernel-client');
          expect((await vk(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
          expect(alive(ctl)).toBe(false);
          await sleep(3000);
          expect(existsSync(logOf(root, id))).toBe(false);
          expect(existsSync(join(CPU, `vkernel-adaptive-${id}`))).toBe(false);
        } else {
          await waitFor(logOf(root, id), /started/, 10000);
          expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
          // the same process, now the engine's controller
          expect(exe(ctl)).toBe('vkernel-engine');
          expect(cpuLine(ctl)).toBe(`/vkernel-adaptive-${id}`);
        }
      } finally {
        await vk(['--root', root, 'delete', '--force', id]);
      }
      expect(leftovers(root, id)).toEqual([]);
    }
  }, 60000);

  test('the controller exits by itself when the container\'s init is gone (pid and start time), and removes its group', async () => {
    const bundle = await bundleFor(['sleep', '60']);
    const root = tempRoot();
    const id = uid('adgone');
    const out = openSync(join(tmpdir(), `${id}.out`), 'w');
    expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
    try {
      expect((await vk(['--root', root, 'start', id])).exitCode).toBe(0);
      const ctl = (await waitState(root, id)).helpers.adaptive.pid;
      await waitFor(logOf(root, id), /started/, 5000);
      expect(alive(ctl)).toBe(true);
      // the container stops; runc keeps it (and its cgroup) until delete
      expect((await runc(['--root', root, 'kill', id, 'KILL'])).exitCode).toBe(0);
      for (let i = 0; i < 50 && alive(ctl); i++) await sleep(100);
      expect(alive(ctl)).toBe(false);
      expect(text(logOf(root, id))).toMatch(/container init \d+ gone, exiting/);
      expect(existsSync(join(CPU, `vkernel-adaptive-${id}`))).toBe(false);
    } finally {
      await vk(['--root', root, 'delete', '--force', id]);
    }
    expect(leftovers(root, id)).toEqual([]);
  }, 60000);

  test('the controller exits when the container\'s init has ended but is not reaped (a zombie: same pid and start time)', async () => {
    const bundle = await bundleFor(['sleep', '60']);
    const root = tempRoot();
    const id = uid('adzombie');
    const out = join(tmpdir(), `${id}.out`);
    // create and start under a child subreaper that waits only for them: the init, orphaned when
    // runc ends, is its child, and once killed stays a zombie until the subreaper ends
    const holder = execa('perl', ['-e', [
      PERL_SUBREAPER,
      'open(STDOUT, ">", $ARGV[0]) or die; open(STDERR, ">&", STDOUT) or die; open(STDIN, "<", "/dev/null") or die;',
      'for my $cmd ("create", "start") { my @a = ("--root", $ARGV[1], $cmd); push @a, ("--bundle", $ARGV[3]) if $cmd eq "create"; system($ARGV[2], @a, $ARGV[4]) == 0 or die "$cmd failed"; }',
      'open(my $ok, ">", "$ARGV[0].ok") or die; close($ok); sleep 60;',
    ].join(' '), out, root, RUNTIME, bundle, id], { reject: false });
    try {
      expect(await until(() => existsSync(`${out}.ok`) || holder.exitCode !== null, 20000)).toBe(true);
      expect(existsSync(`${out}.ok`)).toBe(true);
      const st = await waitState(root, id);
      const init = st.pid;
      const ctl = st.helpers.adaptive.pid;
      await waitFor(logOf(root, id), /started/, 5000);
      // (the premise: the init's parent is the subreaper, which does not wait for it)
      expect(readFileSync(`/proc/${init}/status`, 'utf8')).toMatch(new RegExp(`^PPid:\\s+${holder.pid}$`, 'm'));
      expect((await runc(['--root', root, 'kill', id, 'KILL'])).exitCode).toBe(0);
      expect(await until(() => /\) Z /.test(readFileSync(`/proc/${init}/stat`, 'utf8')), 5000)).toBe(true);
      for (let i = 0; i < 50 && alive(ctl); i++) await sleep(100);
      expect(alive(ctl)).toBe(false);
      expect(text(logOf(root, id))).toMatch(new RegExp(`container init ${init} gone, exiting`));
      expect(existsSync(join(CPU, `vkernel-adaptive-${id}`))).toBe(false);
      // the zombie is still there: the controller went by its state, not by its /proc entry
      expect(existsSync(`/proc/${init}`)).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await holder;
      await vk(['--root', root, 'delete', '--force', id]);
    }
    expect(leftovers(root, id)).toEqual([]);
  }, 60000);

  test('under `run` (foreground): the poststart hook starts the controller, which switches the running container; it goes when run ends', async () => {
    const bundle = await bundleFor(busyUntilUsr1());
    const root = tempRoot();
    const id = uid('adrun');
    const running = vk(['--root', root, 'run', '--bundle', bundle, id], { stdin: 'ignore' });
    try {
      const state = await waitState(root, id);
      const ctl = state.helpers.adaptive.pid;
      const log = logOf(root, id);
      await waitFor(log, /cfs -> fifo/, 10000);
      expect(schedPolicyOf(state.pid)).toBe(1);
      expect((await runc(['--root', root, 'kill', id, 'USR1'])).exitCode).toBe(0);
      await waitFor(log, /fifo -> cfs/, 10000);
      expect(schedPolicyOf(state.pid)).toBe(0);
      expect((await runc(['--root', root, 'kill', id, 'KILL'])).exitCode).toBe(0);
      const r = await running;
      expect(r.exitCode).toBe(137);
      await sleep(300);
      expect(alive(ctl)).toBe(false);
      expect(leftovers(root, id)).toEqual([]);
      expect(existsSync(join(CPU, `vkernel-adaptive-${id}`))).toBe(false);
    } finally {
      await runc(['--root', root, 'delete', '--force', id]);
      await running;
    }
  }, 60000);

  test('under the OCI hook (runc with createRuntime/poststop hooks calling `vkernel-runtime oci-hook`, as podman\'s hooks.d): the controller finds its state, switches, and runc delete stops it', async () => {
    const hook = (stage: string) => [{ path: RUNTIME, args: ['vkernel-runtime', 'oci-hook', stage] }];
    const bundle = await bundleFor(busyUntilUsr1(), { createRuntime: hook('createRuntime'), poststop: hook('poststop') });
    const root = tempRoot();
    const id = uid('adhook');
    const out = openSync(join(tmpdir(), `${id}.out`), 'w');
    // plain runc: vkernel-runtime is only the hook
    const created = await runc(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out });
    expect({ code: created.exitCode, out: readFileSync(join(tmpdir(), `${id}.out`), 'utf8') }).toEqual({ code: 0, out: '' });
    try {
      expect((await runc(['--root', root, 'start', id])).exitCode).toBe(0);
      const state = await waitState(HOOK_ROOT, id);
      const ctl = state.helpers.adaptive.pid;
      const log = logOf(HOOK_ROOT, id);
      await waitFor(log, /cfs -> fifo/, 10000);
      expect(schedPolicyOf(state.pid)).toBe(1);
      expect((await runc(['--root', root, 'kill', id, 'USR1'])).exitCode).toBe(0);
      await waitFor(log, /fifo -> cfs/, 10000);
      expect(schedPolicyOf(state.pid)).toBe(0);
      const cgroups = cgroupDirsOf(state.pid);
      expect((await runc(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
      await sleep(300);
      expect(alive(ctl)).toBe(false);
      expect(existsSync(join(CPU, `vkernel-adaptive-${id}`))).toBe(false);
      expect(leftovers(HOOK_ROOT, id, { cgroupDirs: cgroups })).toEqual([]);
    } finally {
      await runc(['--root', root, 'delete', '--force', id]);
    }
  }, 60000);
});
