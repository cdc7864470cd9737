import { LIMIT_DEFAULTS } from './config-schema.js';
import { KEY_BY_NAME, PREFIX } from './keys.js';
import type { Policy, PolicyKey, Sources } from './types.js';

/** what the operator says about one key (config.yaml `keys:`) */
export interface KeyRule {
  /** may tenants (annotations, env) set it */
  tenant?: boolean;
  /** allowed values (enum and bool keys) */
  values?: (string | boolean)[];
  /** allowed range (numeric keys), inclusive */
  min?: number;
  max?: number;
}

export interface NodeLimits {
  /** total RT budget of all vkernel containers on the node, percent of each CPU */
  rtBudgetPercent: number;
  /** floor of io.vkernel.sched.adaptive.interval_ms */
  adaptiveIntervalMinMs: number;
  /** per-container kernel modules allowed */
  modules: boolean;
  /** cap of the futex hash buckets of a container's module */
  futexBucketsMax?: number;
}

/**
 * The operator's policy for a multi-tenant node (ARCHITECTURE.md "Operator policy"): which sources
 * count, which keys tenants may set and to what, and the node's limits. Tenants are what the
 * container's own config.json carries: annotations and process.env; runtime arguments and the
 * config's defaults are the operator's.
 */
export interface OperatorPolicy {
  /** the config file it was read from (named in every refusal) */
  path: string;
  sources: { annotations: boolean; env: boolean; runtimeArgs: boolean };
  /** all: every key not refused under keys; listed: only keys with `tenant: true` */
  tenantKeys: 'all' | 'listed';
  keys: Partial<Record<PolicyKey, KeyRule>>;
  limits: NodeLimits;
}

/** no config file: everything counts, tenants may set every key, built-in limits */
export const OPEN_POLICY: OperatorPolicy = {
  path: '(built-in defaults)',
  sources: { annotations: true, env: true, runtimeArgs: true },
  tenantKeys: 'all',
  keys: {},
  limits: { ...LIMIT_DEFAULTS },
};

/** a value that came from the container's own config.json */
export const fromTenant = (source: string | undefined) => source === 'annotation' || !!source?.startsWith('env ');

const show = (key: PolicyKey, p: Policy, sources: Sources) => `${PREFIX}${key}=${String(p[key])}${sources[key] ? ` (from ${sources[key]})` : ''}`;

/** may tenants set this key at all; undefined when yes, else the rule that says no */
function tenantRefusal(op: OperatorPolicy, key: PolicyKey): string | undefined {
  const rule = op.keys[key];
  if (rule?.tenant === false) return `keys.${key}.tenant: false`;
  if (op.tenantKeys === 'listed' && rule?.tenant !== true) return `tenant_keys: listed, and keys.${key} does not say tenant: true`;
  return undefined;
}

/**
 * The operator's rules and the node's limits that a policy can be checked against before any side
 * effect (the node-wide RT budget needs the ledger, see kernel/backends). Returns the problems.
 */
export function operatorProblems(p: Policy, sources: Sources, op: OperatorPolicy): string[] {
  const problems: string[] = [];
  const where = `in ${op.path}`;
  for (const key of Object.keys(p) as PolicyKey[]) {
    if (!fromTenant(sources[key])) continue;
    const refused = tenantRefusal(op, key);
    if (refused) {
      problems.push(`${show(key, p, sources)}: tenants may not set ${PREFIX}${key} on this node (${refused} ${where})`);
      continue;
    }
    const rule = op.keys[key];
    const v = p[key] as unknown;
    if (rule?.values && !rule.values.includes(v as string | boolean)) {
      problems.push(`${show(key, p, sources)}: not allowed on this node; allowed: ${rule.values.join(', ')} (keys.${key}.values ${where})`);
    }
    if (typeof v === 'number' && rule?.min !== undefined && v < rule.min) {
      problems.push(`${show(key, p, sources)}: below this node's minimum ${rule.min} (keys.${key}.min ${where})`);
    }
    if (typeof v === 'number' && rule?.max !== undefined && v > rule.max) {
      problems.push(`${show(key, p, sources)}: above this node's maximum ${rule.max} (keys.${key}.max ${where})`);
    }
  }
  const { limits } = op;
  if (!limits.modules) {
    for (const key of ['module', 'syscall.deny', 'syscall.namespaces', 'syscall.personality', 'caps.max', 'fs.rules'] as const) {
      if (key === 'module' ? p.module === true : p[key] !== undefined && !(key === 'syscall.namespaces' && p[key] === 'allow')) {
        problems.push(`${show(key, p, sources)}: per-container kernel modules are not allowed on this node (limits.modules: false ${where})`);
      }
    }
  }
  const interval = p['sched.adaptive.interval_ms'];
  if (interval !== undefined && interval < limits.adaptiveIntervalMinMs) {
    problems.push(`${show('sched.adaptive.interval_ms', p, sources)}: below this node's minimum adaptive interval ${limits.adaptiveIntervalMinMs} ms (limits.adaptive_interval_min_ms ${where})`);
  }
  return problems;
}

/** the rule of a key as doctor shows it */
export function describeRule(op: OperatorPolicy, key: PolicyKey): string {
  const refused = tenantRefusal(op, key);
  if (refused) return 'tenants: no';
  const rule = op.keys[key];
  const spec = KEY_BY_NAME.get(key);
  const parts = ['tenants: yes'];
  if (rule?.values) parts.push(`values: ${rule.values.join(', ')}`);
  else if (rule?.min !== undefined || rule?.max !== undefined) parts.push(`range: ${rule.min ?? spec?.min ?? '-∞'}..${rule.max ?? spec?.max ?? '∞'}`);
  else parts.push(`values: ${spec?.allowed ?? 'any'}`);
  return parts.join(', ');
}
