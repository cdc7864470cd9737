import type { HostOps } from '../host/ops.js';

/**
 * Writes a per-pid-namespace sysctl of the patched kernel as a task of the container's pid
 * namespace (HostOps: `nsenter --target <pid> --pid`, which forks into it), then reads it back
 * there and verifies. The kernel picks the namespace copy from the writer's pid namespace.
 */
export async function setNsSysctl(host: HostOps, pid: number, key: string, value: string): Promise<void> {
  if (!/^[a-z_]+(\.[a-z_]+)+$/.test(key) || !/^[a-z0-9]+$/.test(value)) throw new Error(`bad sysctl ${key}=${value}`);
  await host.writeNsSysctl(pid, key, value);
  const back = await host.readNsSysctl(pid, key);
  if (back !== value) throw new Error(`${key}: wrote ${value} in the container's pid namespace, reads back ${back}`);
}
