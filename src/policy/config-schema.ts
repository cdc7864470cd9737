import { KEYS, type KeySpec } from './keys.js';
import { NODE_LIMIT_DEFAULT } from '../kernel/backends/backend.js';

/**
 * The JSON schema of /etc/vkernel-runtime/config.yaml (the operator's file), compiled ahead of
 * time like the policy schema (scripts/gen-validator.ts). Every node carries a `description`:
 * the text error messages show for it.
 */

/** built-in node limits (ARCHITECTURE.md "Operator policy") */
export const LIMIT_DEFAULTS = {
  /** total RT budget of all vkernel containers, percent of each CPU */
  rtBudgetPercent: NODE_LIMIT_DEFAULT,
  /** floor of io.vkernel.sched.adaptive.interval_ms */
  adaptiveIntervalMinMs: 100,
  /** per-container modules (io.vkernel.module, io.vkernel.syscall.deny) allowed */
  modules: true,
  /** no cap beyond the module's own sizing (256 per CPU) */
  futexBucketsMax: undefined as number | undefined,
};

/** the smallest interval any operator may allow (the adaptive controller's own floor) */
export const ADAPTIVE_INTERVAL_FLOOR = 100;

const bool = (description: string) => ({ type: 'boolean', description });

/** what an operator may say about one policy key: may tenants set it, and to what */
function keyRule(k: KeySpec): Record<string, unknown> {
  const props: Record<string, unknown> = { tenant: bool('true or false (may tenants set this key)') };
  if (k.kind === 'enum') {
    props.values = { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: k.values }, description: `a non-empty list of ${k.values?.join(', ')}` };
  } else if (k.kind === 'bool') {
    props.values = { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'boolean' }, description: 'a non-empty list of true, false' };
  } else if (k.kind === 'int' || k.kind === 'number') {
    const range = { type: k.kind === 'int' ? 'integer' : 'number', minimum: k.min, ...(k.max === undefined ? {} : { maximum: k.max }), description: k.allowed };
    props.min = range;
    props.max = range;
  }
  return { type: 'object', additionalProperties: false, properties: props, description: `a mapping with ${Object.keys(props).join(', ')}` };
}

export const CONFIG_SCHEMA = {
  $id: 'https://vkernel-runtime/config.json',
  type: 'object',
  additionalProperties: false,
  description: 'a mapping with runc, defaults, rt, sources, tenant_keys, keys, limits',
  properties: {
    runc: { type: 'string', pattern: '^\\S', description: 'a path' },
    defaults: { type: 'object', description: 'a mapping of io.vkernel.* keys to values' },
    rt: {
      type: 'object', additionalProperties: false, description: 'a mapping with priority, budget_percent, supervisor_cpu_percent',
      properties: {
        priority: { type: 'integer', minimum: 1, maximum: 99, description: 'an integer from 1 to 99' },
        budget_percent: { type: 'number', exclusiveMinimum: 0, maximum: 95, description: 'a number above 0 and at most 95' },
        supervisor_cpu_percent: { type: 'number', minimum: 1, maximum: 100, description: 'a number from 1 to 100 (percent of one CPU an rt v2 supervisor may use)' },
      },
    },
    sources: {
      type: 'object', additionalProperties: false, description: 'a mapping with annotations, env, runtime_args (true or false each)',
      properties: {
        annotations: bool('true or false (io.vkernel.* annotations of config.json count)'),
        env: bool('true or false (VKERNEL_* variables of the container\'s process.env count)'),
        runtime_args: bool('true or false (--vkernel-set runtime arguments count)'),
      },
    },
    tenant_keys: { type: 'string', enum: ['all', 'listed'], description: 'all (tenants may set every key not refused under keys) or listed (only keys listed under keys with tenant: true)' },
    keys: {
      type: 'object', additionalProperties: false, description: 'a mapping of policy keys (without io.vkernel.) to rules',
      properties: Object.fromEntries(KEYS.map((k) => [k.key, keyRule(k)])),
    },
    limits: {
      type: 'object', additionalProperties: false, description: 'a mapping with rt_budget_percent, futex_buckets_max, adaptive_interval_min_ms, modules',
      properties: {
        rt_budget_percent: { type: 'number', minimum: 0, maximum: 95, description: 'a number from 0 to 95 (percent of each CPU)' },
        futex_buckets_max: { type: 'integer', minimum: 16, maximum: 65536, description: 'an integer from 16 to 65536' },
        adaptive_interval_min_ms: { type: 'integer', minimum: ADAPTIVE_INTERVAL_FLOOR, maximum: 60000, description: `an integer from ${ADAPTIVE_INTERVAL_FLOOR} to 60000` },
        modules: bool('true or false (per-container kernel modules allowed)'),
      },
    },
  },
};

/** the schema node at a JSON pointer of the config document (for error messages) */
export function schemaAt(pointer: string): Record<string, unknown> | undefined {
  let node: Record<string, unknown> | undefined = CONFIG_SCHEMA;
  for (const part of pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    const props = node?.properties as Record<string, Record<string, unknown>> | undefined;
    if (props?.[part]) node = props[part];
    else if (node?.items && /^\d+$/.test(part)) node = { description: `one of ${node.description}`, ...(node.items as Record<string, unknown>) };
    else return undefined;
  }
  return node;
}
