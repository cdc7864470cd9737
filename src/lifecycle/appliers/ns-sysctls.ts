import { setNsSysctl } from '../../kernel/ns-sysctl.js';
import type { PolicyKey } from '../../policy/types.js';
import type { Applier } from '../applier.js';
import { requireOwnPidNamespace } from './pid-ns.js';

/** policy key → the per-pid-namespace sysctl of the patched kernel (kernel/README.md), and how to write the value */
interface NsSysctl { key: PolicyKey; sysctl: string }

/**
 * Per-container kernel parameters: each value is written into the container's own pid namespace
 * copy (patched kernel only) after create, before start, and read back. Nothing to undo: the copy
 * dies with the namespace.
 */
function nsSysctlApplier(name: string, feature: string, params: NsSysctl[]): Applier {
  return {
    name,
    keys: params.map((p) => p.key),
    requested: (p) => params.some((x) => p[x.key] !== undefined),
    check({ spec, policy }) {
      requireOwnPidNamespace(spec, policy, params.map((x) => x.key), 'per-container kernel parameters');
    },
    unsupported(_p, probe) {
      if (probe.vkernelAbi === undefined) return 'needs the vkernel kernel (a per-container value has no stock-kernel equivalent)';
      if (!probe.vkernelFeatures.includes(feature)) return `this vkernel kernel lacks the ${feature} feature`;
      return undefined;
    },
    async apply(ctx) {
      for (const x of params) {
        const v = ctx.policy[x.key];
        if (v === undefined) continue;
        await setNsSysctl(ctx.host, ctx.pid, x.sysctl, String(v));
        ctx.log.debug(`${ctx.id}: ${x.sysctl}=${String(v)} in the container's pid namespace`);
      }
      return undefined;
    },
    async undo() {},
    diesWithContainer: () => true, // the values are the container's pid namespace's own copy
  };
}

export const schedParams = nsSysctlApplier('sched-params', 'sched_params', [
  { key: 'sched.wakeup_granularity_ns', sysctl: 'kernel.sched_wakeup_granularity_ns' },
]);

// the ratio before the mode: once strict accounting (mode 2) is on, even the next write's exec in
// the namespace is accounted under it
export const mmPolicy = nsSysctlApplier('mm-policy', 'mm_policy', [
  { key: 'mm.overcommit_ratio', sysctl: 'vm.overcommit_ratio' },
  { key: 'mm.overcommit_memory', sysctl: 'vm.overcommit_memory' },
  { key: 'mm.thp', sysctl: 'vm.transparent_hugepage' },
]);
