import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { vk } from '../helpers/fixtures.js';

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

describe('containerd config.toml', () => {
  const original = 'version = 2\nroot = "/var/lib/containerd"\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.6"\n\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n';

  test('adds the handler, preserves the rest, uninstall restores the original', async () => {
    const d = dir();
    const f = join(d, 'config.toml');
    writeFileSync(f, original);
    const r = await vk(['install', 'containerd', '--config-path', f, '--runtime-path', '/usr/local/bin/vkernel-runtime']);
    expect(r.exitCode).toBe(0);
    const doc = parse(readFileSync(f, 'utf8')) as any;
    const cri = doc.plugins['io.containerd.grpc.v1.cri'];
    expect(doc.root).toBe('/var/lib/containerd');
    expect(cri.sandbox_image).toBe('registry.k8s.io/pause:3.6');
    expect(cri.containerd.runtimes.runc).toEqual({ runtime_type: 'io.containerd.runc.v2' });
    expect(cri.containerd.runtimes.vkernel).toEqual({
      runtime_type: 'io.containerd.runc.v2', container_annotations: ['io.vkernel.*'], pod_annotations: ['io.vkernel.*'],
      options: { BinaryName: '/usr/local/bin/vkernel-runtime' },
    });
    expect(backups(d)).toHaveLength(1);
    expect((await vk(['uninstall', 'containerd', '--config-path', f])).exitCode).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(original);
  });

  test('a config without an entry for the default runtime (Debian\'s stock file) gets one, so the CRI plugin still loads', async () => {
    const f = join(dir(), 'config.toml');
    writeFileSync(f, 'version = 2\n');
    expect((await vk(['install', 'containerd', '--config-path', f, '--runtime-path', '/rt'])).exitCode).toBe(0);
    const runtimes = (parse(readFileSync(f, 'utf8')) as any).plugins['io.containerd.grpc.v1.cri'].containerd.runtimes;
    expect(runtimes.runc).toEqual({ runtime_type: 'io.containerd.runc.v2' });
    expect(runtimes.vkernel.options.BinaryName).toBe('/rt');
    await vk(['uninstall', 'containerd', '--config-path', f]);
    expect(readFileSync(f, 'utf8')).toBe('version = 2\n');
  });

  test('invalid TOML: clear error, untouched', async () => {
    const f = join(dir(), 'config.toml');
    writeFileSync(f, 'version = = 2');
    const r = await vk(['install', 'containerd', '--config-path', f]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('is not valid TOML');
    expect(readFileSync(f, 'utf8')).toBe('version = = 2');
  });
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
  expect(c.command.join(' ')).toContain('install containerd --handler vkernel');
  expect(ds.spec.template.spec.volumes.map((v: any) => v.hostPath.path).sort()).toEqual(['/etc/containerd', '/usr/local/bin']);
  // the committed copies are what the command prints
  for (const f of ['runtimeclass.yaml', 'installer-daemonset.yaml', 'rbac.yaml']) {
    expect(readFileSync(new URL(`../../deploy/kubernetes/${f}`, import.meta.url), 'utf8')).toBe(readFileSync(join(out, f), 'utf8'));
  }
});
