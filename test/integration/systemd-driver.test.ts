import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineServers, makeBundle, requireRoot, RUNTIME, tempRoot, uid, until } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';
import { SYSTEMD, SystemdSandbox } from '../helpers/systemd.js';

/**
 * The systemd cgroup driver end to end (issue 13): runc's `--systemd-cgroup` with a real systemd
 * (test/helpers/systemd.ts: this host's PID 1 is not systemd, so one runs as PID 1 of a sandbox),
 * containers named `slice:prefix:name`, which runc turns into transient scopes through systemd's
 * bus. The runtime has to find the container's group where systemd put it
 * (`/system.slice/<prefix>-<name>.scope`), apply the request there and leave nothing behind at delete.
 */
const CPU = '/sys/fs/cgroup/cpu';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const read = (f: string) => readFileSync(f, 'utf8').trim();

/**
 * the runtime (or runc) inside the sandbox, with the driver flag and a root of the test's; its
 * output (and the container's, which inherits it) goes to a file, as a pipe would be held open
 */
let outs = 0;
async function inside(sd: SystemdSandbox, root: string, args: string[], file = RUNTIME, before: string[] = []) {
  const out = join(root, `out-${outs++}`);
  const fd = openSync(out, 'w');
  try {
    const r = await sd.exec([...before, file, '--systemd-cgroup', '--root', root, ...args], { stdin: 'ignore', stdout: fd, stderr: fd });
    return { exitCode: r.exitCode, out: readFileSync(out, 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(out);
  }
}
async function initPid(sd: SystemdSandbox, root: string, id: string) {
  const r = await sd.exec(['runc', '--root', root, 'state', id]);
  return (JSON.parse(r.stdout) as { pid: number }).pid;
}
/** a task's scheduling policy inside the sandbox (0 = SCHED_OTHER, 1 = SCHED_FIFO) */
const policyOf = async (sd: SystemdSandbox, pid: number) => Number(/^policy\s*:\s*(\d+)/m.exec((await sd.exec(['cat', `/proc/${pid}/sched`])).stdout)?.[1]);
async function unit(sd: SystemdSandbox, name: string) {
  const r = await sd.exec(['systemctl', 'show', '-p', 'ActiveState,ControlGroup', name]);
  return Object.fromEntries(r.stdout.split('\n').map((l) => l.split('=') as [string, string]));
}

needs(SYSTEMD, RT_GROUPS).describe('systemd cgroup driver with a real systemd', () => {
  let sd: SystemdSandbox;
  beforeAll(async () => {
    requireRoot();
    sd = await SystemdSandbox.start();
  }, 30_000);
  afterAll(async () => { await sd?.stop(); }, 30_000);

  test('control: runc alone makes the container a transient scope of this systemd', async () => {
    const id = uid('sdc');
    const root = tempRoot();
    const bundle = await makeBundle({ args: ['sleep', '60'], cgroupsPath: `system.slice:vk:${id}` });
    const r = await inside(sd, root, ['run', '-d', '--bundle', bundle, id], 'runc');
    expect(r.out).toBe('');
    try {
      const pid = await initPid(sd, root, id);
      expect((await sd.exec(['cat', `/proc/${pid}/cgroup`])).stdout).toMatch(new RegExp(`^\\d+:cpu:/system\\.slice/vk-${id}\\.scope$`, 'm'));
      expect(await unit(sd, `vk-${id}.scope`)).toMatchObject({ ActiveState: 'active', ControlGroup: `/system.slice/vk-${id}.scope` });
    } finally {
      await inside(sd, root, ['delete', '--force', id], 'runc');
    }
  }, 60_000);

  test('fifo: the RT budget on systemd\'s scope and slice, the task SCHED_FIFO; delete gives it all back', async () => {
    const id = uid('sdf');
    const root = tempRoot();
    const scope = `/system.slice/vk-${id}.scope`;
    const bundle = await makeBundle({ args: ['sleep', '60'], cgroupsPath: `system.slice:vk:${id}`, annotations: { 'io.vkernel.sched.policy': 'fifo' } });
    const slice = sd.hostDir(CPU, '/system.slice/cpu.rt_runtime_us');
    const before = read(slice);
    const c = await inside(sd, root, ['create', '--bundle', bundle, id]);
    expect(c.out).toBe('');
    expect(c.exitCode).toBe(0);
    try {
      expect((await inside(sd, root, ['start', id])).exitCode).toBe(0);
      const pid = await initPid(sd, root, id);
      expect(await policyOf(sd, pid)).toBe(1);
      expect(await unit(sd, `vk-${id}.scope`)).toMatchObject({ ActiveState: 'active', ControlGroup: scope });
      const period = Number(read(sd.hostDir(CPU, `${scope}/cpu.rt_period_us`)));
      const budget = Number(read(sd.hostDir(CPU, `${scope}/cpu.rt_runtime_us`)));
      expect(budget).toBe(period / 4); // the default rt.budget_percent, 25
      expect(Number(read(slice))).toBeGreaterThanOrEqual(budget);
    } finally {
      const d = await inside(sd, root, ['delete', '--force', id]);
      expect(d.out).toBe('');
    }
    expect(await unit(sd, `vk-${id}.scope`)).toMatchObject({ ActiveState: 'inactive' });
    expect(existsSync(sd.hostDir(CPU, scope))).toBe(false);
    expect(read(slice)).toBe(before);
    expect(existsSync(join(root, id))).toBe(false);
  }, 60_000);

  test('adaptive: the controller\'s own group beside systemd\'s scope, gone with the container', async () => {
    const id = uid('sda');
    const root = tempRoot();
    const bundle = await makeBundle({ args: ['sleep', '60'], cgroupsPath: `system.slice:vk:${id}`, annotations: { 'io.vkernel.sched.policy': 'adaptive' } });
    const controller = sd.hostDir(CPU, `/system.slice/vkernel-adaptive-${id}`);
    expect((await inside(sd, root, ['create', '--bundle', bundle, id])).out).toBe('');
    try {
      expect((await inside(sd, root, ['start', id])).exitCode).toBe(0);
      let procs = '';
      for (let t = 0; t < 50 && !procs; t++) {
        procs = existsSync(controller) ? read(join(controller, 'cgroup.procs')) : '';
        if (!procs) await sleep(100);
      }
      expect(procs).not.toBe('');
      const cmd = readFileSync(`/proc/${procs.split('\n')[0]}/cmdline`, 'utf8');
      expect(cmd).toContain('vkernel-adaptive');
      expect(cmd).toContain(id);
    } finally {
      expect((await inside(sd, root, ['delete', '--force', id])).out).toBe('');
    }
    expect(existsSync(controller)).toBe(false);
    expect(existsSync(sd.hostDir(CPU, `/system.slice/vk-${id}.scope`))).toBe(false);
  }, 60_000);

  /**
   * A create whose caller runs in a scope of its own (as podman runs conmon, the runtime's caller,
   * in one per container) starts the engine server (the engine serves that create itself); the
   * second create, from outside that scope, must be the server's. `check` gets the server's pid
   * and its groups (/proc/PID/cgroup, host paths) while both containers exist. `path`: PATH for
   * every call (the server compares the whole environment, so it is the same in each).
   */
  async function serverOfScopedCaller(check: (server: number, groups: string, caller: string) => Promise<void>, path = process.env.PATH ?? '') {
    const id = uid('sds');
    const root = tempRoot();
    const socket = `/run/vk-${id}/engine.sock`;
    const trace = join(root, 'trace');
    const env = ['env', `PATH=${path}`, `VKERNEL_ENGINE_SOCKET=${socket}`, `VKERNEL_ENGINE_TRACE=${trace}`];
    const caller = `vkcaller-${id}`;
    const bundle = (name: string) => makeBundle({ args: ['sleep', '60'], cgroupsPath: `system.slice:vk:${name}`, annotations: { 'io.vkernel.sched.policy': 'cfs' } });
    expect(await inside(sd, root, ['create', '--bundle', await bundle(id), id], RUNTIME, ['systemd-run', '--quiet', '--scope', '--unit', caller, ...env])).toEqual({ exitCode: 0, out: '' });
    await until(async () => engineServers(socket).length > 0 && (await sd.exec(['test', '-S', socket])).exitCode === 0, 10_000, 100);
    const servers = engineServers(socket);
    expect(servers).toHaveLength(1);
    const server = servers[0];
    try {
      expect(await inside(sd, root, ['create', '--bundle', await bundle(`${id}b`), `${id}b`], RUNTIME, env)).toEqual({ exitCode: 0, out: '' });
      expect(readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => l.split(':')[0])).toEqual(['engine', 'served']);
      await check(server, read(`/proc/${server}/cgroup`), caller);
    } finally {
      for (const c of [id, `${id}b`]) await inside(sd, root, ['delete', '--force', c], RUNTIME, env);
      process.kill(server, 'SIGTERM');
    }
    await until(() => engineServers(socket).length === 0, 5_000, 100);
    expect(engineServers(socket)).toEqual([]);
  }

  test('the engine server a create starts runs in a scope of its own, not in its caller\'s, which ends with the caller', async () => {
    await serverOfScopedCaller(async (server, groups, caller) => {
      const own = /:name=systemd:.*\/system\.slice\/(vkernel-runtime-engine-\d+)\.scope$/m.exec(groups)?.[1];
      expect({ own, groups }).toEqual({ own: expect.stringMatching(/^vkernel-runtime-engine-/), groups: expect.not.stringContaining(caller) });
      expect(await unit(sd, `${own}.scope`)).toMatchObject({ ActiveState: 'active', ControlGroup: `/system.slice/${own}.scope` });
      // nothing of ours keeps the caller's scope: it ends with the caller (systemd stops an empty scope on its own time)
      await until(async () => (await unit(sd, `${caller}.scope`)).ActiveState === 'inactive', 5_000, 100);
      expect(await unit(sd, `${caller}.scope`)).toMatchObject({ ActiveState: 'inactive' });
      expect(readFileSync(`/proc/${server}/cmdline`, 'utf8')).toContain('vkernel-serve');
    });
  }, 60_000);

  test('where systemd-run fails, the engine server starts at the top of each cgroup hierarchy it sees, out of its caller\'s scope, and serves', async () => {
    // a systemd-run that fails first in PATH (the client runs systemd-run by PATH, as any program)
    const bin = mkdtempSync(join(tmpdir(), 'vk-nosdrun-'));
    writeFileSync(join(bin, 'systemd-run'), '#!/bin/sh\necho "systemd-run: refused by the test" >&2\nexit 1\n', { mode: 0o755 });
    try {
      await serverOfScopedCaller(async (_server, groups, caller) => {
        // (the sandbox's root, in host paths: its group in each hierarchy, /vk-sd-<pid>-<n>)
        const top = sd.hostDir(CPU, '/').slice(CPU.length).replace(/\/$/, '');
        const lines = groups.split('\n').filter(Boolean);
        expect({ groups, caller: groups.includes(caller) }).toEqual({ groups: expect.stringContaining(`:name=systemd:${top}\n`), caller: false });
        expect(lines.filter((l) => !l.endsWith(`:${top}`))).toEqual([]);
      }, `${bin}:${process.env.PATH ?? ''}`);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * A cgroup v2 host as systemd, runc and the runtime see it (the sandbox mounts only the host's v2
 * hierarchy) on this kernel, which has RT group scheduling: cgroup v2 gives no group an RT budget,
 * so fifo is refused at create with the reason, and nothing is left: no scope, no group, no state.
 * (The rt v2 backend itself needs a kernel without RT group scheduling: the VM tier's stock kernel.)
 */
needs(SYSTEMD, RT_GROUPS).describe('systemd cgroup driver with a real systemd on cgroup v2', () => {
  let sd: SystemdSandbox;
  beforeAll(async () => {
    requireRoot();
    sd = await SystemdSandbox.start({ unified: true });
  }, 30_000);
  afterAll(async () => { await sd?.stop(); }, 30_000);

  test('fifo on a kernel with RT group scheduling: refused with the reason, nothing left', async () => {
    const id = uid('sdv');
    const root = tempRoot();
    const bundle = await makeBundle({ args: ['sleep', '60'], cgroupsPath: `system.slice:vk:${id}`, annotations: { 'io.vkernel.sched.policy': 'fifo' } });
    const c = await inside(sd, root, ['create', '--bundle', bundle, id]);
    expect(c.exitCode).not.toBe(0);
    expect(c.out).toContain('io.vkernel.sched.policy=fifo (from annotation): the kernel has RT group scheduling (CONFIG_RT_GROUP_SCHED) but cgroup v2 gives a group no RT budget');
    // a plain container goes through as with runc, in systemd's scope
    const plain = await makeBundle({ args: ['sleep', '60'], cgroupsPath: `system.slice:vk:${id}p` });
    expect((await inside(sd, root, ['run', '-d', '--bundle', plain, `${id}p`])).out).toBe('');
    try {
      const pid = await initPid(sd, root, `${id}p`);
      expect((await sd.exec(['cat', `/proc/${pid}/cgroup`])).stdout).toMatch(new RegExp(`^0::/system\\.slice/vk-${id}p\\.scope$`, 'm'));
    } finally {
      expect((await inside(sd, root, ['delete', '--force', `${id}p`])).out).toBe('');
    }
    for (const name of [id, `${id}p`]) {
      expect(await unit(sd, `vk-${name}.scope`)).toMatchObject({ ActiveState: 'inactive' });
      expect(existsSync(sd.hostDir('/sys/fs/cgroup', `/system.slice/vk-${name}.scope`))).toBe(false);
      expect(existsSync(join(root, name))).toBe(false);
    }
    expect(readdirSync(root)).toEqual([]);
  }, 60_000);
});
