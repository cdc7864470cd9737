import { RT_DEFAULTS } from '../kernel/backends/backend.js';
import { LIMIT_DEFAULTS, schemaAt } from './config-schema.js';
import type { RuntimeConfig } from './config.js';
import type { OperatorPolicy } from './operator.js';
import type { PolicyKey } from './types.js';
import type { Validator } from './validate.js';
// Generated ahead of time by scripts/gen-validator.ts (ajv standalone): no ajv compiler at run time.
import { validateConfig as validateGenerated } from './validate-config.generated.js';

/**
 * Checking a parsed /etc/vkernel-runtime/config.yaml (config.ts) against its schema and what the
 * schema cannot say. Its own module: config.ts imports it only when there is a file to check.
 */
const validateSchema = validateGenerated as unknown as Validator;

const dotted = (pointer: string) => pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');

/** the schema's errors, one readable line per place */
function schemaProblems(doc: unknown): string[] {
  if (validateSchema(doc)) return [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const e of validateSchema.errors ?? []) {
    const at = dotted(e.instancePath);
    const node = schemaAt(e.instancePath);
    let line: string;
    if (e.keyword === 'additionalProperties') {
      const allowed = Object.keys((node?.properties as object | undefined) ?? {});
      line = `${at ? `${at}: ` : ''}unknown key ${String(e.params.additionalProperty)}; allowed: ${allowed.join(', ')}`;
    } else {
      line = `${at || 'the document'} must be ${String(node?.description ?? e.keyword)}`;
    }
    if (!seen.has(line)) problems.push(line);
    seen.add(line);
  }
  return problems;
}

type Raw = {
  runc?: string; defaults?: Record<string, unknown>; rt?: { priority?: number; budget_percent?: number; supervisor_cpu_percent?: number };
  sources?: { annotations?: boolean; env?: boolean; runtime_args?: boolean }; tenant_keys?: 'all' | 'listed';
  keys?: OperatorPolicy['keys']; limits?: { rt_budget_percent?: number; futex_buckets_max?: number; adaptive_interval_min_ms?: number; modules?: boolean };
};

/** checks across fields that a JSON schema cannot express */
function crossProblems(doc: Raw): string[] {
  const problems: string[] = [];
  const limit = doc.limits?.rt_budget_percent ?? LIMIT_DEFAULTS.rtBudgetPercent;
  const each = doc.rt?.budget_percent ?? RT_DEFAULTS.budgetPercent;
  if (limit > 0 && each > limit) problems.push(`rt.budget_percent (${each}) must not exceed limits.rt_budget_percent (${limit}): not even one fifo container would fit`);
  for (const [key, rule] of Object.entries(doc.keys ?? {})) {
    if (rule?.min !== undefined && rule.max !== undefined && rule.min > rule.max) problems.push(`keys.${key}: min (${rule.min}) must not exceed max (${rule.max})`);
  }
  return problems;
}

/** Validates a parsed config document (the schema, then what it cannot say) into a RuntimeConfig. */
export function parseConfig(path: string, doc: unknown): RuntimeConfig {
  doc ??= {};
  const problems = schemaProblems(doc);
  if (!problems.length) problems.push(...crossProblems(doc as Raw));
  if (problems.length) throw new Error(`${path}: ${problems.join('; ')}`);
  const d = doc as Raw;
  return {
    path,
    runc: d.runc,
    defaults: d.defaults ?? {},
    rt: { priority: d.rt?.priority ?? RT_DEFAULTS.priority, budgetPercent: d.rt?.budget_percent ?? RT_DEFAULTS.budgetPercent, supervisorCpuPercent: d.rt?.supervisor_cpu_percent },
    operator: {
      path,
      sources: { annotations: d.sources?.annotations ?? true, env: d.sources?.env ?? true, runtimeArgs: d.sources?.runtime_args ?? true },
      tenantKeys: d.tenant_keys ?? 'all',
      keys: (d.keys ?? {}) as Partial<Record<PolicyKey, NonNullable<Raw['keys']>[PolicyKey]>>,
      limits: {
        rtBudgetPercent: d.limits?.rt_budget_percent ?? LIMIT_DEFAULTS.rtBudgetPercent,
        adaptiveIntervalMinMs: d.limits?.adaptive_interval_min_ms ?? LIMIT_DEFAULTS.adaptiveIntervalMinMs,
        modules: d.limits?.modules ?? LIMIT_DEFAULTS.modules,
        futexBucketsMax: d.limits?.futex_buckets_max,
      },
    },
  };
}

