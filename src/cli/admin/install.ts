import { Args, type Command, Flags } from '@oclif/core';
import { AdminCommand } from './base.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commit, diff, type Change } from '../../install/files.js';
import { DOCKER_CONFIG, installDocker, uninstallDocker } from '../../install/docker.js';
import { CONTAINERD_CONFIG, DROP_IN, installContainerd, uninstallContainerd } from '../../install/containerd.js';
import { HOOKS_DIR, installPodman, uninstallPodman } from '../../install/podman.js';
import { kubernetesManifests } from '../../install/kubernetes.js';
import { installNode, NODE_BIN } from '../../install/node.js';
import { installRuntimeConfig, uninstallRuntimeConfig } from '../../install/runtime-config.js';
import { DEFAULT_CONFIG } from '../../policy/config.js';
import type { DriverChoice } from '../../install/cgroup-driver.js';

/** this installation's home (bin/, dist/, modules/): dist/src/cli/admin/install.js is four levels below */
const HOME = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** the runtime's own path, as engines should call it */
function defaultRuntimePath(): string {
  if (existsSync('/usr/local/bin/vkernel-runtime')) return '/usr/local/bin/vkernel-runtime';
  return process.env.VKERNEL_RUNTIME_SELF ?? '/usr/local/bin/vkernel-runtime';
}

const common = {
  'dry-run': Flags.boolean({ description: 'print the result and a diff; change nothing' }),
  'config-path': Flags.string({ description: 'the file (or directory, for podman) to edit instead of the default' }),
  'runtime-path': Flags.string({ description: 'path of vkernel-runtime that the engine will run', default: defaultRuntimePath() }),
};

const ENGINES = ['docker', 'containerd', 'kubernetes', 'podman', 'node'] as const;

/** containerd (and node): config.toml, the drop-in beside it, runc's cgroup driver, the operator config */
const containerdFlags = {
  'drop-in': Flags.string({ description: 'containerd: the drop-in file config.toml imports (default: conf.d/vkernel-runtime.toml beside config.toml)' }),
  'cgroup-driver': Flags.string({ description: 'containerd: runc\'s cgroup driver for the handler (options.SystemdCgroup); auto: as the node\'s runc handler, else kubelet\'s cgroupDriver, else cgroupfs', options: ['auto', 'systemd', 'cgroupfs'], default: 'auto' }),
  'node-root': Flags.string({ description: 'containerd/node: where the node\'s / is (the Kubernetes installer mounts it at /host); every path is under it', default: '/' }),
  'runtime-config': Flags.string({ description: `containerd/node: the operator config written with env off as a policy source (under --node-root; "none": leave it)`, default: DEFAULT_CONFIG }),
};

function containerdPaths(flags: { 'config-path'?: string; 'drop-in'?: string }) {
  const config = flags['config-path'] ?? CONTAINERD_CONFIG;
  return { config, dropIn: flags['drop-in'] ?? (flags['config-path'] ? join(dirname(config), 'conf.d/vkernel-runtime.toml') : DROP_IN) };
}

async function apply(cmd: Command, changes: Change[], dryRun: boolean): Promise<void> {
  for (const c of changes) {
    if (dryRun) {
      cmd.log(`# ${c.message}`);
      cmd.log(await diff(c.path, c.before, c.after));
      continue;
    }
    const b = commit(c);
    cmd.log(c.message + (b ? ` (backup: ${b})` : ''));
  }
  const next = changes.find((c) => c.next && c.before !== c.after)?.next;
  if (!dryRun && next) cmd.log(`next: ${next}`);
}

export class Install extends AdminCommand {
  static override description = 'Register vkernel-runtime with an engine: docker (daemon.json runtimes), containerd (runtime handler), kubernetes (RuntimeClass + node installer), podman (OCI hooks.d).';
  static override args = { engine: Args.string({ required: true, options: [...ENGINES] }) };
  static override flags = {
    ...common,
    name: Flags.string({ description: 'docker: runtime name', default: 'vkernel-runtime' }),
    default: Flags.boolean({ description: 'docker: make it the default runtime' }),
    set: Flags.string({ description: 'docker: a policy for every container of this runtime (key=value), repeatable', multiple: true, default: [] }),
    handler: Flags.string({ description: 'containerd/kubernetes: runtime handler name', default: 'vkernel' }),
    force: Flags.boolean({ description: 'replace a different entry of the same name' }),
    image: Flags.string({ description: 'kubernetes: installer image (built from Dockerfile.vm)', default: 'vkernel-runtime/installer:0.1.0' }),
    namespace: Flags.string({ description: 'kubernetes: namespace of the installer', default: 'kube-system' }),
    output: Flags.string({ description: 'kubernetes: write the manifests into this directory instead of printing them' }),
    ...containerdFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Install);
    const rp = flags['runtime-path'];
    for (const s of flags.set) if (!/^[a-z_.]+=.*/.test(s)) this.error(`--set ${JSON.stringify(s)}: expected key=value, e.g. --set sched.policy=fifo`);
    switch (args.engine) {
      case 'docker':
        return apply(this, [installDocker(flags['config-path'] ?? DOCKER_CONFIG, { name: flags.name, runtimePath: rp, sets: flags.set, makeDefault: flags.default, force: flags.force })], flags['dry-run']);
      case 'containerd':
      case 'node': {
        // node: this installation copied onto the node first (the Kubernetes installer's job), and
        // containerd pointed at the node's copy
        const root = flags['node-root'];
        let runtimePath = rp;
        if (args.engine === 'node') {
          if (flags['dry-run']) this.error('install node has no --dry-run: it copies files; use install containerd --dry-run --node-root to see the config changes');
          const n = installNode(HOME, root);
          this.log(`${n.bin} → ${n.home}/current (release ${n.release}: ${n.files.length} files)${n.changed ? '' : ', already installed'}`);
          for (const note of n.notes) this.log(note);
          runtimePath = NODE_BIN;
        }
        const changes = installContainerd({
          ...containerdPaths(flags), handler: flags.handler, runtimePath, force: flags.force,
          systemdCgroup: flags['cgroup-driver'] as DriverChoice, nodeRoot: root,
        });
        if (flags['runtime-config'] !== 'none') changes.push(installRuntimeConfig(args.engine, root, flags['runtime-config']));
        return apply(this, changes, flags['dry-run']);
      }
      case 'podman':
        return apply(this, installPodman(flags['config-path'] ?? HOOKS_DIR, rp), flags['dry-run']);
      case 'kubernetes': {
        const files = kubernetesManifests({ handler: flags.handler, image: flags.image, namespace: flags.namespace });
        if (flags.output && !flags['dry-run']) {
          mkdirSync(flags.output, { recursive: true });
          for (const [name, text] of Object.entries(files)) writeFileSync(join(flags.output, name), text);
          this.log(`wrote ${Object.keys(files).map((f) => join(flags.output as string, f)).join(', ')}\nnext: kubectl apply -f ${flags.output}`);
        } else {
          this.log(Object.values(files).join('---\n'));
        }
      }
    }
  }
}

export class Uninstall extends AdminCommand {
  static override description = 'Reverse `install` for an engine (restores the original file when nothing else changed).';
  static override args = { engine: Args.string({ required: true, options: ['docker', 'containerd', 'podman'] }) };
  static override flags = {
    'dry-run': common['dry-run'],
    'config-path': common['config-path'],
    name: Flags.string({ description: 'docker: runtime name', default: 'vkernel-runtime' }),
    handler: Flags.string({ description: 'containerd: runtime handler name', default: 'vkernel' }),
    'drop-in': containerdFlags['drop-in'],
    'node-root': containerdFlags['node-root'],
    'runtime-config': containerdFlags['runtime-config'],
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Uninstall);
    const root = flags['node-root'];
    const changes = args.engine === 'docker' ? [uninstallDocker(flags['config-path'] ?? DOCKER_CONFIG, flags.name)]
      : args.engine === 'containerd' ? [...uninstallContainerd({ ...containerdPaths(flags), handler: flags.handler, nodeRoot: root }),
        ...(flags['runtime-config'] === 'none' ? [] : [uninstallRuntimeConfig('containerd', root, flags['runtime-config'])])]
        : uninstallPodman(flags['config-path'] ?? HOOKS_DIR);
    await apply(this, changes, flags['dry-run']);
  }
}
