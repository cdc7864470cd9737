import { execa, type Options } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountinfo, REPO, type RunOptions } from './fixtures.js';
import type { Prerequisite } from './prereq.js';

/**
 * A real systemd for the tests of the systemd cgroup driver on a host whose PID 1 is not systemd:
 * /usr/bin/systemd as PID 1 of private pid, mount, cgroup, uts and ipc namespaces, in a group of
 * its own in every hierarchy (`vk-sd-<test pid>-<n>`, the sandbox's cgroup root), running a target
 * of its own and nothing else. runc's `--systemd-cgroup` talks to it over /run/systemd/private as
 * on a systemd host (transient scopes, slices); commands run inside with `nsenter` (exec()).
 * stop() kills systemd (the pid namespace and every process in it go with it) and removes the
 * groups. The sandbox's /run is its own: runc roots, our state and locks and RT ledger there are
 * the sandbox's.
 */
const SCRIPT = join(REPO, 'test/helpers/systemd-sandbox.sh');
const CGROUP = '/sys/fs/cgroup';

export const SYSTEMD: Prerequisite = {
  name: 'systemd (/usr/bin/systemd) and unshare/nsenter (util-linux)',
  ok: existsSync('/usr/bin/systemd') && existsSync('/usr/bin/unshare') && existsSync('/usr/bin/nsenter'),
  how: 'Debian\'s systemd package (scripts/setup.sh installs it); it need not be the host\'s init',
};

interface Mount { type: string; opts: string; dir: string }

/** the cgroup mounts under /sys/fs/cgroup (and the tmpfs holding them, on a v1/hybrid host) */
function cgroupMounts(): Mount[] {
  return mountinfo().flatMap(({ dir, fstype: type, superOpts }) => {
    if (dir !== CGROUP && !dir.startsWith(`${CGROUP}/`)) return [];
    if (type === 'tmpfs' && dir === CGROUP) return [{ type, opts: 'mode=0755', dir }];
    // v1: the controllers and name= of the hierarchy (rw and the like are the mount's, not the hierarchy's)
    if (type === 'cgroup') return [{ type, opts: superOpts.split(',').filter((o) => o !== 'rw' && o !== 'ro').join(','), dir }];
    return type === 'cgroup2' ? [{ type, opts: '', dir }] : [];
  });
}

let count = 0;

export class SystemdSandbox {
  private constructor(
    /** systemd's pid on the host */
    readonly pid: number,
    private readonly starter: ReturnType<typeof execa>,
    /** the sandbox's group directory in each hierarchy (on the host) */
    readonly groups: Map<string, string>,
  ) {}

  /**
   * boots systemd in its sandbox and waits until it answers on its private bus. unified: the
   * sandbox sees only the host's cgroup v2 hierarchy, mounted at /sys/fs/cgroup (a cgroup v2 host
   * as systemd and runc and the runtime see it; the sandbox's tasks stay in its v1 groups too, e.g.
   * for the RT budget SCHED_FIFO needs on a kernel with RT group scheduling)
   */
  static async start(o: { unified?: boolean } = {}): Promise<SystemdSandbox> {
    const name = `vk-sd-${process.pid}-${count++}`;
    const all = cgroupMounts();
    const v2 = all.find((m) => m.type === 'cgroup2');
    if (o.unified && !v2) throw new Error('no cgroup v2 hierarchy on this host');
    const mounts = o.unified && v2 ? [{ ...v2, dir: CGROUP }] : all;
    const groups = new Map<string, string>();
    for (const m of all.filter((x) => x.type !== 'tmpfs')) {
      const dir = join(m.dir, name);
      mkdirSync(dir);
      // keyed by where the sandbox mounts the hierarchy
      groups.set(o.unified && m === v2 ? CGROUP : m.dir, dir);
      // cpuset: a new group has no CPUs until given its parent's
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (existsSync(join(dir, f))) writeFileSync(join(dir, f), readFileSync(join(m.dir, f)));
      }
    }
    try {
      // RT budget for what runs inside (v1 with RT group scheduling): a new group has none
      const rt = [...groups.values()].map((d) => join(d, 'cpu.rt_runtime_us')).find((f) => existsSync(f));
      if (rt) writeFileSync(rt, '500000');
      const procs = [...groups.values()].map((d) => join(d, 'cgroup.procs'));
      const specs = mounts.map((m) => `${m.type}:${m.opts}:${m.dir}`);
      const starter = execa('sh', [SCRIPT, 'outer', ...procs, '--', ...specs], { reject: false, stdin: 'ignore', all: true });
      let pid: number | undefined;
      for (let t = 0; t < 100 && !pid; t++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          const k = Number(readFileSync(`/proc/${starter.pid}/task/${starter.pid}/children`, 'utf8').trim().split(' ')[0]);
          if (k && readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'systemd') pid = k;
        } catch { /* not there yet, or gone: the exit is seen below */ }
        if (starter.exitCode !== null) break;
      }
      if (!pid) {
        starter.kill('SIGKILL'); // unshare --kill-child takes what it started with it
        throw new Error(`systemd did not start in its sandbox: ${(await starter).all}`);
      }
      const s = new SystemdSandbox(pid, starter, groups);
      for (let t = 0; t < 100; t++) {
        const r = await s.exec(['systemctl', 'is-system-running']);
        if (/^(running|degraded)/.test(r.stdout)) return s;
        await new Promise((res) => setTimeout(res, 100));
      }
      const r = await s.exec(['systemctl', 'is-system-running']);
      await s.stop();
      throw new Error(`systemd in its sandbox is not running: ${r.stdout} ${r.stderr}`);
    } catch (e) {
      removeGroups(groups);
      throw e;
    }
  }

  /** runs argv inside the sandbox (every namespace of systemd, its root and working directory) */
  exec(argv: string[], o: RunOptions = {}) {
    return execa('nsenter', ['-t', String(this.pid), '-a', '--', ...argv], { reject: false, ...o } as Options) as unknown as Promise<{ exitCode: number; stdout: string; stderr: string }>;
  }

  /** a group's directory on the host, from its path inside the sandbox (e.g. /system.slice) */
  hostDir(hierarchyDir: string, path: string): string {
    const g = this.groups.get(hierarchyDir);
    if (!g) throw new Error(`no hierarchy mounted at ${hierarchyDir}`);
    return join(g, path);
  }

  /** kills systemd and everything in its pid namespace, then removes the sandbox's groups */
  async stop(): Promise<void> {
    try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ }
    await this.starter;
    for (let t = 0; t < 50; t++) {
      if (removeGroups(this.groups)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sandbox groups still there: ${[...this.groups.values()].filter(existsSync).join(', ')}`);
  }
}

/**
 * removes each group and every group below it, deepest first; true when all are gone. A group's RT
 * budget is zeroed before its rmdir: the kernel frees a removed group's budget only once the group
 * is offline (asynchronously), and the next sandbox's budget would not fit until then.
 */
function removeGroups(groups: Map<string, string>): boolean {
  let ok = true;
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
    }
    try { writeFileSync(join(d, 'cpu.rt_runtime_us'), '0'); } catch { /* not the cpu hierarchy, or gone */ }
    try { rmdirSync(d); } catch { ok = false; }
  };
  for (const d of groups.values()) if (existsSync(d)) walk(d);
  return ok;
}
