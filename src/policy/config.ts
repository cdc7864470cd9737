import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RT_DEFAULTS, type RtSettings } from '../kernel/backends/backend.js';
import { LIMIT_DEFAULTS, schemaAt } from './config-schema.js';
import type { OperatorPolicy } from './operator.js';
import type { PolicyKey } from './types.js';
import type { Validator } from './validate.js';
// Generated ahead of time by scripts/gen-validator.ts (ajv standalone): no ajv compiler at run time.
import { validateConfig as validateGenerated } from './validate.generated.js';

const validateSchema = validateGenerated as unknown as Validator;

export const DEFAULT_CONFIG = '/etc/vkernel-runtime/config.yaml';

/**
 * /etc/vkernel-runtime/config.yaml: `runc: PATH`, `defaults: {key: value}`, `rt: {priority,
 * budget_percent}`, and the operator policy: `sources`, `tenant_keys`, `keys`, `limits`
 * (README.md "Operator policy").
 */
export interface RuntimeConfig {
  path: string;
  runc?: string;
  defaults: Record<string, unknown>;
  rt: RtSettings;
  operator: OperatorPolicy;
}

/** `--vkernel-config`, else VKERNEL_RUNTIME_CONFIG (RuntimeEnv.configPath), else the default path (which may be absent). */
export function configPath(flag: string | undefined, fromEnv: string | undefined): { path: string; required: boolean } {
  if (flag) return { path: flag, required: true };
  if (fromEnv) return { path: fromEnv, required: true };
  return { path: DEFAULT_CONFIG, required: false };
}

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

/** Loads the config file; the yaml parser is imported only when there is a file to parse. */
export async function loadConfig(flag: string | undefined, fromEnv?: string, cacheDir?: string): Promise<RuntimeConfig | undefined> {
  const { path, required } = configPath(flag, fromEnv);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read vkernel-runtime config ${path}: ${(e as Error).message}`);
  }
  const cache = cacheDir && join(cacheDir, CACHE_FILE);
  let doc = cache ? cachedDoc(cache, text) : undefined;
  if (doc === undefined) {
    const { parse } = await import('yaml');
    try {
      doc = parse(text) as unknown;
    } catch (e) {
      throw new Error(`${path}: invalid YAML: ${(e as Error).message}`);
    }
    if (cache) cacheDoc(cache, text, doc);
  }
  return parseConfig(path, doc);
}

/**
 * The parsed YAML of the last config text seen, as JSON, in the host-wide runtime directory
 * (RuntimeEnv.lockDir, root's, 0700): every engine call with a config file would otherwise load the
 * YAML parser and parse — measured +26 ms CPU per fifo create, +43 per fifo delete (bench/variants.mjs,
 * 12 interleaved rounds, load ~6). The cache holds the whole text it was parsed from and counts only
 * when that equals the file's text now, so an edit (any edit) is seen at the next call; validation
 * (parseConfig) runs on every load either way. A document JSON cannot hold exactly (.inf, .nan, a
 * date) is not cached.
 */
const CACHE_FILE = 'config-cache.json';
const CACHE_VERSION = 1;

function cachedDoc(file: string, text: string): unknown {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; text?: string; doc?: unknown };
    return c.version === CACHE_VERSION && c.text === text && c.doc !== undefined ? c.doc : undefined;
  } catch {
    return undefined; // none yet, or unreadable: parse
  }
}

/** whether JSON holds `v` exactly (plain objects, arrays, strings, finite numbers, booleans, null) */
function jsonExact(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(jsonExact);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every(jsonExact);
  return false;
}

function cacheDoc(file: string, text: string, doc: unknown): void {
  if (doc === undefined || !jsonExact(doc)) return;
  try {
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: CACHE_VERSION, text, doc }), { mode: 0o600 });
    renameSync(tmp, file);
  } catch { /* best effort: the next call parses again */ }
}
