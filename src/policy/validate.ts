import { KEY_BY_NAME, PREFIX } from './keys.js';
import type { Policy, Sources } from './types.js';
// Generated ahead of time by scripts/gen-validator.ts (ajv standalone): no ajv compiler at run time.
import { validatePolicy as validateGenerated } from './validate.generated.js';

export interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
}
export type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
const validateSchema = validateGenerated as unknown as Validator;

export class PolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'PolicyError';
  }
}

/** "true"/"false" → boolean, numerals → number, for the typed schema; anything else stays a string */
export function coerce(key: string, raw: string): unknown {
  const kind = KEY_BY_NAME.get(key)?.kind;
  if (kind === 'bool' && (raw === 'true' || raw === 'false')) return raw === 'true';
  if ((kind === 'int' || kind === 'number') && /^-?[0-9]+(\.[0-9]+)?$/.test(raw)) return Number(raw);
  return raw;
}

function describe(key: string, sources: Sources, raw: Record<string, string>): string {
  const from = sources[key as keyof Sources];
  return `${PREFIX}${key}: ${JSON.stringify(raw[key])} is not ${KEY_BY_NAME.get(key)?.allowed}${from ? ` (from ${from})` : ''}`;
}

/** Validates the merged string values against the policy schema; returns the typed policy. */
export function validatePolicy(raw: Record<string, string>, sources: Sources): Policy {
  const typed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) typed[k] = coerce(k, v);
  const problems: string[] = [];
  if (!validateSchema(typed)) {
    const seen = new Set<string>();
    for (const e of validateSchema.errors ?? []) {
      if (e.keyword === 'additionalProperties') {
        const key = String(e.params.additionalProperty);
        const from = sources[key as keyof Sources];
        problems.push(`${PREFIX}${key}: unknown key${from ? ` (from ${from})` : ''}; known keys: ${[...KEY_BY_NAME.keys()].map((k) => PREFIX + k).join(', ')}`);
        continue;
      }
      const key = e.instancePath.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(describe(key, sources, raw));
    }
  }
  const p = typed as Policy;
  if (problems.length === 0) {
    // each pair is a hysteresis band: the low threshold strictly below the high one, or the
    // controller could flip the group on every tick
    for (const [lo, hi] of [['sched.adaptive.cpu_low', 'sched.adaptive.cpu_high'], ['sched.adaptive.ctx_low', 'sched.adaptive.ctx_high']] as const) {
      const l = p[lo] ?? defaults[lo];
      const h = p[hi] ?? defaults[hi];
      if (l >= h) {
        const from = (k: typeof lo | typeof hi) => (p[k] === undefined ? ', default' : sources[k] ? `, from ${sources[k]}` : '');
        problems.push(`${PREFIX}${lo} (${l}${from(lo)}) must be below ${PREFIX}${hi} (${h}${from(hi)})`);
      }
    }
  }
  if (problems.length) throw new PolicyError(problems);
  return p;
}

/** Built-in defaults of the tuning keys (feature keys default to "not requested"). */
export const defaults = {
  'sched.adaptive.interval_ms': 1000,
  'sched.adaptive.cpu_high': 80,
  'sched.adaptive.cpu_low': 20,
  'sched.adaptive.ctx_high': 1000,
  'sched.adaptive.ctx_low': 100,
  backend: 'auto',
  strict: true,
  module: false,
  'sysctl.writable': false,
} as const;
