import { enableNamespace, nsEnableUnsupported, type NsEnable, type NsFeature } from '../../kernel/ns-enable.js';
import type { HostProbe } from '../../kernel/probe.js';
import type { Policy, PolicyKey } from '../../policy/types.js';
import type { Applier } from '../applier.js';
import { requireOwnPidNamespace } from './pid-ns.js';

/** policy key → the per-pid-namespace sysctl of the patched kernel (kernel/README.md) and its feature */
interface NsSysctl { key: PolicyKey; sysctl: string; feature: NsFeature }

const PARAMS: readonly NsSysctl[] = [
  { key: 'sched.wakeup_granularity_ns', sysctl: 'kernel.sched_wakeup_granularity_ns', feature: 'sched_params' },
  { key: 'mm.overcommit_memory', sysctl: 'vm.overcommit_memory', feature: 'mm_policy' },
  { key: 'mm.overcommit_ratio', sysctl: 'vm.overcommit_ratio', feature: 'mm_policy' },
  { key: 'mm.thp', sysctl: 'vm.transparent_hugepage', feature: 'mm_policy' },
];

/** the features that carry values, in the kernel's order */
const VALUE_FEATURES: readonly NsFeature[] = ['sched_params', 'mm_policy'];

const writable = (p: Policy) => p['sysctl.writable'] === true;

/**
 * What to enable for a policy: the features of the values asked for, with those values; with
 * `io.vkernel.sysctl.writable=true` also `sysctl_write` (the container may change its values
 * itself, through its read-only /proc/sys), and, when no value is asked for, every value feature
 * (its own copies, starting at the host's values).
 */
export function nsEnableFor(p: Policy): NsEnable {
  const asked = PARAMS.filter((x) => p[x.key] !== undefined);
  let features = VALUE_FEATURES.filter((f) => asked.some((x) => x.feature === f));
  if (writable(p) && !features.length) features = [...VALUE_FEATURES];
  return {
    features: writable(p) ? [...features, 'sysctl_write'] : features,
    settings: asked.map((x) => [x.sysctl, String(p[x.key])]),
  };
}

/**
 * Per-container kernel parameters (patched kernel, ABI 2): after `runc create`, before start, one
 * write of /sys/kernel/vkernel/enable gives the container's pid namespace its features and values
 * (a namespace the runtime does not enable keeps the host's values, as on a stock kernel); each
 * value is then read back in the namespace. Nothing to undo: the values die with the namespace.
 */
export const nsSysctls: Applier = {
  name: 'ns-sysctls',
  keys: [...PARAMS.map((x) => x.key), 'sysctl.writable'],
  requested: (p) => PARAMS.some((x) => p[x.key] !== undefined) || writable(p),
  check({ spec, policy }) {
    requireOwnPidNamespace(spec, policy, [...PARAMS.map((x) => x.key), 'sysctl.writable'], 'per-container kernel parameters');
  },
  unsupported(p: Policy, probe: HostProbe) {
    return nsEnableUnsupported(probe, nsEnableFor(p).features);
  },
  async apply(ctx) {
    const e = nsEnableFor(ctx.policy);
    await enableNamespace(ctx.host, ctx.pid, e);
    ctx.log.debug(`${ctx.id}: enabled ${e.features.join(' ')} ${e.settings.map(([k, v]) => `${k}=${v}`).join(' ')} for the container's pid namespace`);
    return undefined;
  },
  async undo() {},
  diesWithContainer: () => true, // the values are the container's pid namespace's own
};
