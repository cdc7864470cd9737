// The engine server a bench or a test started (src/serve/server.ts): found by its socket in its
// environment.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/**
 * the pids of every `vkernel-serve` whose VKERNEL_ENGINE_SOCKET is `socket`
 * @param {string} socket
 * @returns {number[]}
 */
export function engineServers(socket) {
  const want = `VKERNEL_ENGINE_SOCKET=${socket}`;
  return readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p)).flatMap((p) => {
    try {
      if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('vkernel-serve')) return [];
      return readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(want) ? [Number(p)] : [];
    } catch {
      return []; // gone
    }
  });
}

/**
 * SIGTERM to every `vkernel-serve` whose VKERNEL_ENGINE_SOCKET is `socket`
 * @param {string} socket
 */
export function stopServer(socket) {
  for (const pid of engineServers(socket)) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

let tick;
/**
 * CPU ms (user+system) of each thread of process `pid` so far, by thread id (/proc/<pid>/task:
 * clock ticks, 10 ms each on most hosts: compare over many calls)
 * @param {number} pid
 * @returns {Map<number, number>}
 */
export function threadCpuMs(pid) {
  tick ??= 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout);
  return new Map(readdirSync(`/proc/${pid}/task`).flatMap((t) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [[Number(t), (Number(f[11]) + Number(f[12])) * tick]];
    } catch {
      return []; // ended
    }
  }));
}
