import { KEYS, PREFIX } from '../policy/keys.js';
import type { HostProbe } from '../kernel/probe.js';
import type { Logger } from '../log/logger.js';
import type { Policy, PolicyKey, Sources } from '../policy/types.js';
import type { Applier, CheckContext } from './applier.js';
import { APPLIERS } from './appliers/index.js';

/**
 * Chooses the appliers for a policy, before any side effect. A requested feature this host (or
 * this build) cannot apply is an error when `strict` (the default), else a warning and the
 * container runs without it.
 */
export function plan(policy: Policy, sources: Sources, probe: HostProbe, log: Logger, check: Omit<CheckContext, 'policy'>, appliers: readonly Applier[] = APPLIERS): Applier[] {
  const strict = policy.strict !== false;
  const problems: string[] = [];
  const chosen: Applier[] = [];
  const served = new Set<PolicyKey>();
  const show = (key: PolicyKey) => `${PREFIX}${key}=${String(policy[key])}${sources[key] ? ` (from ${sources[key]})` : ''}`;
  for (const a of appliers) {
    if (!a.requested(policy)) continue;
    a.keys.forEach((k) => served.add(k));
    a.check?.({ ...check, policy });
    const why = a.unsupported(policy, probe);
    if (why === undefined) chosen.push(a);
    else problems.push(`${a.keys.filter((k) => policy[k] !== undefined).map(show).join(', ') || a.name}: ${why}`);
  }
  for (const k of KEYS) {
    const key = k.key as PolicyKey;
    // a yes/no feature key set to false asks for nothing (io.vkernel.module=false, sysctl.writable=false),
    // nor does a key at its `off` value (syscall.namespaces=allow, log=shared)
    if (k.feature && policy[key] !== undefined && !served.has(key) && !(k.kind === 'bool' && policy[key] === false) &&
      policy[key] !== k.off) {
      problems.push(`${show(key)}: not supported by this vkernel-runtime on this host (kernel ${probe.release}${probe.vkernelAbi === undefined ? ', no vkernel patches' : ''})`);
    }
  }
  if (problems.length) {
    if (strict) throw new Error(`${problems.join('; ')} (set io.vkernel.strict=false to run without it)`);
    for (const p of problems) log.warn(`${p}; running without it (io.vkernel.strict=false)`);
  }
  return chosen;
}
