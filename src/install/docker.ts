import { latestBackup, readText, type Change } from './files.js';

export const DOCKER_CONFIG = '/etc/docker/daemon.json';

export interface DockerOptions { name: string; runtimePath: string; sets: string[]; makeDefault: boolean; force: boolean }

type DaemonJson = Record<string, unknown> & { runtimes?: Record<string, { path: string; runtimeArgs?: string[] }> };

function parse(path: string, text: string | undefined): DaemonJson {
  if (text === undefined || text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message}); fix it first — nothing was changed`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${path}: expected a JSON object; nothing was changed`);
  return doc as DaemonJson;
}

const show = (doc: DaemonJson) => `${JSON.stringify(doc, null, 2)}\n`;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Merges our runtime into daemon.json, keeping every other key and runtime. */
export function installDocker(path: string, o: DockerOptions): Change {
  const before = readText(path);
  const doc = parse(path, before);
  const entry = { path: o.runtimePath, ...(o.sets.length ? { runtimeArgs: o.sets.flatMap((s) => ['--vkernel-set', s]) } : {}) };
  const runtimes = { ...(doc.runtimes ?? {}) };
  const existing = runtimes[o.name];
  if (existing && !same(existing, entry) && !o.force) {
    throw new Error(`${path}: a different runtime named ${JSON.stringify(o.name)} exists (${JSON.stringify(existing)}); use --force to replace it or --name to pick another name`);
  }
  runtimes[o.name] = entry;
  const next: DaemonJson = { ...doc, runtimes };
  if (o.makeDefault) next['default-runtime'] = o.name;
  const after = same(next, doc) && before !== undefined ? before : show(next);
  return {
    path, before, after,
    message: before === after ? `${path}: runtime ${o.name} already installed` : `${path}: runtime ${o.name} → ${o.runtimePath}${o.makeDefault ? ' (default)' : ''}`,
    next: 'reload dockerd: systemctl reload docker   (or: kill -HUP $(pidof dockerd))',
  };
}

/** Removes our runtime; when what remains is what the last backup held, restores that file byte for byte. */
export function uninstallDocker(path: string, name: string): Change {
  const before = readText(path);
  if (before === undefined) return { path, before, after: before, message: `${path}: absent, nothing to do` };
  const doc = parse(path, before);
  if (!doc.runtimes?.[name]) return { path, before, after: before, message: `${path}: no runtime ${name}, nothing to do` };
  const { [name]: _removed, ...runtimes } = doc.runtimes;
  const next: DaemonJson = { ...doc, runtimes };
  if (Object.keys(runtimes).length === 0) delete next.runtimes;
  if (next['default-runtime'] === name) delete next['default-runtime'];
  return { path, before, after: restoreOrShow(path, next, show), message: `${path}: runtime ${name} removed`, next: 'reload dockerd: systemctl reload docker   (or: kill -HUP $(pidof dockerd))' };
}

/**
 * The original bytes when the last backup parses to the same document (so install + uninstall
 * gives back the very file the user had), undefined when install had created the file, else `show(doc)`.
 */
export function restoreOrShow<T>(path: string, doc: T, showDoc: (d: T) => string, parseDoc: (t: string) => unknown = JSON.parse,
  isEmpty: (d: T) => boolean = (d) => same(d, {})): string | undefined {
  const b = latestBackup(path);
  if (b) {
    const text = readText(b) ?? '';
    try {
      if (same(parseDoc(text), doc)) return text;
    } catch { /* a backup we cannot read is not a match */ }
  } else if (isEmpty(doc)) {
    return undefined;
  }
  return showDoc(doc);
}
