import { parse, stringify } from 'smol-toml';
import { latestBackup, readText, type Change } from './files.js';
import { restoreOrShow } from './docker.js';

export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';

type Table = Record<string, unknown>;

function load(path: string, text: string | undefined): Table {
  if (text === undefined || text.trim() === '') return { version: 2 };
  try {
    return parse(text) as Table;
  } catch (e) {
    throw new Error(`${path} is not valid TOML (${(e as Error).message}); fix it first — nothing was changed`);
  }
}

/** the CRI plugin's table path for each config version (containerd 1.x v1/v2, 2.x v3) */
function criPath(doc: Table): string[] {
  const v = Number(doc.version ?? 1);
  if (v >= 3) return ['plugins', 'io.containerd.cri.v1.runtime', 'containerd', 'runtimes'];
  if (v === 2) return ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes'];
  return ['plugins', 'cri', 'containerd', 'runtimes'];
}

function table(doc: Table, path: string[], create: boolean): Table | undefined {
  let t = doc;
  for (const k of path) {
    if (t[k] === undefined) {
      if (!create) return undefined;
      t[k] = {};
    }
    t = t[k] as Table;
  }
  return t;
}

const RUNC = { runtime_type: 'io.containerd.runc.v2' };

/** containerd's default runtime (the CRI plugin needs an entry for it in the runtimes table) */
function defaultRuntime(doc: Table): string {
  return String((table(doc, criPath(doc).slice(0, -1), false) ?? {}).default_runtime_name ?? 'runc');
}

const clone = (d: Table): Table => JSON.parse(JSON.stringify(d));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Adds the runtime class `handler` (runc v2 shim with our binary) to containerd's config.toml. */
export function installContainerd(path: string, handler: string, runtimePath: string, force: boolean): Change {
  const before = readText(path);
  const doc = load(path, before);
  const next = clone(doc);
  const runtimes = table(next, criPath(next), true) as Table;
  const entry = {
    runtime_type: 'io.containerd.runc.v2',
    container_annotations: ['io.vkernel.*'],
    pod_annotations: ['io.vkernel.*'],
    options: { BinaryName: runtimePath },
  };
  if (runtimes[handler] && !same(runtimes[handler], entry) && !force) {
    throw new Error(`${path}: a different runtime handler ${JSON.stringify(handler)} exists; use --force to replace it or --handler to pick another name`);
  }
  runtimes[handler] = entry;
  // A runtimes table replaces containerd's built-in one: without an entry for the default runtime
  // (Debian's stock config.toml has none) the CRI plugin refuses to load. Keep the default working.
  runtimes[defaultRuntime(next)] ??= { ...RUNC };
  const after = same(next, doc) && before !== undefined ? before : `${stringify(next)}\n`;
  return {
    path, before, after,
    message: before === after ? `${path}: handler ${handler} already installed` : `${path}: runtime handler ${handler} → ${runtimePath}`,
    next: 'restart containerd: systemctl restart containerd',
  };
}

export function uninstallContainerd(path: string, handler: string): Change {
  const before = readText(path);
  if (before === undefined) return { path, before, after: before, message: `${path}: absent, nothing to do` };
  const doc = load(path, before);
  const next = clone(doc);
  const runtimes = table(next, criPath(next), false);
  if (!runtimes?.[handler]) return { path, before, after: before, message: `${path}: no handler ${handler}, nothing to do` };
  delete runtimes[handler];
  // the default-runtime entry install added, when the file it started from had none
  const b = latestBackup(path);
  const original = b ? load(b, readText(b)) : undefined;
  const defaultName = defaultRuntime(next);
  if (original && !table(original, [...criPath(original), defaultName], false) && same(runtimes[defaultName], RUNC)) {
    delete runtimes[defaultName];
  }
  // drop the tables install created and left empty
  const p = criPath(next);
  for (let i = p.length; i > 0; i--) {
    const parent = table(next, p.slice(0, i - 1), false) as Table;
    const t = parent[p[i - 1]] as Table;
    if (Object.keys(t).length === 0) delete parent[p[i - 1]];
    else break;
  }
  const onlyVersion = (d: Table) => Object.keys(d).every((k) => k === 'version');
  return {
    path, before,
    after: restoreOrShow(path, next, (d) => `${stringify(d)}\n`, parse, onlyVersion),
    message: `${path}: runtime handler ${handler} removed`,
    next: 'restart containerd: systemctl restart containerd',
  };
}
