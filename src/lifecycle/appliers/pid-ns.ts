import { PREFIX } from '../../policy/keys.js';
import type { Policy, PolicyKey } from '../../policy/types.js';
import type { Spec } from '../../oci/spec.js';

/**
 * Features that live in the container's pid namespace (per-namespace sysctls, the module's
 * syscall and futex tables) need one of its own: `linux.namespaces` with a `pid` entry without a
 * `path`. In a shared one (the host's, another container's, a pod's) they would change that
 * namespace for everyone in it: on the patched kernel, the host's values. Throws, naming the keys.
 */
export function requireOwnPidNamespace(spec: Spec, policy: Policy, keys: readonly PolicyKey[], what: string): void {
  const pid = spec.linux?.namespaces?.find((n) => n.type === 'pid');
  if (pid && !pid.path) return;
  const asked = keys.filter((k) => policy[k] !== undefined && policy[k] !== false);
  const shared = pid
    ? `it joins the pid namespace ${JSON.stringify(pid.path)} (linux.namespaces), shared with what already runs there`
    : 'it has no pid namespace of its own (no "pid" entry in linux.namespaces: it would run in the host\'s, e.g. docker --pid=host, hostPID: true)';
  throw new Error(`${asked.map((k) => `${PREFIX}${k}=${String(policy[k])}`).join(', ')}: ${what} apply to the container's own pid namespace, and ${shared}; `
    + 'run it with a private pid namespace, or drop the request (refused even with io.vkernel.strict=false: it would change the shared namespace)');
}
