import { withLock } from '../../store/lock.js';
import type { BackendDeps } from './backend.js';
import { checkUndo, release, RT_LOCK } from './rt.js';
import { ledgerFile } from './rt-ledger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `vkernel-rt-release <undo-json>`: the background end of the rt backend's teardown (started when
 * the kernel still counted a removed group), retrying for up to a minute. Writes only groups of the
 * cpu hierarchy (checkUndo refuses anything else before any write).
 */
export async function releaseLater(undoJson: string | undefined, d: Pick<BackendDeps, 'cgroups' | 'lockDir'>, timeoutMs = 60_000): Promise<number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(undoJson ?? '');
  } catch {
    throw new Error('vkernel-rt-release: bad argument');
  }
  let u;
  try {
    u = checkUndo(d.cgroups, parsed);
  } catch (e) {
    throw new Error(`vkernel-rt-release: ${(e as Error).message}`);
  }
  for (const deadline = Date.now() + timeoutMs; ;) {
    try {
      // one attempt per lock hold, so fifo creates are never kept waiting behind us
      await withLock(d.lockDir, RT_LOCK, () => release(d.cgroups, u, 0, ledgerFile(d.lockDir)));
      return 0;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(250);
    }
  }
}
