import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Containerd, Dockerd, Podman, stateName, vkernelFiles } from '../helpers/engines.js';
import { busyboxRootfs, requireRoot, RUNTIME, serverSockets, uid, vk } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * The real engines (Debian's dockerd 20.10, containerd 1.6, podman 4.3) driving vkernel-runtime as
 * their runtime, each started by the test with private state and stopped at the end.
 */
const CPU = '/sys/fs/cgroup/cpu';
const POLICY = 'grep ^policy /proc/self/sched';

/**
 * the engine servers whose environment names `trace` (VKERNEL_ENGINE_TRACE): those a test's calls
 * started (a server's environment is its first caller's), and which it stops
 */
const serversTracing = (trace: string): number[] => [...serverSockets().keys()].filter((pid) => {
  try { return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`VKERNEL_ENGINE_TRACE=${trace}`); } catch { return false; }
});
/** the ways a trace's calls went, a served one's times left out */
const ways = (trace: string): string[] => readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => l.replace(/^served: .*/, 'served'));
/** a server's socket in the socket directory `dir` (one per kind of caller: client/vkernel-client.c default_socket) */
const socketIn = (dir: string) => expect.stringMatching(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}engine-[0-9a-f]{16}\\.sock$`));
/** a server on the default socket of some kind of caller */
const DEFAULT_SOCKET = socketIn('/run/vkernel-runtime/');

beforeAll(requireRoot);

describe('dockerd', () => {
  const d = new Dockerd();
  // the way each create with a request went (client/vkernel-client.c VKERNEL_ENGINE_TRACE)
  const trace = join(d.dir, 'engine-trace');
  beforeAll(async () => {
    // registered the way a user does it: `vkernel-runtime install docker` on the daemon's config
    d.writeConfig({});
    for (const extra of [[], ['--name', 'vkernel-fifo', '--set', 'sched.policy=fifo']]) {
      const r = await vk(['install', 'docker', '--config-path', d.config, '--runtime-path', RUNTIME, ...extra]);
      if (r.exitCode !== 0) throw new Error(`install docker: ${r.stderr}`);
    }
    await d.start({ VKERNEL_ENGINE_TRACE: trace });
    await d.importBusybox();
  }, 90000);
  afterAll(async () => {
    await d.stop();
    for (const pid of serversTracing(trace)) process.kill(pid, 'SIGTERM');
  }, 60000);

  test('its creates with a request are served by the engine server (the first one\'s caller starts it), on the default socket of its kind of caller', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await d.docker(['run', '--rm', '--network', 'none', '--runtime=vkernel-runtime', '-e', 'VKERNEL_SCHED_POLICY=cfs', 'vk/busybox', 'true']);
      expect([r.exitCode, r.stderr]).toEqual([0, '']);
    }
    expect(ways(trace).slice(-2)).toEqual(['served', 'served']);
    // (its server: on the socket of its kind of caller in the test run's directory, which dockerd's
    // environment names, test/global/tmp.cjs; without one, in /run/vkernel-runtime/)
    const dir = process.env.VKERNEL_ENGINE_SOCKET ?? '/run/vkernel-runtime/';
    expect(dir.endsWith('/')).toBe(true);
    expect([...serverSockets().values()]).toContainEqual(socketIn(dir));
  }, 60000);

  needs(RT_GROUPS).test('docker run --runtime=vkernel-runtime -e VKERNEL_SCHED_POLICY=fifo applies the policy; --rm leaves nothing', async () => {
    const r = await d.docker(['run', '--rm', '--network', 'none', '--runtime=vkernel-runtime', '-e', 'VKERNEL_SCHED_POLICY=fifo', 'vk/busybox', 'sh', '-c', POLICY]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^policy\s*:\s*1$/);
    expect(vkernelFiles(d.runtimeRoot)).toEqual([]);
    // the /docker parent's RT budget was raised for the container; its delete went straight to runc,
    // and the RT ledger's next operation (gc here) returns it once the kernel has freed the group
    const dockerBudget = () => Number(readFileSync(join(CPU, 'docker/cpu.rt_runtime_us'), 'utf8'));
    for (let i = 0; i < 30 && dockerBudget() !== 0; i++) {
      const gc = await vk(['gc', '--root', d.runtimeRoot]);
      expect([gc.exitCode, gc.stdout.split('\n').filter((l) => l.startsWith('failed'))]).toEqual([0, []]);
      if (dockerBudget() !== 0) await new Promise((res) => setTimeout(res, 500));
    }
    expect(dockerBudget()).toBe(0);
  }, 60000);

  needs(RT_GROUPS).test('a runtime registered with --set (vkernel-fifo) applies its policy to every container', async () => {
    const r = await d.docker(['run', '--rm', '--network', 'none', '--runtime=vkernel-fifo', 'vk/busybox', 'sh', '-c', POLICY]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^policy\s*:\s*1$/);
  }, 60000);

  test('without a request the container runs exactly as under runc', async () => {
    const ours = await d.docker(['run', '--rm', '--network', 'none', '--runtime=vkernel-runtime', 'vk/busybox', 'sh', '-c', `echo hi; ${POLICY}; exit 4`]);
    const theirs = await d.docker(['run', '--rm', '--network', 'none', 'vk/busybox', 'sh', '-c', `echo hi; ${POLICY}; exit 4`]);
    expect([ours.exitCode, ours.stdout]).toEqual([theirs.exitCode, theirs.stdout]);
    expect(ours.exitCode).toBe(4);
  }, 60000);

  test('a bad value shows our message in docker\'s output and creates nothing', async () => {
    const name = uid('bad');
    const r = await d.docker(['run', '--name', name, '--network', 'none', '--runtime=vkernel-runtime', '-e', 'VKERNEL_SCHED_POLICY=fast', 'vk/busybox', 'true']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('OCI runtime create failed: io.vkernel.sched.policy: "fast" is not one of cfs, fifo, adaptive (from env VKERNEL_SCHED_POLICY)');
    expect(vkernelFiles(d.runtimeRoot)).toEqual([]);
    await d.docker(['rm', '-f', name]);
  }, 60000);

  test('docker exec, stop and kill work through the runtime (with a policy)', async () => {
    const name = uid('life');
    const run = await d.docker(['run', '-d', '--name', name, '--network', 'none', '--runtime=vkernel-runtime', '-e', 'VKERNEL_SCHED_POLICY=cfs',
      'vk/busybox', 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done']);
    expect(run.exitCode).toBe(0);
    const id = run.stdout.trim();
    // a cfs container's state is handed to runc's container directory (StateStore.handToRunc)
    expect(vkernelFiles(d.runtimeRoot)).toEqual([`${id}/vkernel.json`]);
    const ex = await d.docker(['exec', name, 'sh', '-c', 'echo from-exec']);
    expect(ex.stdout).toBe('from-exec');
    expect((await d.docker(['stop', '-t', '5', name])).exitCode).toBe(0);
    expect((await d.docker(['inspect', '-f', '{{.State.ExitCode}}', name])).stdout).toBe('0');
    expect((await d.docker(['start', name])).exitCode).toBe(0);
    expect((await d.docker(['kill', name])).exitCode).toBe(0);
    expect((await d.docker(['inspect', '-f', '{{.State.Running}}', name])).stdout).toBe('false');
    expect((await d.docker(['rm', name])).exitCode).toBe(0);
    expect(vkernelFiles(d.runtimeRoot)).toEqual([]);
  }, 90000);

  test('docker run -it gets a terminal (node-pty)', async () => {
    const pty = await import('node-pty');
    const p = pty.spawn('/usr/bin/docker', ['-H', `unix://${d.sock}`, 'run', '--rm', '-it', '--network', 'none', '--runtime=vkernel-runtime',
      '-e', 'VKERNEL_SCHED_POLICY=cfs', 'vk/busybox', 'sh', '-c', 'tty; read l; echo "got:$l"'], { cols: 80, rows: 24 });
    let out = '';
    let sent = false;
    p.onData((s) => {
      out += s;
      if (!sent && /\/dev\/pts\/\d+/.test(out)) { sent = true; p.write('hello\r'); }
    });
    const code = await new Promise<number>((r) => p.onExit((e) => r(e.exitCode)));
    expect(out).toMatch(/\/dev\/pts\/\d+/);
    expect(out).toContain('got:hello');
    expect(code).toBe(0);
  }, 60000);
});

describe('containerd', () => {
  const c = new Containerd();
  beforeAll(() => c.start(), 60000);
  afterAll(() => c.stop(), 30000);

  needs(RT_GROUPS).test('ctr run --runc-binary vkernel-runtime --annotation io.vkernel.sched.policy=fifo applies it', async () => {
    const id = uid('ctr');
    const r = await c.ctr(['run', '--rm', '--runc-binary', RUNTIME, '--annotation', 'io.vkernel.sched.policy=fifo', '--rootfs', busyboxRootfs(), id, '/bin/sh', '-c', POLICY]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^policy\s*:\s*1$/);
    expect(vkernelFiles(c.runtimeRoot())).toEqual([]);
  }, 60000);

  test('a bad annotation fails the task with our message', async () => {
    const id = uid('ctrbad');
    const r = await c.ctr(['run', '--rm', '--runc-binary', RUNTIME, '--annotation', 'io.vkernel.mm.thp=sometimes', '--rootfs', busyboxRootfs(), id, '/bin/true']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('OCI runtime create failed: io.vkernel.mm.thp: "sometimes" is not one of always, madvise, never (from annotation)');
    await c.ctr(['container', 'rm', id]);
  }, 60000);

  test('ctr task exec, kill and delete work through the runtime', async () => {
    const id = uid('ctrlife');
    const r = await c.ctr(['run', '-d', '--runc-binary', RUNTIME, '--annotation', 'io.vkernel.sched.policy=cfs', '--rootfs', busyboxRootfs(), id,
      '/bin/sh', '-c', 'while true; do sleep 0.1; done']);
    expect(r.exitCode).toBe(0);
    expect(vkernelFiles(c.runtimeRoot())).toContain(stateName(c.runtimeRoot(), id));
    const ex = await c.ctr(['task', 'exec', '--exec-id', 'e1', id, '/bin/echo', 'from-exec']);
    expect(ex.stdout).toBe('from-exec');
    expect((await c.ctr(['task', 'kill', '-s', 'SIGKILL', id])).exitCode).toBe(0);
    for (let i = 0; i < 50; i++) {
      if ((await c.ctr(['task', 'ls'])).stdout.includes('STOPPED')) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect((await c.ctr(['task', 'delete', id])).exitCode).toBe(0);
    expect((await c.ctr(['container', 'rm', id])).exitCode).toBe(0);
    expect(stateName(c.runtimeRoot(), id)).toBeUndefined();
  }, 60000);
});

describe('podman --runtime', () => {
  const p = new Podman(['--runtime', RUNTIME]);
  const trace = join(p.dir, 'engine-trace');
  afterAll(async () => {
    await p.cleanup();
    for (const pid of serversTracing(trace)) process.kill(pid, 'SIGTERM');
  });

  test('its creates with a request are served by the engine server (conmon, podman\'s child, is the caller)', async () => {
    // podman gives conmon, and so the runtime, the environment containers.conf names (not its own)
    const conf = join(p.dir, 'containers.conf');
    writeFileSync(conf, `[engine]\nconmon_env_vars = ${JSON.stringify(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `VKERNEL_ENGINE_TRACE=${trace}`])}\n`);
    for (let i = 0; i < 3; i++) {
      const r = await p.podman(['run', '--rm', ...Podman.RUN, '--annotation', 'io.vkernel.sched.policy=cfs', '--rootfs', busyboxRootfs(), 'true'], { env: { CONTAINERS_CONF: conf } });
      expect([r.exitCode, r.stderr]).toEqual([0, '']);
    }
    expect(ways(trace).slice(-2)).toEqual(['served', 'served']);
    // (no VKERNEL_ENGINE_SOCKET there: the default one of its kind of caller)
    expect([...serverSockets().values()]).toContainEqual(DEFAULT_SOCKET);
  }, 90000);

  needs(RT_GROUPS).test('--annotation io.vkernel.sched.policy=fifo applies it; --rm leaves nothing', async () => {
    const r = await p.podman(['run', '--rm', ...Podman.RUN, '--annotation', 'io.vkernel.sched.policy=fifo', '--rootfs', busyboxRootfs(), 'sh', '-c', POLICY]);
    expect(r.stdout).toMatch(/^policy\s*:\s*1$/);
    expect(r.exitCode).toBe(0);
  }, 60000);

  test('a bad annotation fails with our message', async () => {
    const r = await p.podman(['run', '--rm', ...Podman.RUN, '--annotation', 'io.vkernel.backend=ebpf', '--rootfs', busyboxRootfs(), 'true']);
    expect(r.exitCode).not.toBe(0);
    // podman passes --log only to a binary named runc: our text-format line reaches its stderr
    expect(r.stderr).toContain(`level=error msg=${JSON.stringify('io.vkernel.backend: "ebpf" is not one of auto, kernel, rt, scx (from annotation)')}`);
  }, 60000);
});

describe('podman with runc and our OCI hooks (hooks.d written by `install podman`)', () => {
  const hooks = mkdtempSync(join(tmpdir(), 'vk-hooks-'));
  const p = new Podman(['--runtime', '/usr/sbin/runc', '--hooks-dir', hooks]);
  const trace = join(hooks, 'engine-trace.log');
  beforeAll(async () => {
    const r = await vk(['install', 'podman', '--config-path', hooks, '--runtime-path', RUNTIME]);
    if (r.exitCode !== 0) throw new Error(`install podman: ${r.stderr}`);
    // runc runs a hook with the environment its hooks.d file gives (none): ours, with a trace of
    // the way each hook call went (client/vkernel-client.c VKERNEL_ENGINE_TRACE)
    for (const f of readdirSync(hooks).filter((n) => n.endsWith('.json'))) {
      const doc = JSON.parse(readFileSync(join(hooks, f), 'utf8'));
      doc.hook.env = [`VKERNEL_ENGINE_TRACE=${trace}`];
      writeFileSync(join(hooks, f), JSON.stringify(doc));
    }
  }, 60000); // an admin command under node: seconds on a loaded host (jest's 5 s default failed CI)
  afterAll(async () => {
    await p.cleanup();
    for (const pid of serversTracing(trace)) process.kill(pid, 'SIGTERM');
  });

  test('the hooks are served by the engine server (the first call\'s hook starts it), on the default socket of their kind of caller', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await p.podman(['run', '--rm', ...Podman.RUN, '--annotation', 'io.vkernel.sched.policy=cfs', '--rootfs', busyboxRootfs(), 'true']);
      expect(r.exitCode).toBe(0);
    }
    // createRuntime and poststop of each run
    expect(ways(trace)).toHaveLength(6);
    expect(ways(trace).slice(-4)).toEqual(['served', 'served', 'served', 'served']);
    expect([...serverSockets().values()]).toContainEqual(DEFAULT_SOCKET);
    expect(vkernelFiles('/run/vkernel-runtime/hooks')).toEqual([]);
  }, 90000);

  needs(RT_GROUPS).test('--annotation io.vkernel.sched.policy=fifo is applied by the createRuntime hook; poststop cleans up', async () => {
    const r = await p.podman(['run', '--rm', ...Podman.RUN, '--annotation', 'io.vkernel.sched.policy=fifo', '--rootfs', busyboxRootfs(), 'sh', '-c', POLICY]);
    expect(r.stdout).toMatch(/^policy\s*:\s*1$/);
    expect(r.exitCode).toBe(0);
    expect(vkernelFiles('/run/vkernel-runtime/hooks')).toEqual([]);
  }, 60000);

  test('without a vkernel annotation the hook is not even called', async () => {
    const r = await p.podman(['run', '--rm', ...Podman.RUN, '--rootfs', busyboxRootfs(), 'sh', '-c', POLICY]);
    expect(r.stdout).toMatch(/^policy\s*:\s*0$/);
  }, 60000);

  test('a bad annotation fails the container through the hook with our message', async () => {
    const r = await p.podman(['run', '--rm', ...Podman.RUN, '--annotation', 'io.vkernel.sched.policy=fast', '--rootfs', busyboxRootfs(), 'true']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('io.vkernel.sched.policy: \\"fast\\" is not one of cfs, fifo, adaptive (from annotation)');
  }, 60000);
});
