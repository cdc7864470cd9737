import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs, run, RUNTIME, stateFile, type RunOptions } from './fixtures.js';
import { StateStore } from '../../src/store/state.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => Promise<boolean>, ms = 30000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) if (await fn()) return;
  throw new Error(`timed out waiting for ${what}`);
}

async function stop(p: ResultPromise | undefined): Promise<void> {
  if (!p || p.exitCode !== null) return;
  p.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => { timer = setTimeout(r, 15000); })]);
  clearTimeout(timer);
  if (p.exitCode === null) p.kill('SIGKILL');
}

/** lazily unmounts every mount point at or below dir, deepest first */
async function unmountUnder(dir: string): Promise<void> {
  const points = readFileSync('/proc/self/mounts', 'utf8').split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of points) await execa('umount', ['-l', m], { reject: false });
}

/** dockerd on a private data-root/exec-root/socket, with no host network changes (HOST.md) */
export class Dockerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'vk-docker-'));
  /** dataRoot: keep images and the build cache there across runs (default: inside the temp dir) */
  constructor(private readonly dataRoot?: string) {}
  readonly sock = join(this.dir, 'docker.sock');
  private made?: string;
  /** in /run (made on first use: a describe block whose tests are all filtered out never starts or stops its daemon) */
  get execRoot(): string { return this.made ??= mkdtempSync('/run/vk-dx-'); }
  readonly config = join(this.dir, 'daemon.json');
  private proc?: ResultPromise;

  /** the runc --root dockerd's shim gives runtimes */
  get runtimeRoot(): string { return join(this.execRoot, 'runtime-runc/moby'); }

  writeConfig(runtimes: Record<string, unknown> = { 'vkernel-runtime': { path: RUNTIME } }, extra: Record<string, unknown> = {}): void {
    writeFileSync(this.config, JSON.stringify({
      'data-root': this.dataRoot ?? join(this.dir, 'data'), 'exec-root': this.execRoot, pidfile: join(this.dir, 'pid'),
      hosts: [`unix://${this.sock}`], bridge: 'none', iptables: false, 'ip-forward': false, 'ip-masq': false,
      runtimes, ...extra,
    }, null, 2));
  }

  /** `env`: more of dockerd's environment (its containerd's, its shims', and so the runtime's) */
  async start(env: Record<string, string> = {}): Promise<void> {
    if (!existsSync(this.config)) this.writeConfig();
    this.proc = execa('dockerd', ['--config-file', this.config], { reject: false, stdio: ['ignore', 'ignore', 'ignore'], env });
    await until('dockerd', async () => (await this.docker(['info'])).exitCode === 0);
  }

  docker(args: string[], o: RunOptions = {}) {
    // /usr/bin/docker: the Debian 20.10 client (a newer client elsewhere on PATH refuses API 1.41)
    return run('/usr/bin/docker', ['-H', `unix://${this.sock}`, ...args], o);
  }

  async importBusybox(tag = 'vk/busybox'): Promise<void> {
    const tar = join(this.dir, 'busybox.tar');
    await execa('tar', ['-C', busyboxRootfs(), '-cf', tar, '.']);
    const r = await this.docker(['import', tar, tag]);
    if (r.exitCode !== 0) throw new Error(`docker import: ${r.stderr}`);
  }

  async stop(): Promise<void> {
    const ids = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await this.docker(['rm', '-f', ...ids]);
    await stop(this.proc);
    await removeEngineCgroups('docker');
    // dockerd leaves <exec-root>/netns/default mounted after a `docker build --network host`
    if (this.made) {
      await unmountUnder(this.made);
      rmSync(this.made, { recursive: true, force: true });
    }
    // the temp dir holds the daemon's data-root unless one was given: nothing left on the host
    await unmountUnder(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** containerd with its own root, state and socket */
export class Containerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'vk-ctrd-'));
  readonly sock = join(this.dir, 'containerd.sock');
  readonly config = join(this.dir, 'config.toml');
  private proc?: ResultPromise;

  writeConfig(extra = ''): void {
    writeFileSync(this.config, `version = 2\nroot = "${this.dir}/root"\nstate = "${this.dir}/state"\n[grpc]\n  address = "${this.sock}"\n${extra}`);
  }

  async start(): Promise<void> {
    if (!existsSync(this.config)) this.writeConfig();
    this.proc = execa('containerd', ['--config', this.config], { reject: false, stdio: ['ignore', 'ignore', 'ignore'] });
    await until('containerd', async () => existsSync(this.sock) && (await this.ctr(['version'])).exitCode === 0);
  }

  ctr(args: string[], o: RunOptions = {}) {
    return run('ctr', ['-a', this.sock, ...args], o);
  }

  /** runc --root the runc shim gives a runtime for namespace ns */
  runtimeRoot(ns = 'default'): string { return join('/run/containerd/runc', ns); }

  async stop(): Promise<void> {
    await stop(this.proc);
    await removeEngineCgroups('default');
    await unmountUnder(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** podman, daemonless, with private storage */
export class Podman {
  readonly dir = mkdtempSync(join(tmpdir(), 'vk-podman-'));
  private made?: string;
  /** podman refuses a runroot longer than 50 characters (the test tiers' TMPDIR is nested deeper): a short one in /run, made on first use */
  get runroot(): string { return this.made ??= mkdtempSync('/run/vk-podman-'); }
  constructor(private readonly extraGlobal: string[] = []) {
    mkdirSync(join(this.dir, 'tmp'));
  }

  podman(args: string[], o: RunOptions = {}) {
    return run('podman', ['--root', join(this.dir, 'root'), '--runroot', this.runroot, '--tmpdir', join(this.dir, 'tmp'),
      '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...this.extraGlobal, ...args], o);
  }

  /** removes what podman leaves: its cgroups, and its storage (it keeps root/overlay mounted) */
  async cleanup(): Promise<void> {
    await removeEngineCgroups('libpod_parent');
    for (const d of [this.made, this.dir]) {
      if (!d) continue;
      await unmountUnder(d);
      rmSync(d, { recursive: true, force: true });
    }
  }

  /** podman run flags this host needs (no CAP_SYS_RESOURCE: explicit ulimits) */
  static readonly RUN = ['--network', 'none', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'];
}

/** rmdir a cgroup and its child groups, deepest first; a group that still has tasks stays */
function rmdirTree(dir: string): void {
  let entries: import('node:fs').Dirent[];
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) if (e.isDirectory()) rmdirTree(join(dir, e.name));
  try { rmdirSync(dir); } catch { /* still used */ }
}

/** the parent cgroups an engine made (docker, default, libpod_parent, with e.g. conmon below), removed when empty */
export async function removeEngineCgroups(name: string): Promise<void> {
  const dirs = readdirSync('/sys/fs/cgroup').flatMap((h) => [join('/sys/fs/cgroup', h, name), join('/sys/fs/cgroup', h, 'process_api', name)]);
  // the engine's last helpers (e.g. podman's conmon) may still be leaving their group
  for (let i = 0; i < 30 && dirs.some((d) => existsSync(d)); i++) {
    dirs.forEach(rmdirTree);
    if (dirs.some((d) => existsSync(d))) await sleep(100);
  }
}

/**
 * our files under a runc root, relative to it: beside runc's container directories (`vkernel@...`)
 * and states handed to one (`<id>/vkernel.json`, StateStore.handToRunc)
 */
export function vkernelFiles(root: string): string[] {
  try {
    const store = new StateStore(root);
    return readdirSync(root).flatMap((f) => {
      if (f.startsWith('vkernel@')) return [f];
      try {
        return existsSync(store.runcOwnedPath(f)) ? [`${f}/vkernel.json`] : [];
      } catch {
        return []; // not a container id
      }
    });
  } catch {
    return [];
  }
}

/** the name vkernelFiles gives the state of `id` (wherever the StateStore keeps it); undefined: none */
export function stateName(root: string, id: string): string | undefined {
  const f = stateFile(root, id);
  return f === undefined ? undefined : f.slice(root.replace(/\/$/, '').length + 1);
}
