import { readFileSync } from 'node:fs';
import { RT_DEFAULTS, type RtSettings } from '../kernel/backends/backend.js';

export const DEFAULT_CONFIG = '/etc/vkernel-runtime/config.yaml';

/** /etc/vkernel-runtime/config.yaml: `runc: PATH`, `defaults: {key: value}`, `rt: {priority, budget_percent}` */
export interface RuntimeConfig {
  path: string;
  runc?: string;
  defaults: Record<string, unknown>;
  rt: RtSettings;
}

function rtSettings(path: string, raw: unknown): RtSettings {
  if (raw === undefined || raw === null) return RT_DEFAULTS;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${path}: rt must be a mapping with priority, budget_percent`);
  const { priority = RT_DEFAULTS.priority, budget_percent: budget = RT_DEFAULTS.budgetPercent, ...rest } = raw as Record<string, unknown>;
  if (Object.keys(rest).length) throw new Error(`${path}: rt: unknown key(s) ${Object.keys(rest).join(', ')}; allowed: priority, budget_percent`);
  if (!Number.isInteger(priority) || (priority as number) < 1 || (priority as number) > 99) throw new Error(`${path}: rt.priority must be an integer from 1 to 99`);
  if (typeof budget !== 'number' || budget <= 0 || budget > 95) throw new Error(`${path}: rt.budget_percent must be a number above 0 and at most 95`);
  return { priority: priority as number, budgetPercent: budget };
}

/** `--vkernel-config`, else VKERNEL_RUNTIME_CONFIG, else the default path (which may be absent). */
export function configPath(flag: string | undefined): { path: string; required: boolean } {
  if (flag) return { path: flag, required: true };
  if (process.env.VKERNEL_RUNTIME_CONFIG) return { path: process.env.VKERNEL_RUNTIME_CONFIG, required: true };
  return { path: DEFAULT_CONFIG, required: false };
}

/** Loads the config file; the yaml parser is imported only when there is a file to parse. */
export async function loadConfig(flag: string | undefined): Promise<RuntimeConfig | undefined> {
  const { path, required } = configPath(flag);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read vkernel-runtime config ${path}: ${(e as Error).message}`);
  }
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid YAML: ${(e as Error).message}`);
  }
  doc ??= {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${path}: expected a mapping with keys runc, defaults`);
  const { runc, defaults, rt, ...rest } = doc as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new Error(`${path}: unknown key(s) ${unknown.join(', ')}; allowed: runc, defaults, rt`);
  if (runc !== undefined && typeof runc !== 'string') throw new Error(`${path}: runc must be a path`);
  if (defaults !== undefined && (defaults === null || typeof defaults !== 'object' || Array.isArray(defaults))) {
    throw new Error(`${path}: defaults must be a mapping of io.vkernel.* keys to values`);
  }
  return { path, runc, defaults: (defaults ?? {}) as Record<string, unknown>, rt: rtSettings(path, rt) };
}
