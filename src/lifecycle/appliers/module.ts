import type { Applier } from '../applier.js';
import { parseDenyList } from '../../module/deny.js';
import { parseRules, rulesFeatures, rulesRequested } from '../../module/rules.js';
import { requireOwnPidNamespace } from './pid-ns.js';

interface Undo { name: string }

/** the node's cap (limits.futex_buckets_max) on a module's futex hash size, kept a power of two like the kernel's own sizing */
export function capFutexBuckets(buckets: number, max: number | undefined): number {
  let n = buckets;
  while (max !== undefined && n > max && n > 16) n /= 2;
  return n;
}

/** the rules of a policy for `requested`/`unsupported`, which run before check() reports bad values: a bad value counts as a request */
function parseRulesLenient(p: Parameters<typeof parseRules>[0]) {
  try {
    return parseRules(p);
  } catch {
    return {
      nsDeny: p['syscall.namespaces'] && p['syscall.namespaces'] !== 'allow' ? 1 : 0,
      personality: p['syscall.personality'] ? [] : undefined,
      capsMax: p['caps.max'] ? [] : undefined,
      fs: p['fs.rules'] ? [] : undefined,
    };
  }
}

/** the kernel feature word the module needs (kernel/README.md) */
export const MODULE_FEATURE = 'syscall_table';

/**
 * io.vkernel.module and io.vkernel.syscall.deny: the per-container kernel module `vkernel_<id12>`
 * (modules/vkernel), built once per kernel into a cache, renamed for this container and loaded
 * between `runc create` and start, bound to the container's pid namespace through its init pid.
 * Unloaded on delete with bounded retries: the kernel pins the module until that namespace is gone.
 */
export const moduleApplier: Applier = {
  name: 'module',
  keys: ['module', 'syscall.deny', 'syscall.namespaces', 'syscall.personality', 'caps.max', 'fs.rules'],
  requested: (p) => p.module === true || !!p['syscall.deny'] || rulesRequested(parseRulesLenient(p)),
  check({ spec, policy }) {
    parseDenyList(policy['syscall.deny']);
    const rules = rulesRequested(parseRules(policy));
    requireOwnPidNamespace(spec, policy, ['module', 'syscall.deny', 'syscall.namespaces', 'syscall.personality', 'caps.max', 'fs.rules'],
      `the per-container module's syscall and futex tables${rules ? ', argument rules, capability ceiling and file rules' : ''}`);
  },
  unsupported(p, probe) {
    if (!probe.modules) return `this kernel (${probe.release}) has no loadable module support (no /proc/modules): the per-container vkernel module needs the vkernel kernel with CONFIG_MODULES`;
    if (probe.vkernelAbi === undefined) return `this kernel (${probe.release}) is not the vkernel kernel (no /sys/kernel/vkernel): the per-container module needs its syscall table and futex support`;
    if (!probe.vkernelFeatures.includes(MODULE_FEATURE)) {
      return `this vkernel kernel lacks the ${MODULE_FEATURE} feature (has: ${probe.vkernelFeatures.join(' ') || 'none'}), which the per-container module needs`;
    }
    const rules = parseRulesLenient(p);
    for (const word of rulesFeatures(rules)) {
      if (!probe.vkernelFeatures.includes(word)) {
        const what = word === 'caps_max' ? 'io.vkernel.caps.max (a kernel-enforced capability ceiling)'
          : word === 'fs_rules' ? 'io.vkernel.fs.rules (kernel-enforced file and directory rules)'
            : 'io.vkernel.syscall.namespaces/personality (kernel-enforced argument rules)';
        return `this vkernel kernel lacks the ${word} feature (has: ${probe.vkernelFeatures.join(' ') || 'none'}), which ${what} needs`;
      }
    }
    return undefined;
  },
  async prepare(_policy, ctx) {
    // build (or find in the cache) before `runc create`, so a build failure leaves nothing to roll back
    const { buildModule } = await import('../../module/build.js');
    await buildModule({ env: ctx.env, host: ctx.host });
  },
  async apply(ctx) {
    // the build, ELF and kmod code are loaded only by containers that ask for the module
    const { defaultFutexBuckets, loadModule } = await import('../../module/load.js');
    const futexBuckets = capFutexBuckets(defaultFutexBuckets(ctx.env), ctx.config?.operator.limits.futexBucketsMax);
    const r = await loadModule({
      id: ctx.id,
      pid: ctx.pid,
      deny: parseDenyList(ctx.policy['syscall.deny']),
      rules: parseRules(ctx.policy),
      futexBuckets,
      env: ctx.env,
      host: ctx.host,
      log: (m) => ctx.log.debug(`${ctx.id}: ${m}`),
      // journaled before insmod: a kill between insmod and the state write leaves a module that
      // delete --force still removes (undo checks the module serves this container)
      // (state.module too: ps, doctor and gc's "modules no container uses" read it)
      onNamed: (name) => {
        ctx.state.module = name;
        ctx.journal?.({ name } satisfies Undo);
      },
    });
    ctx.state.module = r.name;
    ctx.log.debug(`${ctx.id}: module ${r.name} loaded (${r.cached ? 'cached build' : 'built'} ${r.ko}) in ${r.ms} ms`);
    return { name: r.name } satisfies Undo;
  },
  async undo(ctx, undo) {
    const { unloadModule } = await import('../../module/load.js');
    const { name } = undo as Undo;
    const r = await unloadModule(name, { env: ctx.env, host: ctx.host, ownerId: ctx.id });
    if (r.notOurs !== undefined) ctx.log.debug(`${ctx.id}: module ${name} left loaded: it serves container ${r.notOurs}`);
    else ctx.log.debug(`${ctx.id}: module ${name} removed (${r.attempts} rmmod attempt(s))`);
  },
};
