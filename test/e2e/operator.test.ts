import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Containerd, Dockerd, vkernelFiles } from '../helpers/engines.js';
import { busyboxRootfs, requireRoot, RUNTIME, uid, vk } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';

/**
 * What a user of docker and ctr sees when the operator policy (config.yaml), the node RT cap or the
 * private-pid-namespace rule refuses a request: the runtime's message in the engine's error, and
 * nothing created. The engines are started with VKERNEL_RUNTIME_CONFIG (what /etc/vkernel-runtime/
 * config.yaml is on a node) and their own lock dir (their own RT ledger), which reach the runtime.
 */
const dir = mkdtempSync(join(tmpdir(), 'vk-op-e2e-'));
const CONFIG = join(dir, 'config.yaml');
const NOT_ALLOWED = `io.vkernel.sched.policy=adaptive (from env VKERNEL_SCHED_POLICY): not allowed on this node; allowed: cfs, fifo (keys.sched.policy.values in ${CONFIG})`;
const report = (what: string, text: string) => process.stdout.write(`${what}:\n  ${text.trim().split('\n').join('\n  ')}\n`);

beforeAll(() => {
  requireRoot();
  writeFileSync(CONFIG, 'keys:\n  sched.policy: {values: [cfs, fifo]}\nlimits:\n  rt_budget_percent: 50\nrt:\n  budget_percent: 25\n');
  process.env.VKERNEL_RUNTIME_CONFIG = CONFIG;
  process.env.VKERNEL_LOCK_DIR = join(dir, 'locks');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docker run', () => {
  const d = new Dockerd();
  beforeAll(async () => {
    d.writeConfig({});
    const r = await vk(['install', 'docker', '--config-path', d.config, '--runtime-path', RUNTIME]);
    if (r.exitCode !== 0) throw new Error(`install docker: ${r.stderr}`);
    await d.start();
    await d.importBusybox();
  }, 90000);
  afterAll(() => d.stop(), 60000);

  test('a value the operator does not allow', async () => {
    const name = uid('op');
    const r = await d.docker(['run', '--name', name, '--network', 'none', '--runtime=vkernel-runtime', '-e', 'VKERNEL_SCHED_POLICY=adaptive', 'vk/busybox', 'true']);
    report('docker run -e VKERNEL_SCHED_POLICY=adaptive', r.stderr);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`OCI runtime create failed: ${NOT_ALLOWED}`);
    expect(vkernelFiles(d.runtimeRoot)).toEqual([]);
    await d.docker(['rm', '-f', name]);
  }, 60000);

  test('per-namespace sysctls with --pid=host', async () => {
    const name = uid('pidns');
    const r = await d.docker(['run', '--name', name, '--pid=host', '--network', 'none', '--runtime=vkernel-runtime', '-e', 'VKERNEL_MM_THP=never', 'vk/busybox', 'true']);
    report('docker run --pid=host -e VKERNEL_MM_THP=never', r.stderr);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('OCI runtime create failed: io.vkernel.mm.thp=never: per-container kernel parameters apply to the container\'s own pid namespace, and it has no pid namespace of its own');
    expect(vkernelFiles(d.runtimeRoot)).toEqual([]);
    await d.docker(['rm', '-f', name]);
  }, 60000);

  needs(RT_GROUPS).test('the node RT cap: a third fifo container is refused while two hold 50 %', async () => {
    const names = [uid('rt'), uid('rt'), uid('rt')];
    for (const n of names.slice(0, 2)) {
      const r = await d.docker(['run', '-d', '--name', n, '--network', 'none', '--runtime=vkernel-runtime', '-e', 'VKERNEL_SCHED_POLICY=fifo', 'vk/busybox', 'sleep', '60']);
      expect(r.stderr).toBe('');
    }
    const r = await d.docker(['run', '--name', names[2], '--network', 'none', '--runtime=vkernel-runtime', '-e', 'VKERNEL_SCHED_POLICY=fifo', 'vk/busybox', 'true']);
    report('docker run -e VKERNEL_SCHED_POLICY=fifo (third)', r.stderr);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`OCI runtime create failed: io.vkernel.sched.policy=fifo: node RT budget 50 % in use (2 containers), limit 50 % (limits.rt_budget_percent in ${CONFIG})`);
    for (const n of names) await d.docker(['rm', '-f', n]);
    expect(vkernelFiles(d.runtimeRoot)).toEqual([]);
  }, 90000);
});

describe('ctr run', () => {
  const c = new Containerd();
  beforeAll(() => c.start(), 60000);
  afterAll(() => c.stop(), 30000);
  const run = (id: string, extra: string[], cmd = ['/bin/true']) => c.ctr(['run', '--rm', '--runc-binary', RUNTIME, ...extra, '--rootfs', busyboxRootfs(), id, ...cmd]);

  test('a value the operator does not allow; a shared pid namespace', async () => {
    const id = uid('ctrop');
    const r = await run(id, ['--annotation', 'io.vkernel.sched.policy=adaptive']);
    report('ctr run --annotation io.vkernel.sched.policy=adaptive', r.stderr);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`io.vkernel.sched.policy=adaptive (from annotation): not allowed on this node; allowed: cfs, fifo (keys.sched.policy.values in ${CONFIG})`);
    await c.ctr(['container', 'rm', id]);
    const p = uid('ctrpid');
    const s = await run(p, ['--with-ns', 'pid:/proc/1/ns/pid', '--annotation', 'io.vkernel.mm.thp=never']);
    report('ctr run --with-ns pid:/proc/1/ns/pid --annotation io.vkernel.mm.thp=never', s.stderr);
    expect(s.exitCode).not.toBe(0);
    expect(s.stderr).toContain('io.vkernel.mm.thp=never: per-container kernel parameters apply to the container\'s own pid namespace, and it joins the pid namespace "/proc/1/ns/pid"');
    await c.ctr(['container', 'rm', p]);
    expect(vkernelFiles(c.runtimeRoot())).toEqual([]);
  }, 60000);
});
