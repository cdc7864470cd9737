import { join } from 'node:path';
import { parse } from 'yaml';
import { readText } from './files.js';

export type DriverChoice = 'auto' | 'systemd' | 'cgroupfs';

type Table = Record<string, unknown>;

/** kubelet's config file, where kubeadm and most installers put `cgroupDriver` */
export const KUBELET_CONFIG = '/var/lib/kubelet/config.yaml';

/**
 * runc's cgroup driver for our handler (containerd's `options.SystemdCgroup`): it must match the
 * node's, or runc gets `slice:prefix:name` cgroup paths from kubelet without `--systemd-cgroup` (or
 * the reverse). auto: the node's runc handler's setting in config.toml, else kubelet's
 * `cgroupDriver`, else cgroupfs (containerd's and kubelet's own default).
 */
export function cgroupDriver(choice: DriverChoice, config: Table, runtimesPath: string[], nodeRoot: string): { systemd: boolean; why: string } {
  if (choice !== 'auto') return { systemd: choice === 'systemd', why: `--cgroup-driver ${choice}` };
  let t: unknown = config;
  for (const k of runtimesPath.slice(0, -1)) t = (t as Table | undefined)?.[k];
  const def = String((t as Table | undefined)?.default_runtime_name ?? 'runc');
  const runtimes = (t as Table | undefined)?.runtimes as Table | undefined;
  const runcOpt = ((runtimes?.[def] as Table | undefined)?.options as Table | undefined)?.SystemdCgroup;
  if (typeof runcOpt === 'boolean') return { systemd: runcOpt, why: `as containerd's ${def} handler` };
  const kubelet = join(nodeRoot, KUBELET_CONFIG);
  const text = readText(kubelet);
  if (text !== undefined) {
    let driver: unknown;
    try {
      driver = (parse(text) as Table | null)?.cgroupDriver;
    } catch (e) {
      throw new Error(`${kubelet} is not valid YAML (${(e as Error).message}); pass --cgroup-driver systemd|cgroupfs — nothing was changed`);
    }
    if (driver === 'systemd' || driver === 'cgroupfs') return { systemd: driver === 'systemd', why: `as kubelet (cgroupDriver: ${driver} in ${KUBELET_CONFIG})` };
  }
  return { systemd: false, why: 'cgroupfs: no SystemdCgroup on the runc handler, no kubelet cgroupDriver (containerd\'s default)' };
}
