import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { DEFAULT_CONFIG } from '../policy/config.js';
import { parseConfig } from '../policy/config-parse.js';
import { readText, type Change } from './files.js';

/** what `install containerd|node` writes when the node has no runtime config yet */
export function shippedConfig(engine: string): string {
  return [
    `# vkernel-runtime operator policy (README.md "Operator policy"), written by vkernel-runtime install ${engine}.`,
    '# On a shared node the image\'s ENV is not the operator\'s word: VKERNEL_* variables do not count;',
    '# pod/container annotations (io.vkernel.*) and the runtime\'s own arguments do.',
    'sources:',
    '  env: false',
    '',
  ].join('\n');
}

/**
 * /etc/vkernel-runtime/config.yaml with env switched off as a policy source: created when absent;
 * an existing file gains `sources.env: false` (its comments kept) unless it says something itself.
 */
export function installRuntimeConfig(engine: string, nodeRoot = '/', path = DEFAULT_CONFIG): Change {
  const file = join(nodeRoot, path);
  const before = readText(file);
  if (before === undefined) return { path: file, before, after: shippedConfig(engine), mode: 0o644, message: `${file}: operator policy with env off as a policy source` };
  const doc = parseDocument(before);
  if (doc.errors.length) throw new Error(`${file}: invalid YAML (${doc.errors[0].message}); fix it first — nothing was changed`);
  parseConfig(file, doc.toJS());
  const env = doc.getIn(['sources', 'env']);
  if (env !== undefined) return { path: file, before, after: before, message: `${file}: keeps sources.env: ${String(env)} (the operator's choice)` };
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  doc.setIn(['sources', 'env'], false);
  const after = doc.toString({ flowCollectionPadding: false });
  parseConfig(file, doc.toJS());
  return { path: file, before, after, message: `${file}: sources.env: false added (the image's VKERNEL_* no longer count)` };
}

/** removes the file when it is exactly what install created; an edited one stays */
export function uninstallRuntimeConfig(engine: string, nodeRoot = '/', path = DEFAULT_CONFIG): Change {
  const file = join(nodeRoot, path);
  const before = readText(file);
  if (before !== undefined && before === shippedConfig(engine)) return { path: file, before, after: undefined, message: `${file}: removed (as install wrote it)` };
  return { path: file, before, after: before, message: before === undefined ? `${file}: absent` : `${file}: kept (edited since install, or not ours)` };
}
