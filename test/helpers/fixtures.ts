import { execa, type Options } from 'execa';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
export const RUNTIME = join(REPO, 'bin/vkernel-runtime');

/** A busybox rootfs, built once per test process (the container image of every test). */
let rootfs: string | undefined;
export function busyboxRootfs(): string {
  if (rootfs) return rootfs;
  const dir = mkdtempSync(join(tmpdir(), 'vk-rootfs-'));
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(dir, d));
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = ['sh', 'echo', 'cat', 'sleep', 'tty', 'ls', 'true', 'false', 'test', 'grep', 'mkdir', 'chrt', 'id', 'ps', 'head', 'awk', 'nproc', 'yes', 'dd', 'cut'];
  for (const a of applets) symlinkSync('busybox', join(dir, 'bin', a));
  rootfs = dir;
  return dir;
}

export interface BundleOptions {
  args: string[];
  annotations?: Record<string, string>;
  env?: string[];
  terminal?: boolean;
  cgroupsPath?: string;
}

/** A bundle made by `runc spec`, pointed at the busybox rootfs. */
export async function makeBundle(o: BundleOptions): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vk-bundle-'));
  await execa('runc', ['spec'], { cwd: dir });
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  spec.root = { path: busyboxRootfs(), readonly: true };
  spec.process.terminal = o.terminal ?? false;
  spec.process.args = o.args;
  if (o.env) spec.process.env = [...spec.process.env, ...o.env];
  if (o.annotations) spec.annotations = o.annotations;
  if (o.cgroupsPath) spec.linux.cgroupsPath = o.cgroupsPath;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

export function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'vk-root-'));
}

let n = 0;
/** a container id unique to this test process */
export function uid(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${n++}`;
}

export const vk = (args: string[], o: Options = {}) => execa(RUNTIME, args, { reject: false, ...o });
export const runc = (args: string[], o: Options = {}) => execa('runc', args, { reject: false, ...o });

/** what a host operator would look at for leftovers of a container */
export function leftovers(root: string, id: string): string[] {
  const found: string[] = [];
  if (existsSync(join(root, id))) found.push(`runc dir ${join(root, id)}`);
  if (existsSync(join(root, `vkernel@${id}.json`))) found.push('vkernel state');
  for (const c of ['cpu', 'memory', 'pids', 'cpuset']) if (existsSync(`/sys/fs/cgroup/${c}/${id}`)) found.push(`cgroup ${c}/${id}`);
  return found;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('integration tests need root (they start real containers with runc)');
}
