// Setup shared by the unit tests of the module's rules (module-rules.test.ts: issue 14 §2/§3,
// module-fs-rules.test.ts: §4): the problems validation reports, a probe of a vkernel kernel with
// given feature words, and the check context of a container with its own pid namespace.
import { resolvePolicy, type PolicyInputs } from '../../../src/policy/resolve.js';
import { PolicyError } from '../../../src/policy/validate.js';
import type { HostProbe } from '../../../src/kernel/probe.js';

/** The problems resolvePolicy reports for these annotations, under this operator policy ([] when it accepts them). */
export function problems(annotations: Record<string, string>, operator?: PolicyInputs['operator']): string[] {
  try {
    resolvePolicy({ annotations, operator });
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return (e as PolicyError).problems;
  }
  return [];
}

/** A cgroup v1 host running a vkernel kernel (ABI 2) with these feature words. */
export function vkernelProbe(features: string[]): HostProbe {
  return { vkernelFeatures: features, vkernelAbi: 2, cgroup: 'v1', rtGroupSched: true, modules: true, release: '6.1.192-vkernel' } as HostProbe;
}

/** The applier check context of container "c", which has a pid namespace of its own. */
export const checkContext = { id: 'c', spec: { linux: { namespaces: [{ type: 'pid' }] } }, systemdCgroup: false };
