import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { CriClient, CriContainerd, buildImage } from '../helpers/cri.js';
import { buildVmTarget, DOCKER_DATA_ROOT, ensureBaseImage } from '../helpers/debian-base.js';
import { Dockerd, stateName, vkernelFiles } from '../helpers/engines.js';
import { busyboxRootfs, REPO, requireRoot, run, uid } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';

/**
 * A Kubernetes node as the installer DaemonSet leaves it, driven through CRI the way kubelet does:
 *  1. a node root in a temp dir (the DaemonSet's hostPath volumes) holding the node's containerd
 *     config.toml, its operator config.yaml and kubelet's config.yaml;
 *  2. the installer image (Dockerfile.vm --target installer, tagged as the manifest names it) built
 *     by a dockerd started here, and the DaemonSet's own container run from the committed manifest:
 *     its command, its volumeMounts (hostPath → the node root), NODE_NAME, privileged;
 *  3. containerd started in a private mount namespace where /etc/containerd, /opt and
 *     /usr/local/bin are the node root's: it reads the node's config.toml, imports the drop-in, and
 *     runs pods with BinaryName /usr/local/bin/vkernel-runtime -> /opt/vkernel-runtime/current/...
 *     (the launcher finds the engine the image built in that release's dist/).
 * Stand-ins: `systemctl` and `kubectl` inside the installer are stubs on its PATH that record their
 * arguments (no systemd here, no API server), and the pod does not share the host's pid namespace
 * (with hostPID the script's `nsenter -t 1` would reach this host's own systemctl). Not covered: a
 * real systemd cgroup driver (the node says cgroupfs), /etc/vkernel-runtime on the host (the
 * runtime gets the node's config.yaml by VKERNEL_RUNTIME_CONFIG).
 */
const HANDLER = 'vkernel';
const PAUSE = 'vk.test/pause:1';
const BUSYBOX = 'vk.test/busybox:1';
const c = new CriContainerd();
const node = mkdtempSync(join(tmpdir(), 'vk-node-'));
const locks = mkdtempSync(join(tmpdir(), 'vk-node-locks-'));
const operatorConfig = join(node, 'etc/vkernel-runtime/config.yaml');
let cri: CriClient;
const pods = new Set<string>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const policyOf = (pid: number) => Number(/^policy\s*:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/sched`, 'utf8'))?.[1]);
const info = (res: Record<string, any>) => JSON.parse((res.info as Record<string, string>).info) as { pid: number; runtimeSpec: { annotations?: Record<string, string> } };

function podConfig(name: string, annotations: Record<string, string> = {}) {
  return {
    metadata: { name, uid: uid(name), namespace: 'vk-node', attempt: 0 },
    log_directory: c.subdir(`pods/${name}`),
    annotations,
    linux: { cgroup_parent: '', security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

async function removePod(id: string) {
  await cri.call('StopPodSandbox', { pod_sandbox_id: id });
  await cri.call('RemovePodSandbox', { pod_sandbox_id: id });
  pods.delete(id);
}

const NODE_NAME = 'vk-node-1';
const stub = mkdtempSync(join(tmpdir(), 'vk-node-stub-'));
const calls = join(stub, 'calls');

/** the installer's container from the committed manifest */
function installer() {
  const ds = parseYaml(readFileSync(join(REPO, 'deploy/kubernetes/installer-daemonset.yaml'), 'utf8'));
  const spec = ds.spec.template.spec;
  const container = spec.containers[0];
  const hostPaths = new Map<string, string>(spec.volumes.map((v: any) => [v.name, v.hostPath.path]));
  const mounts = container.volumeMounts.map((m: any) => ({ host: hostPaths.get(m.name)!, path: m.mountPath as string, ro: !!m.readOnly }));
  return { image: container.image as string, command: container.command as string[], mounts, privileged: !!container.securityContext?.privileged };
}

/** `--privileged`, or as near as this host allows: it runs without CAP_SYS_RESOURCE in its own
 * bounding set, and runc then fails to give a container every capability ("unable to apply caps") */
function privileged(): string[] {
  const bnd = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
  const SYS_RESOURCE = 24n;
  if (bnd & (1n << SYS_RESOURCE)) return ['--privileged'];
  return ['--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined'];
}

/** builds the installer image and runs the DaemonSet's container against the node root, until its
 * script reaches its last step (`kubectl label`, then `sleep infinity`) */
async function runInstaller(): Promise<void> {
  const spec = installer();
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  if (spec.image !== `vkernel-runtime/installer:${pkg.version}`) throw new Error(`the manifest runs ${spec.image}, this checkout is ${pkg.version}`);
  for (const [name, what] of [['systemctl', 'systemctl'], ['kubectl', 'kubectl']]) {
    writeFileSync(join(stub, name), `#!/bin/sh\necho "${what} $*" >> /vk-stub/calls\n`, { mode: 0o755 });
  }
  const d = new Dockerd(DOCKER_DATA_ROOT);
  d.writeConfig({});
  await d.start();
  try {
    await ensureBaseImage(d);
    await buildVmTarget(d, 'installer', spec.image);
    const args = ['run', '-d', '--name', 'vk-node-installer', '--network', 'none', ...(spec.privileged ? privileged() : []),
      '-e', `NODE_NAME=${NODE_NAME}`, '-e', 'PATH=/vk-stub:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '-v', `${stub}:/vk-stub`];
    for (const m of spec.mounts) {
      mkdirSync(join(node, m.host), { recursive: true }); // hostPath type DirectoryOrCreate
      args.push('-v', `${join(node, m.host)}:${m.path}${m.ro ? ':ro' : ''}`);
    }
    await d.docker(['rm', '-f', 'vk-node-installer']);
    const r = await d.docker([...args, spec.image, ...spec.command]);
    if (r.exitCode !== 0) throw new Error(`docker run ${spec.image}: ${r.stderr}`);
    try {
      for (let i = 0; !(existsSync(calls) && readFileSync(calls, 'utf8').includes('kubectl ')); i++) {
        const state = (await d.docker(['inspect', '-f', '{{.State.Running}}', 'vk-node-installer'])).stdout.trim();
        if (state !== 'true' || i > 600) {
          const logs = await d.docker(['logs', 'vk-node-installer'], { all: true });
          throw new Error(`the installer ${state === 'true' ? 'did not reach kubectl in 120 s' : 'exited'}:\n${logs.all}`);
        }
        await sleep(200);
      }
      process.stdout.write(`installer (${spec.image}):\n${(await d.docker(['logs', 'vk-node-installer'], { all: true })).all}\n`);
    } finally {
      await d.docker(['rm', '-f', 'vk-node-installer']);
    }
  } finally {
    await d.stop();
  }
}

beforeAll(async () => {
  requireRoot();
  // the node before the installer: containerd's config (CRI settings this host needs), an operator
  // config, kubelet's config
  c.writeConfig([
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${PAUSE}"`,
    '  restrict_oom_score_adj = true',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = "${c.subdir('cni-bin')}"`,
    `    conf_dir = "${c.subdir('cni-conf')}"`,
    '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '    runtime_type = "io.containerd.runc.v2"',
    '',
  ].join('\n'));
  mkdirSync(join(node, 'etc/containerd'), { recursive: true });
  copyFileSync(c.config, join(node, 'etc/containerd/config.toml'));
  mkdirSync(join(node, 'etc/vkernel-runtime'), { recursive: true });
  writeFileSync(operatorConfig, '# this node: no adaptive for tenants\nkeys:\n  sched.policy: {values: [cfs, fifo]}\n');
  mkdirSync(join(node, 'var/lib/kubelet'), { recursive: true });
  writeFileSync(join(node, 'var/lib/kubelet/config.yaml'), 'kind: KubeletConfiguration\ncgroupDriver: cgroupfs\n');
  for (const d of ['opt', 'usr/local/bin']) mkdirSync(join(node, d), { recursive: true });
  await runInstaller();

  // containerd in a private mount namespace seeing the node root's /etc/containerd, /opt, /usr/local/bin
  const ns = [
    'set -e',
    `mount --bind '${node}/etc/containerd' /etc/containerd`,
    `mount --bind '${node}/opt' /opt`,
    `mount --bind '${node}/usr/local/bin' /usr/local/bin`,
    'exec containerd --config /etc/containerd/config.toml',
  ].join('\n');
  process.env.VKERNEL_RUNTIME_CONFIG = operatorConfig;
  process.env.VKERNEL_LOCK_DIR = locks;
  await c.start(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', ns]);
  const loadError = c.criLoadError();
  if (loadError) throw new Error(`containerd did not load its CRI plugin: ${loadError}`);
  for (const [tag, cmd] of [[PAUSE, ['/bin/sleep', '3600']], [BUSYBOX, ['/bin/sh']]] as const) {
    const tar = join(c.dir, `${tag.replace(/\W/g, '_')}.tar`);
    await buildImage(busyboxRootfs(), tag, [...cmd], tar);
    const i = await c.ctr(['images', 'import', tar]);
    if (i.exitCode !== 0) throw new Error(`ctr images import ${tag}: ${i.stderr}`);
  }
  cri = new CriClient(c.sock);
}, 40 * 60_000);

afterAll(async () => {
  for (const id of pods) await removePod(id).catch(() => undefined);
  cri?.close();
  await c.stop();
  await c.remove();
  rmSync(node, { recursive: true, force: true });
  rmSync(locks, { recursive: true, force: true });
  rmSync(stub, { recursive: true, force: true });
}, 120000);

test('the installer left a node whose containerd loads the handler from the drop-in: SystemdCgroup as kubelet, config.toml only imports it', async () => {
  const toml = readFileSync(join(node, 'etc/containerd/config.toml'), 'utf8');
  expect(parse(toml).imports).toEqual(['/etc/containerd/conf.d/vkernel-runtime.toml']);
  const h = (parse(readFileSync(join(node, 'etc/containerd/conf.d/vkernel-runtime.toml'), 'utf8')) as any).plugins['io.containerd.grpc.v1.cri'].containerd.runtimes[HANDLER];
  expect(h.options).toEqual({ BinaryName: '/usr/local/bin/vkernel-runtime', SystemdCgroup: false });
  expect(parseYaml(readFileSync(operatorConfig, 'utf8'))).toEqual({ keys: { 'sched.policy': { values: ['cfs', 'fifo'] } }, sources: { env: false } });
  expect((await cri.call('Version', { version: 'v1' })).runtime_api_version).toBe('v1');
  // the script's other steps ran, in order, with the node's name
  expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['systemctl restart containerd', `kubectl label node ${NODE_NAME} vkernel-runtime/installed=true --overwrite`]);
  // the release holds what the image built (with gcc): the engine (a bun binary) and the C entry
  // point (static) beside the sh launcher, and the node's vkernel-runtime is the C entry point
  const release = join(node, 'opt/vkernel-runtime', readlinkSync(join(node, 'opt/vkernel-runtime/current')));
  for (const f of ['dist/vkernel-engine', 'dist/vkernel-runtime', 'dist/vkernel-client']) expect([f, readFileSync(join(release, f)).subarray(0, 4).toString('latin1')]).toEqual([f, '\x7fELF']);
  expect(readFileSync(join(release, 'bin/vkernel-runtime'), 'utf8')).toMatch(/^#!\/bin\/sh\n/);
  expect(readlinkSync(join(node, 'usr/local/bin/vkernel-runtime'))).toBe('../../../opt/vkernel-runtime/current/dist/vkernel-runtime');
});

needs(RT_GROUPS).test('a pod annotation takes effect through the node\'s runtime; a VKERNEL_* variable of a container does not (env is off)', async () => {
  const sandbox = podConfig('fifo-pod', { 'io.vkernel.sched.policy': 'fifo' });
  const { pod_sandbox_id: pod } = await cri.call('RunPodSandbox', { config: sandbox, runtime_handler: HANDLER });
  pods.add(pod);
  const pi = info(await cri.call('PodSandboxStatus', { pod_sandbox_id: pod, verbose: true }));
  expect(policyOf(pi.pid)).toBe(1);
  expect(vkernelFiles(c.runtimeRoot)).toContain(`${pod}/vkernel.json`);
  // the RT ledger of this node's runtime holds the sandbox's budget
  const ledger = JSON.parse(readFileSync(join(locks, 'rt-ledger.json'), 'utf8'));
  expect(Object.values(ledger.holders).map((h: any) => h.id)).toEqual([pod]);

  // a container with the policy only in its environment, in a pod... whose annotation it inherits:
  // use a plain pod for it
  const plain = podConfig('plain-pod');
  const { pod_sandbox_id: pod2 } = await cri.call('RunPodSandbox', { config: plain, runtime_handler: HANDLER });
  pods.add(pod2);
  const { container_id: ctr } = await cri.call('CreateContainer', {
    pod_sandbox_id: pod2, sandbox_config: plain,
    config: {
      metadata: { name: 'env', attempt: 0 }, image: { image: BUSYBOX }, envs: [{ key: 'VKERNEL_SCHED_POLICY', value: 'fifo' }],
      command: ['/bin/sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'], log_path: 'env/0.log',
      linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    },
  });
  await cri.call('StartContainer', { container_id: ctr });
  const ci = info(await cri.call('ContainerStatus', { container_id: ctr, verbose: true }));
  expect(policyOf(ci.pid)).toBe(0);
  expect(stateName(c.runtimeRoot, ctr)).toBeUndefined();
  await cri.call('StopContainer', { container_id: ctr, timeout: 10 });
  await cri.call('RemoveContainer', { container_id: ctr });
  await removePod(pod2);
  await removePod(pod);
  expect(vkernelFiles(c.runtimeRoot)).toEqual([]);
  // the deletes went straight to runc: the node's gc (its installed runtime, no Node.js) is the RT
  // ledger's next operation, which drops the holders and gives the parents' budgets back
  const ledgerNow = () => JSON.parse(readFileSync(join(locks, 'rt-ledger.json'), 'utf8'));
  for (let i = 0; i < 30; i++) {
    const gc = await run(join(node, 'usr/local/bin/vkernel-runtime'), ['gc', '--root', c.runtimeRoot], { env: { VKERNEL_LOCK_DIR: locks } });
    expect([gc.exitCode, gc.stdout.split('\n').filter((l) => l.startsWith('failed'))]).toEqual([0, []]);
    if (!Object.keys(ledgerNow().parents).length) break;
    await sleep(500);
  }
  expect(ledgerNow()).toEqual({ version: 1, parents: {}, holders: {} });
}, 120000);

test('a pod annotation the node\'s operator policy refuses: RunPodSandbox fails with the rule, nothing left', async () => {
  let err: { details?: string } | undefined;
  try {
    await cri.call('RunPodSandbox', { config: podConfig('refused', { 'io.vkernel.sched.policy': 'adaptive' }), runtime_handler: HANDLER });
  } catch (e) {
    err = e as typeof err;
  }
  process.stdout.write(`RunPodSandbox error on the installed node: ${err?.details}\n`);
  expect(err?.details).toContain(`OCI runtime create failed: io.vkernel.sched.policy=adaptive (from annotation): not allowed on this node; allowed: cfs, fifo (keys.sched.policy.values in ${operatorConfig})`);
  expect(vkernelFiles(c.runtimeRoot)).toEqual([]);
}, 60000);

test('containerd stops and its namespace goes with it: the host\'s /usr/local/bin and /opt were never touched', async () => {
  cri.close();
  await c.stop();
  expect(existsSync('/opt/vkernel-runtime')).toBe(false);
  expect(existsSync('/etc/containerd/conf.d/vkernel-runtime.toml')).toBe(false);
}, 60000);
