// The engine server a bench started (src/serve/server.ts): found by its socket in its environment.
import { readFileSync, readdirSync } from 'node:fs';

/** SIGTERM to every `vkernel-serve` whose VKERNEL_ENGINE_SOCKET is `socket` */
export function stopServer(socket) {
  for (const pid of readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('vkernel-serve') &&
        readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`VKERNEL_ENGINE_SOCKET=${socket}`)) process.kill(Number(pid), 'SIGTERM');
    } catch { /* gone */ }
  }
}
