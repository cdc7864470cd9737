// The engine server a bench or a test started (src/serve/server.ts): found by its socket, which
// the client that started it names on its command line (`vkernel-serve SOCKET`).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import servers from './servers.cjs';

/** every `vkernel-serve`'s socket, by pid (servers.cjs) */
export const { serverSockets } = servers;

/**
 * the pids of every `vkernel-serve` on `socket` (all of them: undefined)
 * @param {string} [socket]
 * @returns {number[]}
 */
export function engineServers(socket) {
  return [...serverSockets()].flatMap(([pid, s]) => (socket === undefined || s === socket ? [pid] : []));
}

/**
 * SIGTERM to every `vkernel-serve` on `socket`
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
