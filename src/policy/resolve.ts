import { ENV_PREFIX, KEY_BY_ENV, KEYS, PREFIX } from './keys.js';
import { OPEN_POLICY, operatorProblems, type OperatorPolicy } from './operator.js';
import type { Resolved, Sources } from './types.js';
import { defaults, PolicyError, validatePolicy } from './validate.js';

/** The policy inputs, highest precedence first (ARCHITECTURE.md "Policy sources"). */
export interface PolicyInputs {
  /** `annotations` of config.json */
  annotations?: Record<string, unknown>;
  /** `process.env` of config.json (`NAME=value` strings) */
  env?: readonly string[];
  /** `--vkernel-set key=value` runtime arguments, in order (later wins) */
  sets?: readonly string[];
  /** `defaults` of the runtime config file, and where it was read from */
  config?: { path: string; defaults: Record<string, unknown> };
  /** the operator's policy (config.yaml); none: every source counts, built-in limits */
  operator?: OperatorPolicy;
}

const stripPrefix = (k: string) => (k.startsWith(PREFIX) ? k.slice(PREFIX.length) : k);

/**
 * Merges the sources the operator lets count by precedence, validates the result with the one
 * policy schema, then against the operator's rules and the node's limits.
 */
export function resolvePolicy(inputs: PolicyInputs): Resolved {
  const raw: Record<string, string> = {};
  const sources: Sources = {};
  const problems: string[] = [];
  const ignored: string[] = [];
  const op = inputs.operator ?? OPEN_POLICY;
  const off = (what: string, flag: string) => ignored.push(`${what}: ignored, not a policy source on this node (sources.${flag}: false in ${op.path})`);
  const put = (key: string, value: unknown, from: string) => {
    raw[key] = typeof value === 'string' ? value : JSON.stringify(value);
    (sources as Record<string, string>)[key] = from;
  };

  // lowest first, so that higher sources overwrite
  for (const [k, v] of Object.entries(inputs.config?.defaults ?? {})) put(stripPrefix(k), v, `config ${inputs.config?.path}`);
  for (const s of inputs.sets ?? []) {
    if (!op.sources.runtimeArgs) {
      off(`--vkernel-set ${s}`, 'runtime_args');
      continue;
    }
    const eq = s.indexOf('=');
    if (eq <= 0) {
      problems.push(`--vkernel-set ${JSON.stringify(s)}: expected key=value, e.g. --vkernel-set sched.policy=fifo`);
      continue;
    }
    put(stripPrefix(s.slice(0, eq)), s.slice(eq + 1), '--vkernel-set');
  }
  for (const e of inputs.env ?? []) {
    if (!e.startsWith(ENV_PREFIX)) continue;
    const eq = e.indexOf('=');
    const name = eq < 0 ? e : e.slice(0, eq);
    if (!op.sources.env) {
      off(`${name} (process.env)`, 'env');
      continue;
    }
    const spec = KEY_BY_ENV.get(name);
    if (!spec) {
      problems.push(`${name} (process.env): unknown vkernel variable; known: ${[...KEY_BY_ENV.keys()].join(', ')}`);
      continue;
    }
    put(spec.key, eq < 0 ? '' : e.slice(eq + 1), `env ${name}`);
  }
  for (const [k, v] of Object.entries(inputs.annotations ?? {})) {
    if (!k.startsWith(PREFIX)) continue;
    if (!op.sources.annotations) off(`annotation ${k}`, 'annotations');
    else put(k.slice(PREFIX.length), v, 'annotation');
  }

  if (problems.length) throw new PolicyError(problems);
  const policy = validatePolicy(raw, sources);
  problems.push(...operatorProblems(policy, sources, op));
  if (problems.length) throw new PolicyError(problems);
  // an adaptive container without its own interval runs at the default, raised to the node's floor
  const floor = op.limits.adaptiveIntervalMinMs;
  if (policy['sched.policy'] === 'adaptive' && policy['sched.adaptive.interval_ms'] === undefined && floor > defaults['sched.adaptive.interval_ms']) {
    policy['sched.adaptive.interval_ms'] = floor;
    sources['sched.adaptive.interval_ms'] = `limits.adaptive_interval_min_ms in ${op.path}`;
  }
  return { policy, sources, ...(ignored.length ? { ignored } : {}) };
}

/** true when the policy asks for any vkernel feature; false means "behave exactly like runc" */
export function requestsFeature(p: Resolved['policy']): boolean {
  return KEYS.some((k) => k.feature && p[k.key as keyof typeof p] !== undefined && !(k.key === 'module' && p.module === false));
}
