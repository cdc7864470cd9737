import { join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { latestBackup, readText, type Change } from './files.js';
import { cgroupDriver, type DriverChoice } from './cgroup-driver.js';

export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';
/** our drop-in, beside config.toml (containerd 2.x's default config imports conf.d/*.toml) */
export const DROP_IN = '/etc/containerd/conf.d/vkernel-runtime.toml';

type Table = Record<string, unknown>;

function load(path: string, text: string | undefined): Table {
  if (text === undefined || text.trim() === '') return {};
  try {
    return parse(text) as Table;
  } catch (e) {
    throw new Error(`${path} is not valid TOML (${(e as Error).message}); fix it first — nothing was changed`);
  }
}

/** containerd 1.x config version 1/2, 2.x version 3; a file without `version` is version 1 */
const versionOf = (doc: Table, empty: boolean) => (empty ? 2 : Number(doc.version ?? 1));

/** the CRI runtime plugin's name for each config version */
function criPlugin(version: number): string {
  if (version >= 3) return 'io.containerd.cri.v1.runtime';
  if (version === 2) return 'io.containerd.grpc.v1.cri';
  return 'cri';
}

function table(doc: Table, path: string[], create: boolean): Table | undefined {
  let t = doc;
  for (const k of path) {
    if (t[k] === undefined || t[k] === null || typeof t[k] !== 'object') {
      if (!create) return undefined;
      t[k] = {};
    }
    t = t[k] as Table;
  }
  return t;
}

const RUNC = { runtime_type: 'io.containerd.runc.v2' };
const clone = <T>(d: T): T => JSON.parse(JSON.stringify(d ?? {}));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const tomlString = (s: string) => JSON.stringify(s);

/** the import list with our drop-in added, or undefined when it is already there (exactly, or by a glob of its directory) */
function withImport(imports: unknown, dropIn: string): string[] | undefined {
  const list = Array.isArray(imports) ? imports.map(String) : [];
  const dir = dropIn.slice(0, dropIn.lastIndexOf('/'));
  if (list.some((i) => i === dropIn || (i === `${dir}/*.toml` && dropIn.endsWith('.toml')))) return undefined;
  return [...list, dropIn];
}

/** where the top-level section of a TOML text ends (the first table header) */
function topLevelEnd(text: string): number {
  const m = /^[ \t]*\[/m.exec(text);
  return m ? m.index : text.length;
}

/**
 * config.toml with `imports` set to `list`, edited as text so every comment and the layout stay:
 * the existing `imports = [...]` is replaced in place, else a line is added after `version = N`
 * (or before the first table). The result is parsed back and must equal the intended document.
 */
function setImports(path: string, text: string, doc: Table, list: string[]): string {
  const line = list.length ? `imports = [${list.map(tomlString).join(', ')}]` : '';
  const end = topLevelEnd(text);
  const head = text.slice(0, end);
  let out: string;
  const m = /^[ \t]*imports[ \t]*=[ \t]*\[/m.exec(head);
  if (m) {
    // the array ends at the first `]` outside a string
    let i = m.index + m[0].length;
    for (let quote = ''; i < text.length; i++) {
      const ch = text[i];
      if (quote) {
        if (ch === '\\' && quote === '"') i++;
        else if (ch === quote) quote = '';
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '#') i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
      else if (ch === ']') break;
    }
    let stop = i + 1;
    if (!line && text[stop] === '\n') stop++;
    out = text.slice(0, m.index) + line + text.slice(stop);
  } else if (!line) {
    out = text;
  } else {
    const v = /^[ \t]*version[ \t]*=.*\n?/m.exec(head);
    const at = v ? v.index + v[0].length : end;
    const before = text.slice(0, at);
    out = `${before}${before && !before.endsWith('\n') ? '\n' : ''}${line}\n${text.slice(at)}`;
  }
  const want = clone(doc);
  if (list.length) want.imports = list;
  else delete want.imports;
  if (!same(sortKeys(load(path, out)), sortKeys(want))) throw new Error(`${path}: cannot add imports without rewriting the file (unexpected layout); add imports = [${tomlString(list[list.length - 1] ?? '')}] by hand — nothing was changed`);
  return out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Table)[k])]));
  return v;
}

export interface ContainerdOptions {
  /** config.toml and the drop-in, as the node's containerd sees them */
  config: string;
  dropIn: string;
  handler: string;
  runtimePath: string;
  force: boolean;
  /** runc's cgroup driver for this handler: auto (what the node's runc handler / kubelet use) or fixed */
  systemdCgroup: DriverChoice;
  /** where the node's / is (the Kubernetes installer runs with it at /host); default / */
  nodeRoot?: string;
}

/**
 * Adds the runtime class `handler` (runc v2 shim running our binary) through a drop-in file that
 * config.toml imports; config.toml itself only gains the `imports` line (comments, layout, mode and
 * owner kept). containerd 1.x replaces a whole plugin section with an imported one
 * (containerd/containerd#5837), so there the drop-in carries a copy of config.toml's CRI section
 * plus our handler; `install containerd` again refreshes that copy. 2.x (version 3) merges tables:
 * the drop-in holds our handler only.
 */
export function installContainerd(o: ContainerdOptions): Change[] {
  const root = o.nodeRoot ?? '/';
  const configFile = join(root, o.config);
  const dropInFile = join(root, o.dropIn);
  const before = readText(configFile);
  const doc = load(configFile, before);
  const version = versionOf(doc, before === undefined || before.trim() === '');
  const plugin = criPlugin(version);
  const oldDropIn = readText(dropInFile);
  const prev = load(dropInFile, oldDropIn);
  const runtimesPath = ['plugins', plugin, 'containerd', 'runtimes'];

  const driver = cgroupDriver(o.systemdCgroup, doc, runtimesPath, root);
  const entry = {
    runtime_type: 'io.containerd.runc.v2',
    container_annotations: ['io.vkernel.*'],
    pod_annotations: ['io.vkernel.*'],
    options: { BinaryName: o.runtimePath, SystemdCgroup: driver.systemd },
  };
  const existing = (table(prev, runtimesPath, false) ?? {})[o.handler] ?? (table(doc, runtimesPath, false) ?? {})[o.handler];
  const ours = (e: unknown) => (e as { options?: { BinaryName?: string } } | undefined)?.options?.BinaryName === o.runtimePath;
  if (existing && !same(existing, entry) && !ours(existing) && !o.force) {
    throw new Error(`${o.config}: a different runtime handler ${JSON.stringify(o.handler)} exists (${JSON.stringify(existing)}); use --force to replace it or --handler to pick another name — nothing was changed`);
  }

  const next: Table = { version };
  if (version >= 3) {
    // deep merge: our handlers only (kept from the previous drop-in)
    Object.assign(table(next, runtimesPath, true) as Table, clone(table(prev, runtimesPath, false)));
  } else {
    // the CRI section replaces config.toml's: carry all of it, plus the handlers the drop-in had
    (next.plugins as Table | undefined) ?? (next.plugins = {});
    (next.plugins as Table)[plugin] = clone((doc.plugins as Table | undefined)?.[plugin]);
    const runtimes = table(next, runtimesPath, true) as Table;
    for (const [name, e] of Object.entries(table(prev, runtimesPath, false) ?? {})) runtimes[name] ??= e;
    // a runtimes table replaces containerd's built-in one: keep the default runtime working
    const def = String((table(next, runtimesPath.slice(0, -1), false) ?? {}).default_runtime_name ?? 'runc');
    runtimes[def] ??= { ...RUNC };
  }
  (table(next, runtimesPath, true) as Table)[o.handler] = entry;
  const header = `# written by vkernel-runtime install containerd (imported by ${o.config})${version < 3 ? `;\n# containerd 1.x replaces a whole plugin section with an imported one, so this file carries a copy of\n# config.toml's [plugins.${tomlString(plugin)}]: after editing that section, run install containerd again` : ''}\n`;
  const dropInText = `${header}${stringify(next)}\n`;
  const dropInAfter = oldDropIn !== undefined && same(load(dropInFile, oldDropIn), next) ? oldDropIn : dropInText;

  const list = withImport(doc.imports, o.dropIn);
  let configAfter = before;
  if (list) configAfter = before === undefined ? `version = 2\nimports = [${tomlString(o.dropIn)}]\n` : setImports(configFile, before, doc, list);

  return [
    {
      path: dropInFile, before: oldDropIn, after: dropInAfter, mode: 0o644,
      message: oldDropIn === dropInAfter ? `${dropInFile}: handler ${o.handler} already installed` : `${dropInFile}: runtime handler ${o.handler} → ${o.runtimePath} (SystemdCgroup = ${driver.systemd}: ${driver.why})`,
      next: 'restart containerd: systemctl restart containerd',
    },
    {
      path: configFile, before, after: configAfter, mode: 0o644,
      message: before === configAfter ? `${configFile}: already imports ${o.dropIn}` : `${configFile}: imports ${o.dropIn} (nothing else changed)`,
      next: 'restart containerd: systemctl restart containerd',
    },
  ];
}

/** Removes the handler from the drop-in (the file and config.toml's import when it was the last one). */
export function uninstallContainerd(o: Pick<ContainerdOptions, 'config' | 'dropIn' | 'handler' | 'nodeRoot'>): Change[] {
  const root = o.nodeRoot ?? '/';
  const configFile = join(root, o.config);
  const dropInFile = join(root, o.dropIn);
  const oldDropIn = readText(dropInFile);
  if (oldDropIn === undefined) return [{ path: dropInFile, before: undefined, after: undefined, message: `${dropInFile}: absent, nothing to do` }];
  const prev = load(dropInFile, oldDropIn);
  const version = Number(prev.version ?? 2);
  const runtimesPath = ['plugins', criPlugin(version), 'containerd', 'runtimes'];
  const runtimes = table(prev, runtimesPath, false);
  if (!runtimes?.[o.handler]) return [{ path: dropInFile, before: oldDropIn, after: oldDropIn, message: `${dropInFile}: no handler ${o.handler}, nothing to do` }];
  delete runtimes[o.handler];
  const ourLeft = Object.values(runtimes).some((e) => same((e as Table).container_annotations, ['io.vkernel.*']));
  if (ourLeft) {
    return [{ path: dropInFile, before: oldDropIn, after: `${oldDropIn.split('\n').filter((l) => l.startsWith('#')).join('\n')}\n${stringify(prev)}\n`, message: `${dropInFile}: runtime handler ${o.handler} removed`, next: 'restart containerd: systemctl restart containerd' }];
  }
  const changes: Change[] = [{ path: dropInFile, before: oldDropIn, after: undefined, message: `${dropInFile}: removed (no vkernel handler left)`, next: 'restart containerd: systemctl restart containerd' }];
  const before = readText(configFile);
  if (before !== undefined) {
    const doc = load(configFile, before);
    const list = Array.isArray(doc.imports) ? doc.imports.map(String).filter((i) => i !== o.dropIn) : undefined;
    if (list && list.length !== (doc.imports as unknown[]).length) {
      // the very bytes the user had, when the last backup is that file
      const b = latestBackup(configFile);
      const want = clone(doc);
      if (list.length) want.imports = list;
      else delete want.imports;
      const backupText = b ? readText(b) : undefined;
      let after: string | undefined;
      if (backupText !== undefined && same(sortKeys(load(b as string, backupText)), sortKeys(want))) after = backupText;
      else if (!b && same(want, { version: 2 })) after = undefined; // install created it
      else after = setImports(configFile, before, doc, list);
      changes.push({ path: configFile, before, after, message: `${configFile}: import of ${o.dropIn} removed` });
    }
  }
  return changes;
}
