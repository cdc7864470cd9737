import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEnv, type RuntimeEnv } from '../env.js';
import { linuxHostOps, type HostOps } from '../host/ops.js';
import { timed } from '../profile.js';
import { faultPoint } from '../store/fault.js';
import { withLock } from '../store/lock.js';
import { buildModule, type BuildOptions } from './build.js';
import { checkName, renameModule } from './elf.js';
import { moduleName } from './name.js';
import { moduleParams } from './deny.js';
import type { Rules } from './rules.js';

/** the kernel's own sizing (256 buckets per CPU, a power of two), for this host; VKERNEL_FUTEX_BUCKETS overrides */
export function defaultFutexBuckets(env: Pick<RuntimeEnv, 'futexBuckets'>, cpus = availableParallelism()): number {
  if (env.futexBuckets !== undefined) return env.futexBuckets;
  let n = 16;
  while (n < 256 * cpus && n < 1 << 16) n *= 2;
  return n;
}

/** names of the loaded modules (/proc/modules) */
export function loadedModules(proc = '/proc'): Set<string> {
  let text = '';
  try {
    text = readFileSync(join(proc, 'modules'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return new Set(text.split('\n').map((l) => l.split(' ')[0]).filter(Boolean));
}

export interface LoadOptions {
  id: string;
  pid: number;
  deny: string[];
  /** argument rules and capability ceiling (io.vkernel.syscall.namespaces, .personality, caps.max) */
  rules?: Rules;
  futexBuckets?: number;
  build?: BuildOptions;
  /** names other containers' state records (besides the loaded ones) */
  reserved?: Iterable<string>;
  /**
   * called with the chosen name before insmod (under the load lock): the applier journals it, so a
   * runtime killed between insmod and its state write still knows which module to remove
   */
  onNamed?: (name: string) => void;
  env?: RuntimeEnv;
  /** runs insmod (default: the real host, with `insmod` below) */
  host?: HostOps;
  /** insmod binary (tests put a wrapper here) */
  insmod?: string;
  log?: (msg: string) => void;
}

/**
 * Build (cache), pick the container's module name, write the renamed copy, insmod it. The name
 * choice and the load run under one host-wide lock, so two creates never pick the same name.
 */
export async function loadModule(o: LoadOptions): Promise<{ name: string; ko: string; cached: boolean; ms: number }> {
  const t0 = performance.now();
  const env = o.env ?? o.build?.env ?? readEnv();
  const host = o.host ?? linuxHostOps({ insmod: o.insmod });
  const built = await timed('module: cache lookup', () => buildModule({ env, ...o.build }));
  const params = moduleParams({ pid: o.pid, id: o.id, deny: o.deny, rules: o.rules, futexBuckets: o.futexBuckets ?? defaultFutexBuckets(env) });
  const image = readFileSync(built.ko);
  return withLock(join(o.build?.cacheDir ?? env.moduleCache, '.locks'), 'load', async () => {
    const name = moduleName(o.id, new Set([...loadedModules(), ...(o.reserved ?? [])]));
    const tmp = mkdtempSync(join(tmpdir(), 'vkernel-module-'));
    const file = join(tmp, `${name}.ko`);
    try {
      o.onNamed?.(name);
      timed('module: rename + write', () => writeFileSync(file, renameModule(image, name), { mode: 0o600 }));
      o.log?.(`insmod ${file} ${params.join(' ')}`);
      const r = await host.insmod(file, params);
      if (!r.ok) throw new Error(`insmod ${name} failed: ${r.message} (the kernel log says why: dmesg | grep ${name})`);
      // loaded and attached, not yet in the container's state: gc finds it as a module no container uses
      faultPoint('module-loaded');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return { name, ko: built.ko, cached: built.cached, ms: Math.round(performance.now() - t0) };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The container id a loaded vkernel module serves: its sysfs directory
 * (/sys/kernel/vkernel/containers/<name>/container_id, modules/README.md), else its module
 * parameter (/sys/module/<name>/parameters/container_id); undefined when neither is readable.
 */
export function moduleContainerId(name: string, sys = '/sys'): string | undefined {
  for (const f of [join(sys, 'kernel/vkernel/containers', name, 'container_id'), join(sys, 'module', name, 'parameters/container_id')]) {
    try {
      return readFileSync(f, 'utf8').trim();
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * rmmod with bounded retries. The kernel keeps the module pinned while its pid namespace lives
 * (modules/README.md), so right after runc delete the module may still be in use for a moment:
 * retry until it is gone or `timeoutMs` passed. A module that is not loaded counts as removed.
 * With `ownerId`, a loaded module whose sysfs says it serves another container is left alone
 * (`{ attempts: 0, notOurs }`): a name journaled before an insmod that never happened may since
 * have been given to another container.
 */
export async function unloadModule(name: string, o: { timeoutMs?: number; rmmod?: string; proc?: string; sys?: string; ownerId?: string; host?: HostOps; env?: RuntimeEnv } = {}): Promise<{ attempts: number; notOurs?: string }> {
  checkName(name);
  if (o.ownerId !== undefined) {
    const serves = loadedModules(o.proc).has(name) ? moduleContainerId(name, o.sys) : undefined;
    if (serves !== undefined && serves !== o.ownerId) return { attempts: 0, notOurs: serves };
  }
  const host = o.host ?? linuxHostOps({ rmmod: o.rmmod });
  const timeout = o.timeoutMs ?? (o.env ?? readEnv()).rmmodTimeoutMs;
  const deadline = Date.now() + timeout;
  let last = '';
  for (let attempt = 1, delay = 20; ; attempt++, delay = Math.min(delay * 2, 500)) {
    if (!loadedModules(o.proc).has(name) && attempt > 1) return { attempts: attempt - 1 };
    const r = await host.rmmod(name);
    if (r.ok) return { attempts: attempt };
    last = r.message;
    if (/not currently loaded|does not exist|No such file/i.test(last)) return { attempts: attempt };
    if (Date.now() + delay > deadline) {
      throw new Error(`rmmod ${name} still failing after ${attempt} attempts in ${timeout} ms (its pid namespace is still alive?): ${last}`);
    }
    await sleep(delay);
  }
}

/** vkernel_* modules that are loaded (for leftovers reports) */
export function loadedVkernelModules(proc = '/proc'): string[] {
  return [...loadedModules(proc)].filter((n) => n.startsWith('vkernel_'));
}
