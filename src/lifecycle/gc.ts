import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { adaptiveLog, CONTROLLER_GROUP_PREFIX } from '../adaptive/paths.js';
import { SUPERVISOR_GROUP_PREFIX } from '../supervisor/args.js';
import type { Cgroups, CpuGroup } from '../kernel/cgroups/index.js';
import { RT_LOCK, tidyLedger } from '../kernel/backends/rt.js';
import { reviveSupervisor } from '../kernel/backends/rt-v2.js';
import { ledgerFile, prune, readLedger } from '../kernel/backends/rt-ledger.js';
import type { Logger } from '../log/logger.js';
import { parseArgv } from '../oci/argv.js';
import { runcCapture } from '../oci/runc.js';
import { LockBusyError, withLock } from '../store/lock.js';
import { StateStore } from '../store/state.js';
import { inUse } from './leftovers.js';
import { Runtime } from './runtime.js';
import { releaseAll, undoAll } from './undo.js';

export interface GcOptions {
  runc: string;
  roots: string[];
  /** the private bundles of `run` (RUN_BUNDLES) */
  bundles: string;
  /** directories of host-wide locks (rt-budget, module build/load) */
  lockDirs: string[];
  dryRun: boolean;
  log: Logger;
  /** the host's cgroups (default: probed), where adaptive controllers' groups are looked for */
  cgroups?: Cgroups;
  /** module unloading (the real kmod, or a test double where the host has no modules) */
  modules?: { loaded(): string[]; unload(name: string): Promise<unknown> };
  say(line: string): void;
}

/** an unused private bundle may be this young: `run` writes its config.json right after mkdir */
const BUNDLE_GRACE_MS = 60_000;

const namesLike = (dir: string, re: RegExp) => {
  try {
    return readdirSync(dir).flatMap((n) => { const m = re.exec(n); return m ? [m[1]] : []; });
  } catch {
    return [];
  }
};
const lockNames = (dir: string) => namesLike(dir, /^vkernel@(.+)\.lock$/);
const adaptiveLogs = (dir: string) => namesLike(dir, /^vkernel@(.+)\.adaptive\.log$/);

/**
 * Removes what vkernel-runtime left behind. Each container is handled under its lock, taken
 * without waiting (a container that a live vkernel-runtime holds is busy, not a leftover):
 * state whose container is gone is undone (RT budgets, helpers, module, private bundle, state,
 * temp files of a killed writer); the lock file goes with our release of it. Then: lock files of
 * host-wide locks nobody holds, private bundles no state uses, modules no state uses. One failure
 * is reported and the rest still run. Returns the failures.
 */
export async function gc(o: GcOptions): Promise<string[]> {
  const failed: string[] = [];
  const act = o.dryRun ? 'would remove' : 'removing';
  const usedModules = new Set<string>();
  const usedBundles = new Set<string>();
  /** ids of containers that are in use (or locked by a live vkernel-runtime) in some root */
  const liveIds = new Set<string>();
  let groups: Cgroups | undefined;
  const cgroups = () => (groups ??= o.cgroups ?? new Runtime(parseArgv([]), o.log, o.runc).cgroups());

  for (const root of o.roots) {
    const store = new StateStore(root);
    const ids = new Set([...store.list(), ...store.temps().map((t) => t.id), ...lockNames(root), ...adaptiveLogs(root)]);
    for (const id of ids) {
      const work = async () => {
        const state = store.read(id);
        if (state && (await inUse(o.runc, root, state))) {
          liveIds.add(id);
          // a running rt v2 container whose supervisor and sentinel were killed together: a new supervisor
          if (state.backend === 'rt-v2' && !o.dryRun) {
            const undo = (state.applied.find((a) => a.name === 'sched-policy')?.undo as { backendUndo?: unknown } | undefined)?.backendUndo;
            try {
              const said = undo ? reviveSupervisor(new Runtime(parseArgv(['--root', root]), o.log, o.runc).backendDeps(), undo) : undefined;
              if (said) o.say(said);
            } catch (e) {
              failed.push(`${root}: ${id}: rt v2 supervisor: ${(e as Error).message}`);
            }
          }
          if (state.module) usedModules.add(state.module);
          if (state.runBundle) usedBundles.add(state.runBundle);
          return;
        }
        const temps = store.temps().filter((t) => t.id === id);
        if (state) o.say(`${act} ${root}: ${id}${state.module ? ` (module ${state.module})` : ''}`);
        else if (temps.length) o.say(`${act} ${root}: ${id}: ${temps.length} temp file(s) of a killed writer`);
        else if (existsSync(adaptiveLog(root, id))) o.say(`${act} ${root}: ${id}: adaptive log of a deleted container`);
        else o.say(`${act} ${root}: ${id}: lock file of a killed holder`);
        if (o.dryRun) return;
        if (state) {
          const rt = new Runtime(parseArgv(['--root', root]), o.log, o.runc);
          failed.push(...(await releaseAll(rt, state)), ...(await undoAll(rt, state)));
        } else {
          store.remove(id);
          rmSync(adaptiveLog(root, id), { force: true });
        }
      };
      try {
        if (o.dryRun) await work();
        else await withLock(root, id, work, { timeoutMs: 0 });
      } catch (e) {
        if (e instanceof LockBusyError) {
          liveIds.add(id);
          o.say(`${root}: ${id} is locked by a running vkernel-runtime; left alone`);
        }
        else failed.push(`${root}: ${id}: ${(e as Error).message}`);
      }
    }
  }

  // RT ledger holders whose group is gone (a create killed after the ledger recorded its grant and
  // before the state did: no state names it, so no undo above releases it): dropped, parents settled
  for (const dir of o.lockDirs) {
    const file = ledgerFile(dir);
    if (!existsSync(file)) continue;
    try {
      await withLock(dir, RT_LOCK, async () => {
        if (o.dryRun) {
          for (const g of prune(readLedger(file), cgroups())) o.say(`${act} RT ledger holder ${g} (its group is gone)`);
          return;
        }
        // the kernel may still count a group removed a moment ago: tidy again for a few seconds
        for (const deadline = Date.now() + 3000; ;) {
          try {
            for (const g of tidyLedger(cgroups(), file)) o.say(`${act} RT ledger holder ${g} (its group is gone)`);
            break;
          } catch (e) {
            if (Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }, { timeoutMs: 10_000 });
    } catch (e) {
      failed.push(`RT ledger ${file}: ${(e as Error).message}`);
    }
  }

  // the adaptive controller's own group beside its container's (adaptive/paths.ts), and the rt v2
  // supervisor's (supervisor/args.ts): each removes it when it exits, delete when it stops it; one
  // SIGKILLed with its container's state gone after it leaves it. Removed when no process is in it
  // and no container of that id is in use. No age check (cgroupfs inode times are those of the
  // inode's last instantiation, not of the mkdir): a helper whose group vanished between its mkdir
  // and its move makes it again (kernel/cgroups/own-group.ts); one that moved in meanwhile makes
  // the rmdir fail with EBUSY, and the group stays.
  try {
    for (const g of controllerGroups(cgroups().root)) {
      const name = g.dir.slice(g.dir.lastIndexOf('/') + 1);
      const prefix = HELPER_GROUP_PREFIXES.find((p) => name.startsWith(p))!;
      const id = name.slice(prefix.length);
      try {
        if (liveIds.has(id) || g.procs().length) continue;
        if (!o.dryRun) rmdirSync(g.dir);
        o.say(`${act} ${prefix === CONTROLLER_GROUP_PREFIX ? 'adaptive controller' : 'rt v2 supervisor'} cgroup ${g.dir} (its container is gone)`);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'EBUSY') failed.push(`${g.dir}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    failed.push(`adaptive controller cgroups: ${(e as Error).message}`);
  }

  // rt v2 supervisors' logs (teardown removes them) whose container is gone
  for (const dir of o.lockDirs) {
    for (const id of namesLike(dir, /^rt-supervisor@(.+)\.log$/)) {
      if (liveIds.has(id)) continue;
      o.say(`${act} ${join(dir, `rt-supervisor@${id}.log`)} (its container is gone)`);
      if (!o.dryRun) rmSync(join(dir, `rt-supervisor@${id}.log`), { force: true });
    }
  }

  for (const dir of o.lockDirs) {
    for (const name of lockNames(dir)) {
      o.say(`${act} ${join(dir, `vkernel@${name}.lock`)} (nobody holds it)`);
      if (o.dryRun) continue;
      try {
        await withLock(dir, name, async () => {}, { timeoutMs: 0 });
      } catch (e) {
        if (!(e instanceof LockBusyError)) failed.push(`${dir}: ${name}: ${(e as Error).message}`);
      }
    }
  }

  let bundles: string[] = [];
  try { bundles = readdirSync(o.bundles); } catch { /* none yet */ }
  for (const b of bundles) {
    const dir = join(o.bundles, b);
    if (usedBundles.has(dir)) continue;
    try {
      if (await bundleInUse(o, dir)) continue;
      o.say(`${act} private bundle ${dir} (no container uses it)`);
      if (!o.dryRun) rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed.push(`${dir}: ${(e as Error).message}`); // gone meanwhile: fine
    }
  }

  if (o.modules) {
    for (const m of o.modules.loaded()) {
      if (usedModules.has(m)) continue;
      o.say(`${o.dryRun ? 'would unload' : 'unloading'} module ${m} (no container uses it)`);
      if (o.dryRun) continue;
      try {
        await o.modules.unload(m);
      } catch (e) {
        failed.push(`module ${m}: ${(e as Error).message}`);
      }
    }
  }
  for (const f of failed) o.say(`failed: ${f}`);
  return failed;
}

const HELPER_GROUP_PREFIXES = [CONTROLLER_GROUP_PREFIX, SUPERVISOR_GROUP_PREFIX];

/** every group named vkernel-adaptive-<id> or vkernel-rt-<id> below `g` (not below those: a helper's group has no children) */
function controllerGroups(g: CpuGroup, depth = 0): CpuGroup[] {
  if (depth > 32) return [];
  let children: CpuGroup[];
  try {
    children = g.children();
  } catch {
    return []; // removed meanwhile
  }
  const helper = (c: CpuGroup) => { const n = c.dir.slice(c.dir.lastIndexOf('/') + 1); return HELPER_GROUP_PREFIXES.some((p) => n.startsWith(p)); };
  return children.flatMap((c) => (helper(c) ? [c] : controllerGroups(c, depth + 1)));
}

/**
 * A private bundle `<id>-XXXXXX` is in use while the state of `id` in the root its hook names
 * (`--root R` in config.json) refers to it, or runc there knows the container. One whose
 * config.json is missing or unreadable is `run` between mkdir and writing it, unless it is older
 * than a minute.
 */
async function bundleInUse(o: GcOptions, dir: string): Promise<boolean> {
  const id = /^(.+)-[^-]{6}$/.exec(dir.slice(o.bundles.length + 1))?.[1];
  let root: string | undefined;
  try {
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { hooks?: { createRuntime?: { args?: string[] }[] } };
    for (const h of spec.hooks?.createRuntime ?? []) {
      const a = h.args ?? [];
      const i = a.indexOf('vkernel-hook');
      const r = a.indexOf('--root');
      if (i >= 0 && r >= 0 && r < i) root = a[r + 1];
    }
  } catch {
    return Date.now() - statSync(dir).mtimeMs < BUNDLE_GRACE_MS;
  }
  if (!id || !root) return Date.now() - statSync(dir).mtimeMs < BUNDLE_GRACE_MS;
  const r = root;
  const check = async () => {
    const state = existsSync(r) ? new StateStore(r).read(id) : undefined;
    if (state?.runBundle === dir) return true;
    return (await runcCapture(o.runc, ['--root', r, 'state', id])).status === 0;
  };
  // under the container's lock: `run` makes the bundle and writes the state that names it under it
  try {
    return await withLock(r, id, check, { timeoutMs: 0 });
  } catch (e) {
    if (e instanceof LockBusyError) return true;
    throw e;
  }
}
