import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Runtime } from '../../lifecycle/runtime.js';
import { writeErr, writeOut } from '../../log/out.js';
import { commit, diff, type Change } from '../../install/files.js';
import { DOCKER_CONFIG, installDocker, uninstallDocker } from '../../install/docker.js';
import { CONTAINERD_CONFIG, DROP_IN, installContainerd, uninstallContainerd } from '../../install/containerd.js';
import { HOOKS_DIR, installPodman, uninstallPodman } from '../../install/podman.js';
import { kubernetesManifests } from '../../install/kubernetes.js';
import { ENTRY, installNode, NODE_BIN } from '../../install/node.js';
import { installRuntimeConfig, uninstallRuntimeConfig } from '../../install/runtime-config.js';
import { DEFAULT_CONFIG } from '../../policy/config.js';
import type { DriverChoice } from '../../install/cgroup-driver.js';

const ENGINES = ['docker', 'containerd', 'kubernetes', 'podman', 'node'] as const;
const UNINSTALLABLE = ['docker', 'containerd', 'podman'] as const;
const DRIVERS = ['auto', 'systemd', 'cgroupfs'];

/**
 * the runtime's own path, as engines should call it: /usr/local/bin/vkernel-runtime when there is
 * one, else this installation's C entry point when it was built (dist/vkernel-runtime: the sh
 * launcher's fast path), else the path this call was run by
 */
function defaultRuntimePath(rt: Runtime): string {
  if (existsSync('/usr/local/bin/vkernel-runtime')) return '/usr/local/bin/vkernel-runtime';
  let home: string | undefined;
  try { home = installationHome(rt); } catch { /* run by no launcher */ }
  if (home && existsSync(join(home, ENTRY))) return join(home, ENTRY);
  return rt.env.selfPath ?? '/usr/local/bin/vkernel-runtime';
}

/** this installation (bin/, dist/, modules/): VKERNEL_RUNTIME_HOME, else where the launcher really is */
function installationHome(rt: Runtime): string {
  if (rt.env.home) return rt.env.home;
  if (!rt.env.selfPath) throw new Error('install node: where this installation is is unknown (run it through bin/vkernel-runtime, or set VKERNEL_RUNTIME_HOME)');
  return dirname(dirname(realpathSync(rt.env.selfPath)));
}

const HELP = {
  install: `Usage: vkernel-runtime install docker|containerd|kubernetes|podman|node [flags]

Register vkernel-runtime with an engine: docker (daemon.json runtimes), containerd (runtime handler
in a drop-in config.toml imports), kubernetes (RuntimeClass + node installer manifests), podman (OCI
hooks.d), node (this installation copied under --node-root, then containerd as above).

  --dry-run                print the result and a diff; change nothing
  --config-path P          the file (or directory, for podman) to edit instead of the default
  --runtime-path P         path of vkernel-runtime that the engine will run
  --name N                 docker: runtime name (vkernel-runtime)
  --default                docker: make it the default runtime
  --set key=value          docker: a policy for every container of this runtime, repeatable
  --handler H              containerd/kubernetes: runtime handler name (vkernel)
  --force                  replace a different entry of the same name
  --image I                kubernetes: installer image (vkernel-runtime/installer:0.1.0)
  --namespace NS           kubernetes: namespace of the installer (kube-system)
  --output DIR             kubernetes: write the manifests into DIR instead of printing them
  --drop-in P              containerd: the drop-in file config.toml imports
  --cgroup-driver D        containerd: auto (default), systemd or cgroupfs for the handler
  --node-root DIR          containerd/node: where the node's / is (/)
  --runtime-config P       containerd/node: the operator config written with env off ("none": leave it)
`,
  uninstall: `Usage: vkernel-runtime uninstall docker|containerd|podman [flags]

Reverse \`install\` for an engine (restores the original file when nothing else changed).

  --dry-run, --config-path P, --name N (docker), --handler H, --drop-in P, --node-root DIR,
  --runtime-config P (containerd): as for install
`,
};

async function apply(changes: Change[], dryRun: boolean): Promise<void> {
  for (const c of changes) {
    if (dryRun) {
      writeOut(`# ${c.message}\n${await diff(c.path, c.before, c.after)}\n`);
      continue;
    }
    const b = commit(c);
    writeOut(`${c.message}${b ? ` (backup: ${b})` : ''}\n`);
  }
  const next = changes.find((c) => c.next && c.before !== c.after)?.next;
  if (!dryRun && next) writeOut(`next: ${next}\n`);
}

/**
 * `install` and `uninstall` in the engine (like gc, doctor and ps: a node without Node.js, the
 * Kubernetes installer image without it). Errors: one line `vkernel-runtime: ...`, exit 1.
 */
export async function installCommand(rt: Runtime, cmd: 'install' | 'uninstall'): Promise<number> {
  const { parseArgs } = await import('node:util');
  const str = { type: 'string' } as const;
  const bool = { type: 'boolean' } as const;
  const common = {
    'dry-run': bool, 'config-path': str, name: str, handler: str, 'drop-in': str, 'node-root': str, 'runtime-config': str, help: { type: 'boolean', short: 'h' },
  } as const;
  const options = cmd === 'install'
    ? { ...common, 'runtime-path': str, default: bool, set: { type: 'string', multiple: true }, force: bool, image: str, namespace: str, output: str, 'cgroup-driver': str } as const
    : common;
  let parsed;
  try {
    parsed = parseArgs({ args: [...rt.inv.args], options, strict: true, allowPositionals: true });
  } catch (e) {
    writeErr(`vkernel-runtime ${cmd}: ${(e as Error).message}\n${HELP[cmd]}`);
    return 1;
  }
  const f = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (f.help || rt.inv.help) {
    writeOut(HELP[cmd]);
    return 0;
  }
  const engines: readonly string[] = cmd === 'install' ? ENGINES : UNINSTALLABLE;
  const engine = parsed.positionals[0];
  if (parsed.positionals.length !== 1 || !engines.includes(engine)) {
    writeErr(`vkernel-runtime ${cmd}: ${engine === undefined ? 'missing' : `${JSON.stringify(parsed.positionals.join(' '))} is not`} one engine of ${engines.join(', ')}\n${HELP[cmd]}`);
    return 1;
  }
  const s = (k: string, dflt: string): string => (f[k] as string | undefined) ?? dflt;
  const dryRun = f['dry-run'] === true;
  const config = f['config-path'] as string | undefined;
  const root = s('node-root', '/');
  const runtimeConfig = s('runtime-config', DEFAULT_CONFIG);
  const containerdPaths = () => {
    const c = config ?? CONTAINERD_CONFIG;
    return { config: c, dropIn: (f['drop-in'] as string | undefined) ?? (config ? join(dirname(c), 'conf.d/vkernel-runtime.toml') : DROP_IN) };
  };
  try {
    if (cmd === 'uninstall') {
      const changes = engine === 'docker' ? [uninstallDocker(config ?? DOCKER_CONFIG, s('name', 'vkernel-runtime'))]
        : engine === 'containerd' ? [...uninstallContainerd({ ...containerdPaths(), handler: s('handler', 'vkernel'), nodeRoot: root }),
          ...(runtimeConfig === 'none' ? [] : [uninstallRuntimeConfig('containerd', root, runtimeConfig)])]
          : uninstallPodman(config ?? HOOKS_DIR);
      await apply(changes, dryRun);
      return 0;
    }
    const rp = s('runtime-path', defaultRuntimePath(rt));
    const sets = (f.set as string[] | undefined) ?? [];
    for (const x of sets) if (!/^[a-z_.]+=.*/.test(x)) throw new Error(`--set ${JSON.stringify(x)}: expected key=value, e.g. --set sched.policy=fifo`);
    const driver = s('cgroup-driver', 'auto');
    if (!DRIVERS.includes(driver)) throw new Error(`--cgroup-driver: ${JSON.stringify(driver)} is not one of ${DRIVERS.join(', ')}`);
    switch (engine) {
      case 'docker':
        await apply([installDocker(config ?? DOCKER_CONFIG, { name: s('name', 'vkernel-runtime'), runtimePath: rp, sets, makeDefault: f.default === true, force: f.force === true })], dryRun);
        return 0;
      case 'containerd':
      case 'node': {
        // node: this installation copied onto the node first (the Kubernetes installer's job), and
        // containerd pointed at the node's copy
        let runtimePath = rp;
        if (engine === 'node') {
          if (dryRun) throw new Error('install node has no --dry-run: it copies files; use install containerd --dry-run --node-root to see the config changes');
          const n = installNode(installationHome(rt), root);
          writeOut(`${n.bin} → ${n.home}/current (release ${n.release}: ${n.files.length} files)${n.changed ? '' : ', already installed'}\n`);
          for (const note of n.notes) writeOut(`${note}\n`);
          runtimePath = NODE_BIN;
        }
        const changes = installContainerd({
          ...containerdPaths(), handler: s('handler', 'vkernel'), runtimePath, force: f.force === true,
          systemdCgroup: driver as DriverChoice, nodeRoot: root,
        });
        if (runtimeConfig !== 'none') changes.push(installRuntimeConfig(engine, root, runtimeConfig));
        await apply(changes, dryRun);
        return 0;
      }
      case 'podman':
        await apply(installPodman(config ?? HOOKS_DIR, rp), dryRun);
        return 0;
      default: { // kubernetes
        const files = kubernetesManifests({ handler: s('handler', 'vkernel'), image: s('image', 'vkernel-runtime/installer:0.1.0'), namespace: s('namespace', 'kube-system') });
        const out = f.output as string | undefined;
        if (out && !dryRun) {
          mkdirSync(out, { recursive: true });
          for (const [name, text] of Object.entries(files)) writeFileSync(join(out, name), text);
          writeOut(`wrote ${Object.keys(files).map((x) => join(out, x)).join(', ')}\nnext: kubectl apply -f ${out}\n`);
        } else {
          writeOut(`${Object.values(files).join('---\n')}\n`);
        }
        return 0;
      }
    }
  } catch (e) {
    writeErr(`vkernel-runtime: ${(e as Error).message}\n`);
    return 1;
  }
}
