import { execFile } from 'node:child_process';

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('nsenter', args, (err, stdout, stderr) => {
      if (err) reject(new Error(`nsenter ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout.trim());
    });
  });
}

/**
 * Writes a per-pid-namespace sysctl of the patched kernel as a task of the container's pid
 * namespace (`nsenter --target <pid> --pid`, which forks into it). Only the pid namespace is
 * entered: the file is the host's /proc/sys, never a path the container's mounts control; the
 * kernel picks the namespace copy from the writer's pid namespace. Reads back and verifies.
 */
export async function setNsSysctl(pid: number, key: string, value: string): Promise<void> {
  if (!/^[a-z_]+(\.[a-z_]+)+$/.test(key) || !/^[a-z0-9]+$/.test(value)) throw new Error(`bad sysctl ${key}=${value}`);
  await run(['--target', String(pid), '--pid', '--', 'sysctl', '-q', '-w', `${key}=${value}`]);
  const back = await run(['--target', String(pid), '--pid', '--', 'sysctl', '-n', key]);
  if (back !== value) throw new Error(`${key}: wrote ${value} in the container's pid namespace, reads back ${back}`);
}
