import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy, Sources } from '../policy/types.js';
import { faultPoint } from './fault.js';
import type { ProcRef } from './proc.js';
import { registerRoot } from './roots.js';
import { timed } from '../profile.js';

/** runc's default --root for root */
export const DEFAULT_ROOT = '/run/runc';
/** where the OCI hook (lifecycle/oci-hook.ts) keeps its state when the engine gives no --root */
export const HOOK_ROOT = '/run/vkernel-runtime/hooks';

/** our state's name inside runc's container directory (StateStore.handToRunc) */
const RUNC_OWNED = 'vkernel.json';

/**
 * beside our handed-over state: a symbolic link to the container's cpu cgroup directory, whose RT
 * budget the launcher zeroes before it passes `delete` to runc (StateStore.linkRtGroup)
 */
export const RUNC_OWNED_RT_GROUP = 'vkernel.rt-group';

/**
 * beside our handed-over state: the name of the container's module (a line), which the launcher
 * unloads after runc's delete (StateStore.markModule)
 */
export const RUNC_OWNED_MODULE = 'vkernel.module';

/** runc's container id rule; also keeps ids from ever naming a path outside the root */
const ID_RE = /^[\w+\-.]+$/;

export function checkId(id: string): void {
  if (!ID_RE.test(id) || id === '.' || id === '..') throw new Error(`invalid container id format: ${JSON.stringify(id)}`);
}

/** What vkernel-runtime knows about one container (runc keeps the rest). */
export interface ContainerState {
  version: 1;
  id: string;
  bundle: string;
  created: string;
  policy: Policy;
  sources: Sources;
  /** init pid on the host, as read after `runc create`, and its start time (store/proc.ts) */
  pid?: number;
  pidStart?: string;
  /**
   * the vkernel-runtime process that wrote this state first: while it lives (same start time) the
   * state is in use even if runc does not know the container yet (`run` between writing it and
   * `runc run`), so gc leaves it alone
   */
  owner?: ProcRef;
  backend?: string;
  cgroupPath?: string;
  module?: string;
  /** `run` with a vkernel request: the private bundle holding config.json with our hook */
  runBundle?: string;
  /** helper processes (e.g. the adaptive controller): pid and start time; a bare pid in older state */
  helpers: Record<string, ProcRef | number>;
  /**
   * set by create's first state write, cleared by the write that records its last applier: a state
   * that still says so belongs to a create that was killed before its whole request was in force,
   * and `start` refuses to run that container (lifecycle/start.ts). Absent in older states: done.
   */
  creating?: true;
  /**
   * with `creating`: why the request could not be put in force after runc's create had returned to
   * its caller (a create handed over with appliers that apply late: Applier.late). What had applied
   * was undone; `start` refuses the container with this reason, `delete` removes it
   */
  failed?: string;
  /** names of the appliers that applied, in order, with what each needs to undo */
  applied: { name: string; undo?: unknown }[];
}

/**
 * Files sit beside runc's container directories under `--root` (so containerd namespaces stay
 * apart), named `vkernel@<id>.json`: `@` cannot occur in a runc id, and runc's `list` skips files.
 */
export class StateStore {
  /** `rootsDir`: the registry a write records this root in (RuntimeEnv.rootsDir); none: not recorded (readers) */
  constructor(readonly root: string, private readonly rootsDir?: string) {}

  path(id: string): string {
    checkId(id);
    return join(this.root, `vkernel@${id}.json`);
  }

  /**
   * where the state of a container with nothing to undo after runc's delete lives (handToRunc):
   * inside runc's own container directory, which runc's delete removes whole
   */
  runcOwnedPath(id: string): string {
    checkId(id);
    return join(this.root, id, RUNC_OWNED);
  }

  read(id: string): ContainerState | undefined {
    for (const file of [this.path(id), this.runcOwnedPath(id)]) {
      try {
        // (stat first: a create finds neither, and a read that fails costs the thrown error)
        if (!statSync(file, { throwIfNoEntry: false })) continue;
        return JSON.parse(readFileSync(file, 'utf8')) as ContainerState;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      }
    }
    return undefined;
  }

  /** whether runc's state file of `id` is under this root (where runc's delete will remove what we put beside it) */
  private runcHas(id: string): boolean {
    return existsSync(join(this.root, id, 'state.json'));
  }

  /**
   * The state of a created container whose undo has nothing to do once runc has deleted it
   * (lifecycle/undo.ts diesWithContainer) moves into runc's container directory `<root>/<id>/`
   * (one rename): runc's `delete` (with or without --force, and only when it really deletes)
   * removes that directory whole, so our state goes exactly when runc's does, and the launcher
   * passes `delete` straight to runc (it sends delete to the engine only for `vkernel@<id>.json`).
   * Only where runc's state file is where we look (root's runc); else the state stays put.
   */
  handToRunc(id: string): boolean {
    if (!this.runcHas(id)) return false;
    timed('state-handover', () => renameSync(this.path(id), this.runcOwnedPath(id)));
    return true;
  }

  /**
   * After handToRunc: a symbolic link `<root>/<id>/vkernel.rt-group` to the container's cpu cgroup
   * directory (an absolute path under the cgroup mount, from the applier's own record), for the
   * launcher's `delete`: it writes 0 to `cpu.rt_runtime_us` through the link and execs runc, whose
   * delete removes the link with its directory; when the kernel refuses (the group still has RT
   * tasks) it runs the engine's delete instead. Best effort: without the link the budget is freed
   * the lazy way (rt-ledger.ts).
   */
  linkRtGroup(id: string, dir: string): void {
    try {
      timed('rt-group-link', () => symlinkSync(dir, join(this.root, id, RUNC_OWNED_RT_GROUP)));
    } catch { /* the lazy way */ }
  }

  /**
   * Before handToRunc, for a container whose only step left after runc's delete is its module
   * (lifecycle/undo.ts moduleAtDelete): `<root>/<id>/vkernel.module` names the module and the init
   * pid it was loaded for ("<name> <pid>"), and the launcher's `delete` runs runc's delete and then
   * unloads it (bounded retries while the pid namespace still pins it) with no engine; left alone
   * when sysfs says it serves another container or another init (a new container of the same id
   * loaded it meanwhile). A kill between the two leaves a module no state names: gc unloads it.
   * Written first, so that a state handed over always has it; false (the state stays put, delete
   * goes through the engine) where runc's directory is not there or the write fails.
   */
  markModule(id: string, name: string, initPid: number): boolean {
    if (!this.runcHas(id)) return false;
    try {
      timed('module-mark', () => writeFileSync(join(this.root, id, RUNC_OWNED_MODULE), `${name} ${initPid}\n`, { mode: 0o600 }));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * the marker the launcher tests before `start` (bin/vkernel-runtime): this container has work
   * after `runc start` (Applier.startsAfter), so start goes through the engine; without it the
   * launcher execs runc. Written at the end of create, removed before the state file.
   */
  startMarker(id: string): string {
    checkId(id);
    return join(this.root, `vkernel@${id}.start`);
  }

  markStart(id: string): void {
    writeFileSync(this.startMarker(id), '', { mode: 0o600 });
  }

  /**
   * write temp, rename: a reader, and a writer killed at any point (SIGKILL), leave the old or the
   * new state, never a torn one (the rename is atomic; the data is in the page cache either way).
   * No fsync: it only guards against a host crash, and a host crash takes every container with it:
   * runc's own state under the same --root (on /run, a tmpfs on most hosts) is written without
   * fsync too, and what a stale or torn file of ours names after a reboot is cleared by gc (runc no
   * longer knows the container). Measured: two fsyncs per write, 4-6 writes per create+delete,
   * 20-70 ms per container on this host's ext4 under load (npm run bench -- --profile).
   */
  write(state: ContainerState): void {
    timed('state-write', () => this.writeNow(state));
  }

  private writeNow(state: ContainerState): void {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    if (this.rootsDir) registerRoot(this.rootsDir, this.root);
    const file = this.path(state.id);
    const tmp = `${file}.${process.pid}.tmp`;
    faultPoint('before-state-write');
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(state, null, 1)}\n`);
    } finally {
      closeSync(fd);
    }
    faultPoint('mid-state-write');
    renameSync(tmp, file);
  }

  /** the state file and any temp file a writer killed mid-write left (vkernel@<id>.json.<pid>.tmp) */
  remove(id: string): void {
    const file = this.path(id);
    this.removeTemps(id);
    rmSync(this.startMarker(id), { force: true }); // first: a marker never outlives its state file
    rmSync(file, { force: true });
    rmSync(this.runcOwnedPath(id), { force: true }); // (normally gone with runc's directory)
    rmSync(join(this.root, id, RUNC_OWNED_MODULE), { force: true });
  }

  /**
   * the temp files of `id`'s writes that never reached their rename: every writer holds the
   * container's lock, so under it they are a killed writer's (a create killed in its first write
   * leaves one and no state)
   */
  removeTemps(id: string): void {
    for (const t of this.temps().filter((x) => x.id === id)) rmSync(t.path, { force: true });
  }

  /** temp files of writes that never reached their rename (a killed writer) */
  temps(): { id: string; path: string }[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      const m = /^vkernel@(.+)\.json\.\d+\.tmp$/.exec(n);
      return m ? [{ id: m[1], path: join(this.root, n) }] : [];
    });
  }

  /** ids that have a state file under this root (beside runc's directories or in one: handToRunc) */
  list(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      if (n.startsWith('vkernel@') && n.endsWith('.json')) return [n.slice(8, -5)];
      return ID_RE.test(n) && n !== '.' && n !== '..' && existsSync(join(this.root, n, RUNC_OWNED)) ? [n] : [];
    });
  }
}
