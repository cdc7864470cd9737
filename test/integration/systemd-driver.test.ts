import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeBundle, requireRoot, RUNTIME, tempRoot, uid } from '../helpers/fixtures.js';
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
async function inside(sd: SystemdSandbox, root: string, args: string[], file = RUNTIME) {
  const out = join(root, `out-${outs++}`);
  const fd = openSync(out, 'w');
  try {
    const r = await sd.exec([file, '--systemd-cgroup', '--root', root, ...args], { stdin: 'ignore', stdout: fd, stderr: fd });
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
