import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RtSettings } from '../kernel/backends/backend.js';
import type { OperatorPolicy } from './operator.js';

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

/** Loads the config file; the yaml parser is imported only when there is a file to parse. */
export async function loadConfig(flag: string | undefined, fromEnv?: string, cacheDir?: string): Promise<RuntimeConfig | undefined> {
  const { path, required } = configPath(flag, fromEnv);
  // (the default file, on most nodes none: stat first, a read that fails costs the thrown error)
  if (!required && !statSync(path, { throwIfNoEntry: false })) return undefined;
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
  // the validator (three quarters of the generated schema code) is loaded only here, when there is
  // a file: a node without one never loads it (scripts/gen-validator.ts)
  return (await import('./config-parse.js')).parseConfig(path, doc);
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
