import { join } from 'node:path';
import { readText, type Change } from './files.js';

/** where containers/common looks for hooks by default (podman, CRI-O); /etc/... overrides /usr/share/... */
export const HOOKS_DIR = '/usr/share/containers/oci/hooks.d';

/** the two hooks.d entries (containers/common format 1.0.0): apply at createRuntime, clean at poststop */
export function hookFiles(runtimePath: string): { name: string; doc: unknown }[] {
  const when = { annotations: { '^io\\.vkernel\\.': '.*' } };
  return [
    { name: 'vkernel-runtime-create.json', doc: { version: '1.0.0', hook: { path: runtimePath, args: ['vkernel-runtime', 'oci-hook', 'createRuntime'] }, when, stages: ['createRuntime'] } },
    { name: 'vkernel-runtime-poststop.json', doc: { version: '1.0.0', hook: { path: runtimePath, args: ['vkernel-runtime', 'oci-hook', 'poststop'] }, when, stages: ['poststop'] } },
  ];
}

export function installPodman(dir: string, runtimePath: string): Change[] {
  return hookFiles(runtimePath).map(({ name, doc }) => {
    const path = join(dir, name);
    const before = readText(path);
    const after = `${JSON.stringify(doc, null, 2)}\n`;
    return {
      path, before, after,
      message: before === after ? `${path}: already installed` : `${path}: OCI hook for containers with io.vkernel.* annotations`,
      next: 'podman and CRI-O read hooks.d at each container start (CRI-O: also check hooks_dir in crio.conf); or use podman --runtime /usr/local/bin/vkernel-runtime',
    };
  });
}

export function uninstallPodman(dir: string): Change[] {
  return hookFiles('').map(({ name }) => {
    const path = join(dir, name);
    const before = readText(path);
    return { path, before, after: undefined, message: before === undefined ? `${path}: absent` : `${path}: removed` };
  });
}
