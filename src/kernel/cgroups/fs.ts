import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { cgroupfsPath } from './path.js';
import type { Cgroups, CpuGroup } from './types.js';
import { timed } from '../../profile.js';

const ids = (text: string) => text.split('\n').filter(Boolean).map(Number);

/** What differs between the v1 and v2 layouts of a group. */
export interface Layout {
  /** the file listing the group's threads */
  threadsFile: string;
  /** where the group's CPU time is accounted, given one of its tasks (v1: the cpuacct hierarchy) */
  accountingPath(path: string, accountingPid?: number): string;
  /** CPU time of the group, ns */
  usageNs(group: CpuGroup, accountingPath: string): bigint;
}

/** A group in a mounted cgroup filesystem. */
export class FsGroup implements CpuGroup {
  constructor(private readonly cgroups: FsCgroups, readonly path: string, readonly dir: string, private readonly accountingPath = path) {}

  exists(): boolean { return existsSync(this.dir); }
  id(): number | undefined { return statSync(this.dir, { throwIfNoEntry: false })?.ino; }
  has(file: string): boolean { return existsSync(join(this.dir, file)); }
  read(file: string): string { return readFileSync(join(this.dir, file), 'utf8').trim(); }
  write(file: string, value: string): void { timed('cgroup-write', () => writeFileSync(join(this.dir, file), value)); }

  parent(): CpuGroup | undefined {
    return this.path === '/' ? undefined : this.cgroups.group(posix.dirname(this.path));
  }

  children(): CpuGroup[] {
    return readdirSync(this.dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => this.cgroups.group(posix.join(this.path, e.name)));
  }

  procs(): number[] { return ids(this.read('cgroup.procs')); }
  threads(): number[] { return ids(this.read(this.cgroups.layout.threadsFile)); }
  usageNs(): bigint { return this.cgroups.layout.usageNs(this, this.accountingPath); }
}

/** The cpu controller's hierarchy mounted at `base`, with the cgroupfs driver's naming. */
export abstract class FsCgroups implements Cgroups {
  abstract readonly version: 'v1' | 'v2';
  readonly driver: 'cgroupfs' | 'systemd' = 'cgroupfs';
  abstract readonly layout: Layout;

  constructor(readonly base: string, readonly proc = '/proc') {}

  get root(): CpuGroup { return this.group('/'); }

  containerPath(cgroupsPath: string | undefined, id: string): string {
    return cgroupfsPath(cgroupsPath, id);
  }

  abstract taskPath(pid: number): string | undefined;

  group(path: string, accountingPid?: number): CpuGroup {
    const dir = join(this.base, path).replace(/(?<=.)\/$/, '');
    if (dir !== this.base && !dir.startsWith(`${this.base}/`)) throw new Error(`cgroup path ${path} escapes ${this.base}`);
    const rel = posix.join('/', dir.slice(this.base.length));
    return new FsGroup(this, rel, dir, accountingPid === undefined ? rel : this.layout.accountingPath(rel, accountingPid));
  }

  groupAt(dir: string): CpuGroup {
    if ((dir !== this.base && !dir.startsWith(`${this.base}/`)) || dir.split('/').includes('..')) {
      throw new Error(`${dir} is not a group of the cgroup hierarchy ${this.base}`);
    }
    return this.group(dir.slice(this.base.length) || '/');
  }
}
