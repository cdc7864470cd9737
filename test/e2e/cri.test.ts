import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'smol-toml';
import { CriClient, CriContainerd, buildImage, engineCgroupDirs, removeCgroupPath, removeStaleCgroupTree } from '../helpers/cri.js';
import { vkernelFiles } from '../helpers/engines.js';
import { busyboxRootfs, requireRoot, RUNTIME, uid, vk } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';

/**
 * The CRI path, as kubelet drives it: a gRPC client speaking k8s.io/cri-api runtime.v1 (subset in
 * cri/runtime-v1.proto) to containerd 1.6's CRI plugin, whose config.toml got its `vkernel` runtime
 * handler from `vkernel-runtime install containerd`. Pods run with `runtime_handler: "vkernel"` (what a
 * RuntimeClass with `handler: vkernel` makes kubelet send) and host network (no CNI here).
 *
 * What reaches where (containerd 1.6.20, handler with pod_annotations = container_annotations =
 * ["io.vkernel.*"], read back from the specs containerd wrote, see the tests):
 *   - pod (sandbox) annotations io.vkernel.* → the sandbox ("pause") container's config.json AND every
 *     container's config.json in that pod;
 *   - container annotations io.vkernel.* → that container's config.json only, written after the pod's
 *     (so a container annotation overrides the pod's for that container).
 * The runtime applies the rt backend at `create` (SCHED_FIFO on the init task, children inherit it);
 * processes started later by `runc exec` (CRI ExecSync/Exec, i.e. probes and `kubectl exec`) are not
 * descendants of the init task and pass straight through to runc, so they keep the default policy.
 */
const CPU = '/sys/fs/cgroup/cpu';
const PAUSE = 'vk.test/pause:1';
const BUSYBOX = 'vk.test/busybox:1';
const HANDLER = 'vkernel';
const FIFO = { 'io.vkernel.sched.policy': 'fifo' };
const NOT_ONE_OF = 'io.vkernel.sched.policy: "fast" is not one of cfs, fifo, adaptive (from annotation)';

const c = new CriContainerd();
let cri: CriClient;
let runtimeRootExisted = true;
const pods = new Set<string>();

/** CRI settings this host needs, written before `install containerd` (which must keep them) */
function criSettings(): string {
  return `
[plugins."io.containerd.grpc.v1.cri"]
  # the sandbox ("pause") image, imported locally: no registry is reachable
  sandbox_image = "${PAUSE}"
  # (defaults, made explicit: no SELinux on this host; cgroups are what the rt backend works on)
  enable_selinux = false
  disable_cgroup = false
  # no CAP_SYS_RESOURCE here: without this the sandbox asks for oom_score_adj -998 and runc's init
  # cannot lower it ("runc create failed: unable to start container process: can't get final
  # child's PID from pipe: EOF"); with it containerd clamps it to its own value
  restrict_oom_score_adj = true
  # (no disable_apparmor: this kernel has no AppArmor, containerd detects that and applies none)
  # host-network pods only; empty dirs so containerd never reads the host's CNI setup (it logs
  # "failed to load cni during init" and runs host-network pods all the same)
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${c.subdir('cni-bin')}"
    conf_dir = "${c.subdir('cni-conf')}"
  # a config.toml that names any runtime replaces containerd's built-in runtimes table, and the CRI
  # plugin then refuses to load ("no corresponding runtime configured in containerd.runtimes for
  # containerd default_runtime_name = \\"runc\\""): real configs (containerd config default) list runc
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
`;
}

type Spec = { annotations?: Record<string, string>; linux?: { cgroupsPath?: string } };
interface Info { pid: number; runtimeHandler?: string; runtimeSpec: Spec }

/** the verbose `info` containerd returns with PodSandboxStatus / ContainerStatus */
function info(res: Record<string, any>): Info {
  return JSON.parse((res.info as Record<string, string>).info) as Info;
}

/** SCHED policy of a host pid, from /proc/<pid>/sched (0 = SCHED_OTHER, 1 = SCHED_FIFO) */
function hostPolicy(pid: number): number {
  return policyIn(readFileSync(`/proc/${pid}/sched`, 'utf8'));
}

function policyIn(text: string): number {
  const m = /^policy\s*:\s*(\d+)$/m.exec(text);
  if (!m) throw new Error(`no policy line in ${JSON.stringify(text)}`);
  return Number(m[1]);
}

function rtRuntime(cgroupsPath: string | undefined): number {
  return Number(readFileSync(join(CPU, cgroupsPath ?? '/nonexistent', 'cpu.rt_runtime_us'), 'utf8'));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `gc` for containerd's runc root (the RT ledger's operation that needs no create), until `ok` (the kernel frees removed groups after an RCU grace period) */
async function gcUntil(ok: () => boolean): Promise<boolean> {
  for (let i = 0; i < 30; i++) {
    const r = await vk(['gc', '--root', c.runtimeRoot]);
    expect([r.exitCode, r.stdout.split('\n').filter((l) => l.startsWith('failed'))]).toEqual([0, []]);
    if (ok()) return true;
    await sleep(500);
  }
  return ok();
}

function podConfig(name: string, annotations: Record<string, string> = {}, cgroupParent = '') {
  return {
    metadata: { name, uid: uid(name), namespace: 'vk-e2e', attempt: 0 },
    log_directory: c.subdir(`pods/${name}`),
    annotations,
    linux: { cgroup_parent: cgroupParent, security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

async function runPod(config: ReturnType<typeof podConfig>): Promise<string> {
  const { pod_sandbox_id: id } = await cri.call('RunPodSandbox', { config, runtime_handler: HANDLER });
  pods.add(id);
  return id;
}

async function removePod(id: string): Promise<void> {
  await cri.call('StopPodSandbox', { pod_sandbox_id: id });
  await cri.call('RemovePodSandbox', { pod_sandbox_id: id });
  pods.delete(id);
}

/** a long-running workload that prints its own policy first and exits 0 on SIGTERM */
async function startContainer(pod: string, sandbox: ReturnType<typeof podConfig>, name: string, annotations: Record<string, string> = {}): Promise<string> {
  const { container_id: id } = await cri.call('CreateContainer', {
    pod_sandbox_id: pod, sandbox_config: sandbox,
    config: {
      metadata: { name, attempt: 0 }, image: { image: BUSYBOX },
      command: ['/bin/sh', '-c', 'grep ^policy /proc/self/sched; trap "exit 0" TERM; while true; do sleep 1; done'],
      annotations, log_path: `${name}/0.log`,
      linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    },
  });
  await cri.call('StartContainer', { container_id: id });
  return id;
}

async function execSync(id: string, cmd: string[]): Promise<{ exit: number; out: string; err: string }> {
  const r = await cri.call('ExecSync', { container_id: id, cmd, timeout: 10 });
  return { exit: r.exit_code, out: Buffer.from(r.stdout).toString(), err: Buffer.from(r.stderr).toString() };
}

/** the container's first log line (CRI log format: `<time> stdout F <line>`), once containerd wrote it */
async function firstLogLine(logDir: string, name: string): Promise<string> {
  const file = join(logDir, name, '0.log');
  for (let i = 0; i < 100; i++) {
    const line = existsSync(file) ? readFileSync(file, 'utf8').split('\n')[0] : '';
    if (line) return line;
    await sleep(100);
  }
  throw new Error(`nothing logged in ${file}`);
}

async function stopAndRemoveContainer(id: string): Promise<number> {
  await cri.call('StopContainer', { container_id: id, timeout: 10 });
  const st = await cri.call('ContainerStatus', { container_id: id });
  expect(st.status.state).toBe('CONTAINER_EXITED');
  await cri.call('RemoveContainer', { container_id: id });
  return st.status.exit_code;
}

function k8sCgroupChildren(): string[] {
  try {
    return readdirSync(join(CPU, 'k8s.io'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** the operator's config.yaml for this containerd's runtime (env off is added by install containerd) */
const operatorConfig = join(c.dir, 'vkernel-runtime/config.yaml');
const REFUSED = `io.vkernel.sched.policy=adaptive (from annotation): not allowed on this node; allowed: cfs, fifo (keys.sched.policy.values in ${operatorConfig})`;

beforeAll(async () => {
  requireRoot();
  // a run of this file killed halfway leaves its pod parent (/kubepods-vk-e2e/besteffort/pod<pid>):
  // the pod-parent test below removes the whole path, so what an earlier run left goes first
  removeStaleCgroupTree('kubepods-vk-e2e');
  runtimeRootExisted = existsSync(c.runtimeRoot);
  c.writeConfig(criSettings());
  mkdirSync(dirname(operatorConfig), { recursive: true });
  writeFileSync(operatorConfig, '# tenants: cfs or fifo only\nkeys:\n  sched.policy: {values: [cfs, fifo]}\n');
  const r = await vk(['install', 'containerd', '--config-path', c.config, '--runtime-path', RUNTIME, '--runtime-config', operatorConfig]);
  if (r.exitCode !== 0) throw new Error(`install containerd: ${r.stderr}`);
  // containerd's environment reaches the shim and through it the runtime (as /etc/vkernel-runtime/config.yaml would)
  process.env.VKERNEL_RUNTIME_CONFIG = operatorConfig;
  await c.start();
  const loadError = c.criLoadError();
  if (loadError) throw new Error(`containerd did not load its CRI plugin: ${loadError}`);
  for (const [tag, cmd] of [[PAUSE, ['/bin/sleep', '3600']], [BUSYBOX, ['/bin/sh']]] as const) {
    const tar = join(c.dir, `${tag.replace(/\W/g, '_')}.tar`);
    await buildImage(busyboxRootfs(), tag, [...cmd], tar);
    const i = await c.ctr(['images', 'import', tar]);
    if (i.exitCode !== 0) throw new Error(`ctr images import ${tag}: ${i.stderr}`);
  }
  cri = new CriClient(c.sock);
}, 120000);

afterAll(async () => {
  // after a failure: what a test left running goes first, then containerd and every temp dir
  for (const id of pods) await removePod(id).catch(() => undefined);
  removeCgroupPath(`/kubepods-vk-e2e/besteffort/pod${process.pid}`);
  cri?.close();
  await c.stop();
  await c.remove();
  if (!runtimeRootExisted) {
    try { rmdirSync(c.runtimeRoot); } catch { /* not empty: somebody else's */ }
  }
  rmSync(busyboxRootfs(), { recursive: true, force: true });
}, 120000);

test('install containerd: config.toml only imports the drop-in, which kept the CRI settings this host needs and added the vkernel handler; the CRI plugin loaded', async () => {
  const dropIn = join(c.dir, 'conf.d/vkernel-runtime.toml');
  const doc = parse(readFileSync(c.config, 'utf8')) as any;
  expect(doc.imports).toEqual([dropIn]);
  expect(readFileSync(c.config, 'utf8')).toContain('# the sandbox ("pause") image, imported locally');
  expect(doc.plugins['io.containerd.grpc.v1.cri'].containerd.runtimes.vkernel).toBeUndefined();
  const criCfg = (parse(readFileSync(dropIn, 'utf8')) as any).plugins['io.containerd.grpc.v1.cri'];
  expect(criCfg).toMatchObject({
    sandbox_image: PAUSE, enable_selinux: false, disable_cgroup: false, restrict_oom_score_adj: true,
    cni: { bin_dir: join(c.dir, 'cni-bin'), conf_dir: join(c.dir, 'cni-conf') },
  });
  expect(criCfg.containerd.runtimes).toEqual({
    runc: { runtime_type: 'io.containerd.runc.v2' },
    vkernel: {
      runtime_type: 'io.containerd.runc.v2', container_annotations: ['io.vkernel.*'], pod_annotations: ['io.vkernel.*'],
      options: { BinaryName: RUNTIME, SystemdCgroup: false },
    },
  });
  expect(readFileSync(operatorConfig, 'utf8')).toBe('# tenants: cfs or fifo only\nkeys:\n  sched.policy: {values: [cfs, fifo]}\nsources:\n  env: false\n');
  expect([doc.root, doc.state, doc.grpc.address]).toEqual([join(c.dir, 'root'), join(c.dir, 'state'), c.sock]);
  const v = await cri.call('Version', { version: 'v1' });
  expect(v).toMatchObject({ runtime_name: 'containerd', runtime_api_version: 'v1' });
  expect(v.runtime_version).toMatch(/^1\.6\./);
});

needs(RT_GROUPS).test('a pod annotation io.vkernel.sched.policy=fifo makes the sandbox and every container of the pod SCHED_FIFO; a container annotation overrides it', async () => {
  const sandbox = podConfig('fifo-pod', FIFO);
  const pod = await runPod(sandbox);
  const ps = await cri.call('PodSandboxStatus', { pod_sandbox_id: pod, verbose: true });
  expect(ps.status).toMatchObject({ state: 'SANDBOX_READY', runtime_handler: HANDLER, annotations: FIFO });
  const pi = info(ps);
  // the pod annotation reached the sandbox container's spec; our runtime created it (state file) and
  // made its init task SCHED_FIFO with an RT budget in its cgroup
  expect(pi.runtimeHandler).toBe(HANDLER);
  expect(pi.runtimeSpec.annotations).toMatchObject(FIFO);
  // (inside runc's container directory: nothing of ours to undo after runc's delete, which the
  // launcher passes straight to runc; the RT ledger's next operation gives the budget back)
  expect(vkernelFiles(c.runtimeRoot)).toContain(`${pod}/vkernel.json`);
  expect(hostPolicy(pi.pid)).toBe(1);
  expect(rtRuntime(pi.runtimeSpec.linux?.cgroupsPath)).toBeGreaterThan(0);

  // a container without annotations of its own: containerd copied the pod's io.vkernel.* into its spec
  const work = await startContainer(pod, sandbox, 'workload');
  const ws = await cri.call('ContainerStatus', { container_id: work, verbose: true });
  expect(ws.status.state).toBe('CONTAINER_RUNNING');
  const wi = info(ws);
  expect(wi.runtimeSpec.annotations).toMatchObject(FIFO);
  expect(vkernelFiles(c.runtimeRoot)).toContain(`${work}/vkernel.json`);
  expect(hostPolicy(wi.pid)).toBe(1);
  expect(rtRuntime(wi.runtimeSpec.linux?.cgroupsPath)).toBeGreaterThan(0);
  // seen from inside, through the CRI: the workload's init (pid 1 of its own pid namespace) ...
  const init = await execSync(work, ['grep', '^policy', '/proc/1/sched']);
  expect([init.exit, init.err]).toEqual([0, '']);
  expect(policyIn(init.out)).toBe(1);
  // ... and a child it forked (the workload's first command), in the pod's log directory
  expect(await firstLogLine(sandbox.log_directory, 'workload')).toMatch(/ stdout F policy\s*:\s*1$/);
  // an ExecSync process is started by `runc exec` beside the init task, not under it: default policy
  const self = await execSync(work, ['grep', '^policy', '/proc/self/sched']);
  expect(policyIn(self.out)).toBe(0);

  // a container annotation is written after the pod's: cfs wins for this container only
  const own = await startContainer(pod, sandbox, 'own-policy', { 'io.vkernel.sched.policy': 'cfs' });
  const oi = info(await cri.call('ContainerStatus', { container_id: own, verbose: true }));
  expect(oi.runtimeSpec.annotations).toMatchObject({ 'io.vkernel.sched.policy': 'cfs' });
  expect(hostPolicy(oi.pid)).toBe(0);
  expect(policyIn((await execSync(own, ['grep', '^policy', '/proc/1/sched'])).out)).toBe(0);
  expect(await firstLogLine(sandbox.log_directory, 'own-policy')).toMatch(/ stdout F policy\s*:\s*0$/);
  expect(hostPolicy(wi.pid)).toBe(1);

  // StopContainer's SIGTERM reaches the FIFO init (the trap exits 0); everything of ours goes with them
  expect(await stopAndRemoveContainer(work)).toBe(0);
  expect(await stopAndRemoveContainer(own)).toBe(0);
  expect(vkernelFiles(c.runtimeRoot)).toEqual([`${pod}/vkernel.json`]);
  await removePod(pod);
  expect(vkernelFiles(c.runtimeRoot)).toEqual([]);
  expect(k8sCgroupChildren()).toEqual([]);
  // the RT budget our runtime gave containerd's /k8s.io parent is returned by the RT ledger's next
  // operation (the deletes went straight to runc): gc
  expect(await gcUntil(() => rtRuntime('/k8s.io') === 0)).toBe(true);
}, 120000);

needs(RT_GROUPS).test('a container annotation alone makes that container SCHED_FIFO (under a kubelet-style pod cgroup); the sandbox of a pod without one runs exactly as under runc', async () => {
  // kubelet (cgroupfs driver) gives every pod a parent like /kubepods/besteffort/pod<uid>, which start
  // with no RT budget: the rt backend raises the ancestors' budgets and returns them at delete
  const podCgroup = `/kubepods-vk-e2e/besteffort/pod${process.pid}`;
  const sandbox = podConfig('plain-pod', {}, podCgroup);
  const pod = await runPod(sandbox);
  const pi = info(await cri.call('PodSandboxStatus', { pod_sandbox_id: pod, verbose: true }));
  expect(pi.runtimeHandler).toBe(HANDLER);
  expect(pi.runtimeSpec.linux?.cgroupsPath).toBe(`${podCgroup}/${pod}`);
  expect(Object.keys(pi.runtimeSpec.annotations ?? {}).filter((k) => k.startsWith('io.vkernel.'))).toEqual([]);
  expect(hostPolicy(pi.pid)).toBe(0);
  // no io.vkernel request: the launcher handed the sandbox straight to runc, no state of ours
  expect(vkernelFiles(c.runtimeRoot)).toEqual([]);

  const work = await startContainer(pod, sandbox, 'workload', FIFO);
  const wi = info(await cri.call('ContainerStatus', { container_id: work, verbose: true }));
  expect(wi.runtimeSpec.linux?.cgroupsPath).toBe(`${podCgroup}/${work}`);
  expect(hostPolicy(wi.pid)).toBe(1);
  expect(rtRuntime(wi.runtimeSpec.linux?.cgroupsPath)).toBeGreaterThan(0);
  expect(rtRuntime(podCgroup)).toBeGreaterThan(0);
  expect(policyIn((await execSync(work, ['grep', '^policy', '/proc/1/sched'])).out)).toBe(1);
  expect(await firstLogLine(sandbox.log_directory, 'workload')).toMatch(/ stdout F policy\s*:\s*1$/);
  expect(vkernelFiles(c.runtimeRoot)).toEqual([`${work}/vkernel.json`]);
  expect(hostPolicy(pi.pid)).toBe(0);

  expect(await stopAndRemoveContainer(work)).toBe(0);
  await removePod(pod);
  expect(vkernelFiles(c.runtimeRoot)).toEqual([]);
  // budgets returned all the way up by the RT ledger's next operation (gc); the pod cgroups are
  // empty, so they go (as kubelet removes them)
  const parents = ['/kubepods-vk-e2e', '/kubepods-vk-e2e/besteffort', podCgroup];
  expect(await gcUntil(() => parents.every((d) => rtRuntime(d) === 0))).toBe(true);
  expect(removeCgroupPath(podCgroup)).toEqual([]);
}, 120000);

test('a bad pod annotation fails RunPodSandbox with our message in the gRPC error, and leaves nothing', async () => {
  const before = { files: vkernelFiles(c.runtimeRoot), cgroups: k8sCgroupChildren(), ctrs: (await c.ctr(['containers', 'ls', '-q'])).stdout };
  let err: { code?: number; details?: string } | undefined;
  try {
    await runPod(podConfig('bad-pod', { 'io.vkernel.sched.policy': 'fast' }));
  } catch (e) {
    err = e as typeof err;
  }
  expect(err).toBeDefined();
  expect(err?.details).toContain(`OCI runtime create failed: ${NOT_ONE_OF}`);
  // containerd removed the sandbox it could not start; the runtime created nothing
  expect(vkernelFiles(c.runtimeRoot)).toEqual(before.files);
  expect(k8sCgroupChildren()).toEqual(before.cgroups);
  expect((await c.ctr(['containers', 'ls', '-q'])).stdout).toBe(before.ctrs);
  expect(pods.size).toBe(0);
}, 60000);

test('a pod annotation the operator policy refuses fails RunPodSandbox with the rule in the gRPC error, and leaves nothing', async () => {
  const before = { files: vkernelFiles(c.runtimeRoot), cgroups: k8sCgroupChildren() };
  let err: { code?: number; details?: string } | undefined;
  try {
    await runPod(podConfig('refused-pod', { 'io.vkernel.sched.policy': 'adaptive' }));
  } catch (e) {
    err = e as typeof err;
  }
  expect(err?.details).toContain(`OCI runtime create failed: ${REFUSED}`);
  process.stdout.write(`RunPodSandbox error as kubelet sees it: ${err?.details}\n`);
  expect(vkernelFiles(c.runtimeRoot)).toEqual(before.files);
  expect(k8sCgroupChildren()).toEqual(before.cgroups);
  expect(pods.size).toBe(0);
}, 60000);

test('containerd stops, and nothing of the CRI run is left: state files, cgroups, temp dirs', async () => {
  expect(pods.size).toBe(0);
  cri.close();
  await c.stop();
  expect(vkernelFiles(c.runtimeRoot)).toEqual([]);
  expect(engineCgroupDirs(c.ns)).toEqual([]);
  await c.remove();
  expect(existsSync(c.dir)).toBe(false);
}, 60000);
