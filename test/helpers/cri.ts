import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeEngineCgroups } from './engines.js';
import { REPO } from './fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A docker-archive tar (what `docker save` writes: manifest.json + image config + one layer) of
 * `rootfs`, tagged `tag`, whose default command is `cmd`. `ctr images import` reads it; no registry.
 */
export async function buildImage(rootfs: string, tag: string, cmd: string[], out: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vk-image-'));
  try {
    await execa('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', join(dir, 'layer.tar'), '.']);
    const diffId = `sha256:${createHash('sha256').update(readFileSync(join(dir, 'layer.tar'))).digest('hex')}`;
    const config = JSON.stringify({
      architecture: 'amd64', os: 'linux', created: '2026-01-01T00:00:00Z',
      config: { Cmd: cmd, Env: ['PATH=/bin'], WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '2026-01-01T00:00:00Z', created_by: 'vkernel-runtime test/helpers/cri.ts' }],
    });
    const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
    writeFileSync(join(dir, configName), config);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: ['layer.tar'] }]));
    await execa('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', dir, '-cf', out, 'manifest.json', configName, 'layer.tar']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * containerd with its own root, state, socket and log file, for the CRI plugin: the same private
 * layout as `Containerd` in engines.ts, plus what the CRI plugin needs on this host (see
 * test/e2e/cri.test.ts) and a log the test can show when containerd refuses something.
 */
export class CriContainerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'vk-cri-'));
  readonly sock = join(this.dir, 'containerd.sock');
  readonly config = join(this.dir, 'config.toml');
  readonly log = join(this.dir, 'containerd.log');
  /** the namespace the CRI plugin works in; the runc shim gives runtimes --root /run/containerd/runc/k8s.io */
  readonly ns = 'k8s.io';
  readonly runtimeRoot = join('/run/containerd/runc', this.ns);
  private proc?: ResultPromise;

  /** private root/state/socket (as Containerd.writeConfig) followed by `extra` TOML text */
  writeConfig(extra = ''): void {
    writeFileSync(this.config, `version = 2\nroot = "${this.dir}/root"\nstate = "${this.dir}/state"\n[grpc]\n  address = "${this.sock}"\n${extra}`);
  }

  /** an empty directory under this containerd's temp dir */
  subdir(name: string): string {
    const d = join(this.dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  /** `command`: what to run instead of `containerd --config <config>` (it must exec containerd, same pid) */
  async start(command: string[] = ['containerd', '--config', this.config]): Promise<void> {
    this.proc = execa(command[0], command.slice(1), { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: { file: this.log } });
    for (const end = Date.now() + 30000; Date.now() < end; await sleep(200)) {
      if (this.proc.exitCode !== null) throw new Error(`containerd exited ${this.proc.exitCode}:\n${this.logTail()}`);
      if (existsSync(this.sock) && (await this.ctr(['version'])).exitCode === 0) return;
    }
    throw new Error(`containerd did not start:\n${this.logTail()}`);
  }

  ctr(args: string[]) {
    return execa('ctr', ['-a', this.sock, '-n', this.ns, ...args], { reject: false });
  }

  /** containerd's warnings and errors (the place to look when the CRI plugin refuses something) */
  logTail(lines = 40): string {
    try {
      return readFileSync(this.log, 'utf8').split('\n').filter((l) => /level=(warning|error|fatal)/.test(l)).slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** whether containerd's log says the CRI plugin failed to load (and why) */
  criLoadError(): string | undefined {
    try {
      return readFileSync(this.log, 'utf8').split('\n').find((l) => l.includes('failed to load plugin io.containerd.grpc.v1.cri'));
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null) {
      p.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([p.catch(() => undefined), new Promise((r) => { timer = setTimeout(r, 15000); })]);
      clearTimeout(timer);
      if (p.exitCode === null) {
        p.kill('SIGKILL');
        await p.catch(() => undefined);
      }
    }
    // the parent cgroup the runc shim puts CRI containers under (cgroupsPath /k8s.io/<id>)
    await removeEngineCgroups(this.ns);
    for (const d of engineCgroupDirs(this.ns)) {
      try { rmdirSync(d); } catch { /* still used */ }
    }
  }

  /** stopped: its temp dir goes (unmounting what containerd may have left mounted under it) */
  async remove(): Promise<void> {
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
      .map((m) => m.replace(/\\040/g, ' ')).filter((m) => m.startsWith(`${this.dir}/`)).reverse();
    for (const m of mounts) await execa('umount', ['-l', m], { reject: false });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Every cgroup directory called `name` at the top of a v1 hierarchy or under the caller's own nested
 * cgroup (memory nests under the caller's here: /sys/fs/cgroup/memory/process_api/<x>/<name>).
 */
export function engineCgroupDirs(name: string): string[] {
  const found: string[] = [];
  const dirs = (d: string) => {
    try {
      return readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name));
    } catch {
      return [];
    }
  };
  for (const h of dirs('/sys/fs/cgroup')) {
    const candidates = [join(h, name), join(h, 'process_api', name), ...dirs(join(h, 'process_api')).map((d) => join(d, name))];
    for (const d of candidates) if (existsSync(d)) found.push(d);
  }
  return [...new Set(found)];
}

/**
 * Removes the cgroup `path` (e.g. /kubepods-x/besteffort/pod1) and then its ancestors below the
 * hierarchy root, deepest first, in every v1 hierarchy (and under the caller's nested memory cgroup),
 * as kubelet removes a pod's cgroup. Returns the directories still there (not empty: still used).
 */
export function removeCgroupPath(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const left: string[] = [];
  const dirs = (d: string) => {
    try {
      return readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name));
    } catch {
      return [];
    }
  };
  for (const h of dirs('/sys/fs/cgroup')) {
    for (const base of [h, ...dirs(join(h, 'process_api'))]) {
      for (let i = parts.length; i > 0; i--) {
        const d = join(base, ...parts.slice(0, i));
        if (!existsSync(d)) continue;
        try { rmdirSync(d); } catch { left.push(d); }
      }
    }
  }
  return left;
}

/**
 * Removes every empty cgroup under `top` (e.g. /kubepods-x) in every hierarchy, deepest first: what a
 * killed earlier run of a test that owns `top` left (a pod parent with a stale pod<pid> below makes
 * that test's own removeCgroupPath leave the parents). Groups with tasks stay. Returns what stayed.
 */
export function removeStaleCgroupTree(top: string): string[] {
  const left: string[] = [];
  const below = (d: string): string[] => {
    let kids: string[] = [];
    try { kids = readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name)); } catch { /* gone */ }
    return [...kids.flatMap(below), d];
  };
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const d = join('/sys/fs/cgroup', h, top);
    if (!existsSync(d)) continue;
    for (const g of below(d)) {
      try { rmdirSync(g); } catch { left.push(g); }
    }
  }
  return left;
}

const PROTO = join(REPO, 'test/e2e/cri/runtime-v1.proto');

type Call = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res: unknown) => void) => void;

/** A CRI runtime.v1 RuntimeService client over containerd's unix socket (what kubelet speaks). */
export class CriClient {
  private readonly client: grpc.Client;

  constructor(sock: string) {
    const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } } };
    this.client = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure());
  }

  /** one unary call; rejects with the grpc ServiceError (code, details = the runtime's message) */
  call<T = Record<string, any>>(method: string, req: Record<string, unknown>, timeoutMs = 60000): Promise<T> {
    const fn = (this.client as unknown as Record<string, Call>)[method];
    if (typeof fn !== 'function') throw new Error(`no CRI method ${method} in ${PROTO}`);
    return new Promise((resolve, reject) => {
      fn.call(this.client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (e, res) => (e ? reject(e) : resolve(res as T)));
    });
  }

  close(): void {
    this.client.close();
  }
}
