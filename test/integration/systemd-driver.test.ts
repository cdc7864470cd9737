import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
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

needs(SYSTEMD, RT_GROUPS).describe('systemd cgroup driver with a real systemd', () => {
  let sd: SystemdSandbox;
  beforeAll(async () => {
    requireRoot();
    sd = await SystemdSandbox.start();
  }, 30_000);
  afterAll(async () => { await sd?.stop(); }, 30_000);

  /**
   * the runtime (or runc) inside the sandbox, with the driver flag and a root of the test's; its
   * output (and the container's, which inherits it) goes to a file, as a pipe would be held open
   */
  const inside = async (root: string, args: string[], file = RUNTIME) => {
    const out = join(root, `out-${outs++}`);
    const fd = openSync(out, 'w');
    try {
      const r = await sd.exec([file, '--systemd-cgroup', '--root', root, ...args], { stdin: 'ignore', stdout: fd, stderr: fd });
      return { exitCode: r.exitCode, out: readFileSync(out, 'utf8') };
    } finally {
      closeSync(fd);
      rmSync(out);
    }
  };
  let outs = 0;
  const initPid = async (root: string, id: string) => {
    const r = await sd.exec(['runc', '--root', root, 'state', id]);
    return (JSON.parse(r.stdout) as { pid: number }).pid;
  };
  /** a task's scheduling policy inside the sandbox (0 = SCHED_OTHER, 1 = SCHED_FIFO) */
  const policyOf = async (pid: number) => Number(/^policy\s*:\s*(\d+)/m.exec((await sd.exec(['cat', `/proc/${pid}/sched`])).stdout)?.[1]);
  const unit = async (name: string) => {
    const r = await sd.exec(['systemctl', 'show', '-p', 'ActiveState,ControlGroup', name]);
    return Object.fromEntries(r.stdout.split('\n').map((l) => l.split('=') as [string, string]));
  };

  test('control: runc alone makes the container a transient scope of this systemd', async () => {
    const id = uid('sdc');
    const root = tempRoot();
    const bundle = await makeBundle({ args: ['sleep', '60'], cgroupsPath: `system.slice:vk:${id}` });
    const r = await inside(root, ['run', '-d', '--bundle', bundle, id], 'runc');
    expect(r.out).toBe('');
    try {
      const pid = await initPid(root, id);
      expect((await sd.exec(['cat', `/proc/${pid}/cgroup`])).stdout).toMatch(new RegExp(`^\\d+:cpu:/system\\.slice/vk-${id}\\.scope$`, 'm'));
      expect(await unit(`vk-${id}.scope`)).toMatchObject({ ActiveState: 'active', ControlGroup: `/system.slice/vk-${id}.scope` });
    } finally {
      await inside(root, ['delete', '--force', id], 'runc');
    }
  }, 60_000);

  test('fifo: the RT budget on systemd\'s scope and slice, the task SCHED_FIFO; delete gives it all back', async () => {
    const id = uid('sdf');
    const root = tempRoot();
    const scope = `/system.slice/vk-${id}.scope`;
    const bundle = await makeBundle({ args: ['sleep', '60'], cgroupsPath: `system.slice:vk:${id}`, annotations: { 'io.vkernel.sched.policy': 'fifo' } });
    const slice = sd.hostDir(CPU, '/system.slice/cpu.rt_runtime_us');
    const before = read(slice);
    const c = await inside(root, ['create', '--bundle', bundle, id]);
    expect(c.out).toBe('');
    expect(c.exitCode).toBe(0);
    try {
      expect((await inside(root, ['start', id])).exitCode).toBe(0);
      const pid = await initPid(root, id);
      expect(await policyOf(pid)).toBe(1);
      expect(await unit(`vk-${id}.scope`)).toMatchObject({ ActiveState: 'active', ControlGroup: scope });
      const period = Number(read(sd.hostDir(CPU, `${scope}/cpu.rt_period_us`)));
      const budget = Number(read(sd.hostDir(CPU, `${scope}/cpu.rt_runtime_us`)));
      expect(budget).toBe(period / 4); // the default rt.budget_percent, 25
      expect(Number(read(slice))).toBeGreaterThanOrEqual(budget);
    } finally {
      const d = await inside(root, ['delete', '--force', id]);
      expect(d.out).toBe('');
    }
    expect(await unit(`vk-${id}.scope`)).toMatchObject({ ActiveState: 'inactive' });
    expect(existsSync(sd.hostDir(CPU, scope))).toBe(false);
    expect(read(slice)).toBe(before);
    expect(existsSync(join(root, id))).toBe(false);
  }, 60_000);

  test('adaptive: the controller\'s own group beside systemd\'s scope, gone with the container', async () => {
    const id = uid('sda');
    const root = tempRoot();
    const bundle = await makeBundle({ args: ['sleep', '60'], cgroupsPath: `system.slice:vk:${id}`, annotations: { 'io.vkernel.sched.policy': 'adaptive' } });
    const controller = sd.hostDir(CPU, `/system.slice/vkernel-adaptive-${id}`);
    expect((await inside(root, ['create', '--bundle', bundle, id])).out).toBe('');
    try {
      expect((await inside(root, ['start', id])).exitCode).toBe(0);
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
      expect((await inside(root, ['delete', '--force', id])).out).toBe('');
    }
    expect(existsSync(controller)).toBe(false);
    expect(existsSync(sd.hostDir(CPU, `/system.slice/vk-${id}.scope`))).toBe(false);
  }, 60_000);
});
