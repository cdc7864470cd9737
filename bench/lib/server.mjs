// The engine server a bench or a test started (src/serve/server.ts): found by its socket in its
// environment.
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
