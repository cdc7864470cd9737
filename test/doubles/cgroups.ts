import { posix } from 'node:path';
import type { Cgroups, CpuGroup } from '../../src/kernel/cgroups/types.js';

/**
 * Test double of the cgroups interface (src/kernel/cgroups/types.ts): an in-memory cpu hierarchy
 * whose controller files are plain values. It records every write in order and refuses the writes
 * a test asks it to refuse (with an errno code, as the kernel does). It never models the kernel's
 * own rules: what the kernel accepts is proven by the integration tier on real cgroups.
 */
interface Node { files: Map<string, string>; procs: number[]; threads: number[]; usage: bigint; id: number }

export class MemoryCgroups implements Cgroups {
  readonly nodes = new Map<string, Node>();
  readonly writes: { path: string; file: string; value: string }[] = [];
  private readonly refusals = new Map<string, string>();
  /** each group made gets the next id (like cgroupfs inode numbers: never given twice) */
  private nextId = 1;

  constructor(readonly version: 'v1' | 'v2' = 'v1', readonly driver: 'cgroupfs' | 'systemd' = 'cgroupfs', readonly base = '/cg') {
    this.add('/', {});
  }

  /** creates the group (and its ancestors) with these controller files */
  add(path: string, files: Record<string, string | number>, tasks: number[] = []): this {
    const parent = posix.dirname(path);
    if (path !== '/' && !this.nodes.has(parent)) this.add(parent, {});
    const node: Node = this.nodes.get(path) ?? { files: new Map(), procs: [], threads: [], usage: 0n, id: this.nextId++ };
    for (const [k, v] of Object.entries(files)) node.files.set(k, String(v));
    node.procs.push(...tasks);
    node.threads.push(...tasks);
    this.nodes.set(path, node);
    return this;
  }

  remove(path: string): void {
    for (const p of [...this.nodes.keys()]) if (p === path || p.startsWith(`${path}/`)) this.nodes.delete(p);
  }

  /** the next writes of `file` in `path` fail with `code` (EBUSY, EINVAL, ...) until allowed again */
  refuse(path: string, file: string, code: string): void { this.refusals.set(`${path}\0${file}`, code); }
  allow(path: string, file: string): void { this.refusals.delete(`${path}\0${file}`); }

  value(path: string, file: string): string | undefined { return this.nodes.get(path)?.files.get(file); }

  get root(): CpuGroup { return this.group('/'); }

  containerPath(cgroupsPath: string | undefined, id: string): string {
    return cgroupsPath ?? `/${id}`;
  }

  taskPath(pid: number): string | undefined {
    for (const [path, n] of this.nodes) if (n.procs.includes(pid)) return path;
    return undefined;
  }

  group(path: string): CpuGroup {
    const dir = posix.join(this.base, path).replace(/(?<=.)\/$/, '');
    if (dir !== this.base && !dir.startsWith(`${this.base}/`)) throw new Error(`cgroup path ${path} escapes ${this.base}`);
    return this.handle(dir.slice(this.base.length) || '/');
  }

  groupAt(dir: string): CpuGroup {
    if ((dir !== this.base && !dir.startsWith(`${this.base}/`)) || dir.split('/').includes('..')) throw new Error(`${dir} is not a group of the cgroup hierarchy ${this.base}`);
    return this.handle(dir.slice(this.base.length) || '/');
  }

  private handle(path: string): CpuGroup {
    const dir = path === '/' ? this.base : `${this.base}${path}`;
    const node = () => {
      const n = this.nodes.get(path);
      if (!n) throw Object.assign(new Error(`ENOENT: ${dir}`), { code: 'ENOENT' });
      return n;
    };
    const cg = this;
    return {
      path, dir,
      exists: () => this.nodes.has(path),
      id: () => this.nodes.get(path)?.id,
      has: (file) => this.nodes.get(path)?.files.has(file) ?? false,
      read(file) {
        const v = node().files.get(file);
        if (v === undefined) throw Object.assign(new Error(`ENOENT: ${dir}/${file}`), { code: 'ENOENT' });
        return v;
      },
      write(file, value) {
        const n = node();
        const code = cg.refusals.get(`${path}\0${file}`);
        if (code) throw Object.assign(new Error(`${code}: write ${dir}/${file}`), { code });
        n.files.set(file, value);
        cg.writes.push({ path, file, value });
      },
      parent: () => (path === '/' ? undefined : this.handle(posix.dirname(path))),
      children: () => [...this.nodes.keys()].filter((p) => p !== '/' && posix.dirname(p) === path).map((p) => this.handle(p)),
      procs: () => [...node().procs],
      threads: () => [...node().threads],
      usageNs: () => node().usage,
    };
  }
}
