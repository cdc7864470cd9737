import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { jest } from '@jest/globals';
import { engineServers, leftovers, makeBundle, readState, REPO, run, tempRoot, uid, until, vk } from '../helpers/fixtures.js';

// each test runs several admin commands (node + oclif start-up, ~1 s each when idle); the cold CI
// measurement at load ~14 took over 30 s for five of them
jest.setTimeout(120_000);

/** `vkernel-runtime install|uninstall <engine>` on real files (the engines themselves: test/e2e) */
const dir = () => mkdtempSync(join(tmpdir(), 'vk-install-'));
const backups = (d: string) => readdirSync(d).filter((f) => f.includes('.vkernel-backup-'));

describe('docker daemon.json', () => {
  const original = '{"log-level":"warn", "storage-driver":"overlay2",\n "runtimes":{"nvidia":{"path":"/usr/bin/nvidia-container-runtime","runtimeArgs":["--debug"]}}}\n';

  test('merge keeps every other key and runtime, backs up, and uninstall restores the original bytes', async () => {
    const d = dir();
    const f = join(d, 'daemon.json');
    writeFileSync(f, original);
    const r = await vk(['install', 'docker', '--config-path', f, '--runtime-path', '/usr/local/bin/vkernel-runtime']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('next: reload dockerd');
    const doc = JSON.parse(readFileSync(f, 'utf8'));
    expect(doc).toEqual({
      'log-level': 'warn', 'storage-driver': 'overlay2',
      runtimes: { nvidia: { path: '/usr/bin/nvidia-container-runtime', runtimeArgs: ['--debug'] }, 'vkernel-runtime': { path: '/usr/local/bin/vkernel-runtime' } },
    });
    expect(backups(d)).toHaveLength(1);
    expect(readFileSync(join(d, backups(d)[0]), 'utf8')).toBe(original);
    // installing again changes nothing
    const again = await vk(['install', 'docker', '--config-path', f, '--runtime-path', '/usr/local/bin/vkernel-runtime']);
    expect(again.stdout).toContain('already installed');
    expect(backups(d)).toHaveLength(1);
    expect((await vk(['uninstall', 'docker', '--config-path', f])).exitCode).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(original);
  });

  test('--set becomes runtimeArgs, --name and --default register e.g. vkernel-fifo', async () => {
    const f = join(dir(), 'daemon.json');
    const r = await vk(['install', 'docker', '--config-path', f, '--runtime-path', '/x/vkernel-runtime', '--name', 'vkernel-fifo', '--set', 'sched.policy=fifo', '--set', 'strict=false', '--default']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({
      'default-runtime': 'vkernel-fifo',
      runtimes: { 'vkernel-fifo': { path: '/x/vkernel-runtime', runtimeArgs: ['--vkernel-set', 'sched.policy=fifo', '--vkernel-set', 'strict=false'] } },
    });
    await vk(['uninstall', 'docker', '--config-path', f, '--name', 'vkernel-fifo']);
    expect(existsSync(f)).toBe(false); // install created it; uninstall removes it
  });

  test('a different runtime of the same name is refused without --force', async () => {
    const f = join(dir(), 'daemon.json');
    writeFileSync(f, '{"runtimes":{"vkernel-runtime":{"path":"/other"}}}');
    const r = await vk(['install', 'docker', '--config-path', f, '--runtime-path', '/mine']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('a different runtime named "vkernel-runtime" exists');
    expect(readFileSync(f, 'utf8')).toBe('{"runtimes":{"vkernel-runtime":{"path":"/other"}}}');
    expect((await vk(['install', 'docker', '--config-path', f, '--runtime-path', '/mine', '--force'])).exitCode).toBe(0);
    expect(JSON.parse(readFileSync(f, 'utf8')).runtimes['vkernel-runtime'].path).toBe('/mine');
  });

  test('invalid JSON: clear error, file untouched, no backup', async () => {
    const d = dir();
    const f = join(d, 'daemon.json');
    writeFileSync(f, '{"runtimes": {');
    const r = await vk(['install', 'docker', '--config-path', f]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('is not valid JSON');
    expect(r.stderr).toContain('nothing was changed');
    expect(readFileSync(f, 'utf8')).toBe('{"runtimes": {');
    expect(backups(d)).toEqual([]);
  });

  test('--dry-run prints a diff and changes nothing', async () => {
    const d = dir();
    const f = join(d, 'daemon.json');
    writeFileSync(f, original);
    const r = await vk(['install', 'docker', '--config-path', f, '--runtime-path', '/rt', '--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\+\s+"vkernel-runtime": \{$/m);
    expect(r.stdout).toContain('+      "path": "/rt"');
    expect(readFileSync(f, 'utf8')).toBe(original);
    expect(backups(d)).toEqual([]);
  });
});

describe('containerd: a drop-in file that config.toml imports', () => {
  const original = [
    '# containerd config (comments must survive)',
    'version = 2',
    'root = "/var/lib/containerd"',
    '',
    '[plugins."io.containerd.grpc.v1.cri"]',
    '  sandbox_image = "registry.k8s.io/pause:3.6" # pinned',
    '',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '  runtime_type = "io.containerd.runc.v2"',
    '',
  ].join('\n');
  const HANDLER = {
    runtime_type: 'io.containerd.runc.v2', container_annotations: ['io.vkernel.*'], pod_annotations: ['io.vkernel.*'],
    options: { BinaryName: '/usr/local/bin/vkernel-runtime', SystemdCgroup: false },
  };
  const install = (f: string, extra: string[] = []) => vk(['install', 'containerd', '--config-path', f, '--runtime-path', '/usr/local/bin/vkernel-runtime',
    '--runtime-config', join(dirname(f), 'vkernel-runtime/config.yaml'), ...extra]);
  const uninstall = (f: string) => vk(['uninstall', 'containerd', '--config-path', f, '--runtime-config', join(dirname(f), 'vkernel-runtime/config.yaml')]);

  test('config.toml only gains an imports line (comments, layout, mode and owner kept); the drop-in carries the CRI section and the handler; uninstall restores the original bytes', async () => {
    const d = dir();
    const f = join(d, 'config.toml');
    writeFileSync(f, original);
    chmodSync(f, 0o600);
    chownSync(f, 1234, 5678);
    const r = await install(f);
    expect(r.exitCode).toBe(0);
    const dropIn = join(d, 'conf.d/vkernel-runtime.toml');
    expect(readFileSync(f, 'utf8')).toBe(original.replace('version = 2\n', `version = 2\nimports = ["${dropIn}"]\n`));
    expect(statSync(f).mode & 0o7777).toBe(0o600);
    expect([statSync(f).uid, statSync(f).gid]).toEqual([1234, 5678]);
    // the backup is as private as the file
    expect(backups(d)).toHaveLength(1);
    expect(statSync(join(d, backups(d)[0])).mode & 0o7777).toBe(0o600);
    expect(readFileSync(join(d, backups(d)[0]), 'utf8')).toBe(original);
    // containerd 1.x replaces a whole plugin section with an imported one: the drop-in has all of it
    const doc = parse(readFileSync(dropIn, 'utf8')) as any;
    expect(doc.version).toBe(2);
    const cri = doc.plugins['io.containerd.grpc.v1.cri'];
    expect(cri.sandbox_image).toBe('registry.k8s.io/pause:3.6');
    expect(cri.containerd.runtimes).toEqual({ runc: { runtime_type: 'io.containerd.runc.v2' }, vkernel: HANDLER });
    expect(r.stdout).toContain('SystemdCgroup = false: cgroupfs');
    // the operator config: env is not a policy source on such a node
    expect(parseYaml(readFileSync(join(d, 'vkernel-runtime/config.yaml'), 'utf8'))).toEqual({ sources: { env: false } });
    // again: nothing changes
    const again = await install(f);
    expect(again.stdout).toContain('already installed');
    expect(again.stdout).toContain('already imports');
    expect(backups(d)).toHaveLength(1);
    expect((await uninstall(f)).exitCode).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(original);
    expect(statSync(f).mode & 0o7777).toBe(0o600);
    expect(statSync(f).uid).toBe(1234);
    expect(existsSync(dropIn)).toBe(false);
    expect(existsSync(join(d, 'vkernel-runtime/config.yaml'))).toBe(false);
  });

  test('SystemdCgroup follows the node: the runc handler\'s option, else kubelet\'s cgroupDriver, else --cgroup-driver', async () => {
    const root = dir();
    const f = join(root, 'etc/containerd/config.toml');
    const rc = join(root, 'etc/vkernel-runtime/config.yaml');
    const handler = () => (parse(readFileSync(join(root, 'etc/containerd/conf.d/vkernel-runtime.toml'), 'utf8')) as any).plugins['io.containerd.grpc.v1.cri'].containerd.runtimes.vkernel;
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n    SystemdCgroup = true\n');
    const args = ['install', 'containerd', '--node-root', root, '--runtime-path', '/rt'];
    const r = await vk(args);
    expect(r.exitCode).toBe(0);
    expect(handler().options).toEqual({ BinaryName: '/rt', SystemdCgroup: true });
    expect(r.stdout).toContain('SystemdCgroup = true: as containerd\'s runc handler');
    expect(existsSync(rc)).toBe(true);
    // no option on the runc handler: kubelet decides
    writeFileSync(f, 'version = 2\n');
    mkdirSync(join(root, 'var/lib/kubelet'), { recursive: true });
    writeFileSync(join(root, 'var/lib/kubelet/config.yaml'), 'kind: KubeletConfiguration\n');
    expect((await vk([...args, '--cgroup-driver', 'cgroupfs'])).exitCode).toBe(0);
    expect(handler().options.SystemdCgroup).toBe(false);
    writeFileSync(join(root, 'var/lib/kubelet/config.yaml'), 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n');
    expect((await vk(args)).stdout).toContain('SystemdCgroup = true: as kubelet (cgroupDriver: systemd in /var/lib/kubelet/config.yaml)');
    expect(handler().options.SystemdCgroup).toBe(true);
  });

  test('an existing imports list (multi-line, commented) gets our file appended, the rest kept', async () => {
    const d = dir();
    const f = join(d, 'config.toml');
    const text = 'version = 2\nimports = [\n  "/etc/containerd/nvidia.toml", # gpu\n]\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "p:1"\n';
    writeFileSync(f, text);
    expect((await install(f)).exitCode).toBe(0);
    const after = readFileSync(f, 'utf8');
    expect(after).toBe(`version = 2\nimports = ["/etc/containerd/nvidia.toml", "${join(d, 'conf.d/vkernel-runtime.toml')}"]\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "p:1"\n`);
    expect((await uninstall(f)).exitCode).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(text);
  });

  test('containerd 2.x (version 3) merges tables: the drop-in holds the handler only', async () => {
    const d = dir();
    const f = join(d, 'config.toml');
    writeFileSync(f, 'version = 3\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "overlayfs"\n');
    expect((await install(f)).exitCode).toBe(0);
    expect(parse(readFileSync(join(d, 'conf.d/vkernel-runtime.toml'), 'utf8'))).toEqual({
      version: 3, plugins: { 'io.containerd.cri.v1.runtime': { containerd: { runtimes: { vkernel: HANDLER } } } },
    });
  });

  test('no config.toml yet: one with version and imports; uninstall removes what install created', async () => {
    const d = dir();
    const f = join(d, 'config.toml');
    expect((await install(f)).exitCode).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(`version = 2\nimports = ["${join(d, 'conf.d/vkernel-runtime.toml')}"]\n`);
    const runtimes = (parse(readFileSync(join(d, 'conf.d/vkernel-runtime.toml'), 'utf8')) as any).plugins['io.containerd.grpc.v1.cri'].containerd.runtimes;
    // a runtimes table replaces containerd's built-in one: the default runtime keeps an entry
    expect(runtimes.runc).toEqual({ runtime_type: 'io.containerd.runc.v2' });
    expect((await uninstall(f)).exitCode).toBe(0);
    expect(readdirSync(d).filter((n) => !n.includes('.vkernel-backup-'))).toEqual(['conf.d', 'vkernel-runtime']);
    expect(readdirSync(join(d, 'conf.d')).filter((n) => !n.includes('.vkernel-backup-'))).toEqual([]);
  });

  test('an existing operator config keeps its comments and gains sources.env: false; an explicit choice is kept', async () => {
    const d = dir();
    const f = join(d, 'config.toml');
    const rc = join(d, 'vkernel-runtime/config.yaml');
    mkdirSync(dirname(rc));
    writeFileSync(rc, '# node policy\nlimits:\n  rt_budget_percent: 40 # two fifo pods\n');
    expect((await install(f)).exitCode).toBe(0);
    expect(readFileSync(rc, 'utf8')).toBe('# node policy\nlimits:\n  rt_budget_percent: 40 # two fifo pods\nsources:\n  env: false\n');
    writeFileSync(rc, 'sources:\n  env: true\n');
    const r = await install(f, ['--force']);
    expect(r.stdout).toContain('keeps sources.env: true');
    expect(readFileSync(rc, 'utf8')).toBe('sources:\n  env: true\n');
  });

  test('invalid TOML: clear error, untouched', async () => {
    const d = dir();
    const f = join(d, 'config.toml');
    writeFileSync(f, 'version = = 2');
    const r = await install(f);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('is not valid TOML');
    expect(readFileSync(f, 'utf8')).toBe('version = = 2');
    expect(readdirSync(d)).toEqual(['config.toml']);
  });

  test('--dry-run prints the diffs and changes nothing', async () => {
    const d = dir();
    const f = join(d, 'config.toml');
    writeFileSync(f, original);
    const r = await install(f, ['--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`+imports = ["${join(d, 'conf.d/vkernel-runtime.toml')}"]`);
    expect(r.stdout).toContain('+[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.vkernel]');
    expect(readdirSync(d)).toEqual(['config.toml']);
  });
});

describe('install node: what the Kubernetes installer puts on a node (a temp dir standing in for the hostPath root)', () => {
  test('the launcher finds the engine in <home>/dist (no node needed), the module source is shipped, containerd and the operator config point at them', async () => {
    const root = dir();
    mkdirSync(join(root, 'etc/containerd'), { recursive: true });
    writeFileSync(join(root, 'etc/containerd/config.toml'), 'version = 2\n');
    const r = await vk(['install', 'node', '--node-root', root]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const bin = join(root, 'usr/local/bin/vkernel-runtime');
    // the C entry point where the build made it (client/vkernel-client.c), else the sh launcher
    const entry = existsSync(join(REPO, 'dist/vkernel-runtime')) ? 'dist/vkernel-runtime' : 'bin/vkernel-runtime';
    expect(readlinkSync(bin)).toBe(`../../../opt/vkernel-runtime/current/${entry}`);
    const home = dirname(dirname(realpathSync(bin)));
    expect(home).toMatch(new RegExp(`^${root}/opt/vkernel-runtime/releases/[0-9a-f]{16}$`));
    expect(statSync(join(home, 'dist/vkernel-engine')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(home, 'modules/vkernel/main.c'), 'utf8')).toBe(readFileSync(join(REPO, 'modules/vkernel/main.c'), 'utf8'));
    expect(readdirSync(join(home, 'modules/vkernel')).sort()).toEqual(readdirSync(join(REPO, 'modules/vkernel')).filter((n) => /^(Kbuild|Makefile)$|\.[ch]$/.test(n)).sort());
    const h = (parse(readFileSync(join(root, 'etc/containerd/conf.d/vkernel-runtime.toml'), 'utf8')) as any).plugins['io.containerd.grpc.v1.cri'].containerd.runtimes.vkernel;
    expect(h.options.BinaryName).toBe('/usr/local/bin/vkernel-runtime');
    expect(readFileSync(join(root, 'etc/containerd/config.toml'), 'utf8')).toBe('version = 2\nimports = ["/etc/containerd/conf.d/vkernel-runtime.toml"]\n');
    expect(parseYaml(readFileSync(join(root, 'etc/vkernel-runtime/config.yaml'), 'utf8'))).toEqual({ sources: { env: false } });

    // a create with a request through the node's launcher, with no node on PATH: only the engine in dist/ can do it
    const path = join(root, 'path');
    mkdirSync(path);
    for (const t of ['sh', 'grep', 'readlink', 'runc', 'cat']) symlinkSync(execSync(`command -v ${t}`, { shell: '/bin/sh' }).toString().trim(), join(path, t));
    const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
    const state = tempRoot();
    const id = uid('node');
    const out = openSync(join(root, 'out'), 'w');
    // (a socket of its own: the server this create starts is the temporary installation's, stopped below)
    const socket = join(root, 'engine.sock');
    const env = { PATH: path, VKERNEL_RUNTIME_CONFIG: join(root, 'etc/vkernel-runtime/config.yaml'), VKERNEL_ENGINE_SOCKET: socket };
    const c = await run(bin, ['--root', state, 'create', '--bundle', bundle, id], { env, extendEnv: false, stdin: 'ignore', stdout: out, stderr: out });
    expect(readFileSync(join(root, 'out'), 'utf8')).toBe('');
    expect(c.exitCode).toBe(0);
    expect(readState(state, id).policy).toEqual({ 'sched.policy': 'cfs' });
    expect((await execa(bin, ['--root', state, 'delete', '--force', id], { reject: false, env, extendEnv: false })).exitCode).toBe(0);
    expect(leftovers(state, id)).toEqual([]);
    // (the client starts it detached as it hands the call to the engine: it may still be on its way)
    expect(await until(() => engineServers(socket).length === 1, 5000, 50)).toBe(true);
    for (const pid of engineServers(socket)) process.kill(pid, 'SIGTERM');

    // again: same release, nothing rewritten
    const again = await vk(['install', 'node', '--node-root', root]);
    expect(again.stdout).toContain('already installed');
    expect(readdirSync(join(root, 'opt/vkernel-runtime/releases'))).toHaveLength(1);
  }, 60000);

  test('an earlier installer\'s /usr/local/bin/vkernel-engine (a copy of our engine) is removed; a file of that name that is not ours is left, and said', async () => {
    const root = dir();
    mkdirSync(join(root, 'etc/containerd'), { recursive: true });
    writeFileSync(join(root, 'etc/containerd/config.toml'), 'version = 2\n');
    const old = join(root, 'usr/local/bin/vkernel-engine');
    mkdirSync(dirname(old), { recursive: true });
    copyFileSync(join(REPO, 'dist/vkernel-engine'), old);
    const r = await vk(['install', 'node', '--node-root', root]);
    expect(r.exitCode).toBe(0);
    expect(existsSync(old)).toBe(false);
    expect(r.stdout).toContain(`removed ${old} (an earlier installer's copy of the engine)`);
    writeFileSync(old, '#!/bin/sh\necho someone else\n', { mode: 0o755 });
    const r2 = await vk(['install', 'node', '--node-root', root]);
    expect(r2.exitCode).toBe(0);
    expect(readFileSync(old, 'utf8')).toContain('someone else');
    expect(r2.stdout).toContain(`left ${old}: not a vkernel-runtime engine`);
  }, 60000);
});

test('podman hooks.d: two hooks matching io.vkernel.* annotations; uninstall removes them', async () => {
  const d = dir();
  expect((await vk(['install', 'podman', '--config-path', d, '--runtime-path', '/usr/local/bin/vkernel-runtime'])).exitCode).toBe(0);
  const create = JSON.parse(readFileSync(join(d, 'vkernel-runtime-create.json'), 'utf8'));
  expect(create).toEqual({
    version: '1.0.0', hook: { path: '/usr/local/bin/vkernel-runtime', args: ['vkernel-runtime', 'oci-hook', 'createRuntime'] },
    when: { annotations: { '^io\\.vkernel\\.': '.*' } }, stages: ['createRuntime'],
  });
  expect(JSON.parse(readFileSync(join(d, 'vkernel-runtime-poststop.json'), 'utf8')).stages).toEqual(['poststop']);
  await vk(['uninstall', 'podman', '--config-path', d]);
  expect(readdirSync(d).filter((f) => !f.includes('backup'))).toEqual([]);
});

test('kubernetes: RuntimeClass with handler vkernel and a privileged node installer DaemonSet', async () => {
  const out = dir();
  const r = await vk(['install', 'kubernetes', '--output', out]);
  expect(r.exitCode).toBe(0);
  const rc = parseYaml(readFileSync(join(out, 'runtimeclass.yaml'), 'utf8'));
  expect(rc).toMatchObject({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', handler: 'vkernel' });
  const ds = parseYaml(readFileSync(join(out, 'installer-daemonset.yaml'), 'utf8'));
  const c = ds.spec.template.spec.containers[0];
  expect(c.securityContext.privileged).toBe(true);
  expect(c.command.join(' ')).toContain('install node --node-root /host --handler vkernel');
  expect(ds.spec.template.spec.volumes.map((v: any) => v.hostPath.path).sort()).toEqual(['/etc/containerd', '/etc/vkernel-runtime', '/opt/vkernel-runtime', '/usr/local/bin', '/var/lib/kubelet']);
  // every hostPath is mounted at /host + the same path (what install node --node-root /host writes to)
  for (const m of c.volumeMounts) expect(m.mountPath).toBe(`/host${ds.spec.template.spec.volumes.find((v: any) => v.name === m.name).hostPath.path}`);
  // the committed copies are what the command prints
  for (const f of ['runtimeclass.yaml', 'installer-daemonset.yaml', 'rbac.yaml']) {
    expect(readFileSync(new URL(`../../deploy/kubernetes/${f}`, import.meta.url), 'utf8')).toBe(readFileSync(join(out, f), 'utf8'));
  }
});
