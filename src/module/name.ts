import { MAX_NAME_LENGTH } from './elf.js';

export const NAME_PREFIX = 'vkernel_';
/** characters of the container id in the name when nothing collides */
export const ID_CHARS = 12;
const MAX_ID_CHARS = MAX_NAME_LENGTH - NAME_PREFIX.length; // 47

/**
 * The module name of container `id` (ARCHITECTURE.md "Module naming"): `vkernel_` + the first 12
 * characters of the id (the whole id when shorter), characters outside [A-Za-z0-9_] replaced by
 * `_`. When that name is in `taken` (another container's module), the prefix grows one character
 * at a time up to the whole id or the kernel's limit (47 id characters, 55 in all). When even that
 * collides (ids that differ only past character 47, or only in characters that map to `_`), the
 * name is the first 38 characters, `_` and 8 hex digits of sha256(id): still deterministic for the
 * id. Throws when all of these are taken. Pure: `taken` is what the caller saw loaded or recorded.
 */
export function moduleName(id: string, taken: ReadonlySet<string>): string {
  if (id.length === 0) throw new Error('empty container id');
  const safe = id.replace(/[^A-Za-z0-9_]/g, '_');
  const longest = Math.min(safe.length, MAX_ID_CHARS);
  for (let n = Math.min(ID_CHARS, longest); n <= longest; n++) {
    const name = NAME_PREFIX + safe.slice(0, n);
    if (!taken.has(name)) return name;
  }
  // crypto on first use only (test/unit/engine-imports.test.ts)
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256').update(id).digest('hex').slice(0, 8);
  const name = `${NAME_PREFIX}${safe.slice(0, MAX_ID_CHARS - 9)}_${hash}`;
  if (!taken.has(name)) return name;
  throw new Error(`no free module name for container ${JSON.stringify(id)}: ${name} and every shorter prefix are taken`);
}
