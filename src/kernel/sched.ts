import { execFile } from 'node:child_process';

/** Sets the scheduling policy of every thread of pid (util-linux chrt; Node has no sched_setscheduler). */
export function setPolicy(pid: number, policy: 'fifo' | 'other', priority = 1): Promise<void> {
  const args = policy === 'fifo' ? ['-a', '-f', '-p', String(priority), String(pid)] : ['-a', '-o', '-p', '0', String(pid)];
  return new Promise((resolve, reject) => {
    execFile('chrt', args, (err, _out, stderr) => {
      if (err) reject(new Error(`chrt ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}
