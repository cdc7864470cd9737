import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { timed } from '../../profile.js';
import type { Cgroups, CpuGroup } from '../cgroups/index.js';
import { restoreTo } from './rt-budget.js';

/**
 * The RT ledger (ARCHITECTURE.md "Operator policy"): one host-wide record of which container group
 * holds which RT budget and what each parent group held before vkernel-runtime first raised it.
 * It is written (atomically) before any budget is raised and changed only under the RT lock, and
 * every release recomputes each parent's budget from it: a parent goes back to its original value
 * once no holder is left below it, whatever order containers come and go in. A holder whose group
 * has disappeared is dropped at the next ledger operation (a fifo create, an engine delete, gc):
 * that is how a fifo container's budget comes back after its `delete` went straight to runc (the
 * launcher does not start the engine for it: lifecycle/undo.ts diesWithContainer), and why a crash
 * never leaves a parent raised for good. "Gone" is exact: the holder records its group's identity
 * (CpuGroup.id, the cgroupfs inode number), so a group made again under the same path (a container
 * id used again) does not keep an old holder alive. The ledger is also what the node-wide RT cap
 * counts: every live rt-backend container on the host, whatever its --root.
 */

const RUNTIME = 'cpu.rt_runtime_us';

export interface Holder {
  /** the container's group budget, µs per period, and that as a percent of its period */
  us: number;
  percent: number;
  /** the ancestors between the hierarchy's root and the group, top first (directories) */
  chain: string[];
  /** container id, for messages */
  id?: string;
  since: string;
  /** the group's identity when the budget was granted (CpuGroup.id); absent in older ledgers */
  ino?: number;
}

export interface LedgerDoc {
  version: 1;
  /** parents vkernel-runtime raised: their budget before the first raise */
  parents: Record<string, { original: number }>;
  /** container groups (directories) holding a budget */
  holders: Record<string, Holder>;
}

const empty = (): LedgerDoc => ({ version: 1, parents: {}, holders: {} });

export const ledgerFile = (lockDir: string) => join(lockDir, 'rt-ledger.json');

export function readLedger(file: string, bootStat = '/proc/stat'): LedgerDoc {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty();
    throw e;
  }
  let doc: LedgerDoc;
  try {
    doc = JSON.parse(text) as LedgerDoc;
  } catch (e) {
    // torn by a host crash (writes are not fsynced): from an earlier boot, whose groups are all gone
    const boot = bootTimeMs(bootStat);
    if (boot !== undefined && statSync(file).mtimeMs < boot) return empty();
    throw new Error(`${file}: not an RT ledger: ${(e as Error).message}`);
  }
  if (doc?.version !== 1 || typeof doc.parents !== 'object' || typeof doc.holders !== 'object') throw new Error(`${file}: not an RT ledger (version 1)`);
  return doc;
}

/**
 * write temp, rename: a writer killed at any point (SIGKILL) leaves the old ledger or the new one
 * (the rename is atomic). No fsync: what the ledger describes (cgroup budgets) does not outlive a
 * host crash, so a ledger that did is stale whatever its contents; one torn by the crash (written
 * before this boot and unreadable) reads as empty (readLedger), as the boot's fresh cgroups are.
 * Measured: 2 fsyncs per write on this host's ext4 (/run is not a tmpfs here), ~17 ms per fifo
 * create and again per delete under load (npm run bench -- --profile).
 */
export function writeLedger(file: string, doc: LedgerDoc): void {
  timed('ledger-write', () => writeLedgerNow(file, doc));
}

function writeLedgerNow(file: string, doc: LedgerDoc): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(doc, null, 1)}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** when this boot began (ms since the epoch), from /proc/stat's btime; undefined when unreadable */
export function bootTimeMs(stat = '/proc/stat'): number | undefined {
  try {
    const m = /^btime\s+(\d+)$/m.exec(readFileSync(stat, 'utf8'));
    return m ? Number(m[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** the RT budget all vkernel containers of the node hold, percent of each CPU */
export function nodeUse(doc: LedgerDoc): { percent: number; containers: number } {
  const hs = Object.values(doc.holders);
  return { percent: Math.round(hs.reduce((s, h) => s + h.percent, 0) * 100) / 100, containers: hs.length };
}

/** why `percent` more would exceed the node's limit, or undefined when it fits */
export function capProblem(doc: LedgerDoc, percent: number, limit: number): string | undefined {
  const use = nodeUse(doc);
  if (use.percent + percent <= limit + 1e-9) return undefined;
  return `node RT budget ${use.percent} % in use (${use.containers} container${use.containers === 1 ? '' : 's'}), limit ${limit} %`;
}

const budgetOf = (g: CpuGroup) => Number(g.read(RUNTIME));

function childrenSum(g: CpuGroup): number {
  let sum = 0;
  for (const c of g.children()) if (c.has(RUNTIME)) sum += budgetOf(c);
  return sum;
}

/**
 * whether a holder's group is still the one it was granted to: the directory exists and, where the
 * holder recorded it, has the same identity (a group made again under the path is another group)
 */
export function holderLive(cgroups: Cgroups, dir: string, h: Holder): boolean {
  let id: number | undefined;
  try { id = cgroups.groupAt(dir).id(); } catch { return false; /* outside the hierarchy */ }
  return id !== undefined && (h.ino === undefined || h.ino === id);
}

/**
 * drops holders whose group is gone (a fifo container deleted by runc alone, a crash); returns
 * them, with their records (the kernel may still count a group removed a moment ago: grant leaves
 * room for them)
 */
export function prune(doc: LedgerDoc, cgroups: Cgroups): string[] {
  return pruneHolders(doc, cgroups).map(([dir]) => dir);
}

export function pruneHolders(doc: LedgerDoc, cgroups: Cgroups): [string, Holder][] {
  const gone: [string, Holder][] = [];
  for (const [dir, h] of Object.entries(doc.holders)) {
    if (holderLive(cgroups, dir, h)) continue;
    delete doc.holders[dir];
    gone.push([dir, h]);
  }
  return gone;
}

/**
 * Recomputes every recorded parent, deepest first (a parent can only go down once its children
 * have): max(original, what its children hold now). A parent no holder is below any more, back at
 * its original value, leaves the ledger. Returns the parents whose write the kernel refused (a
 * removed group it still counts, for an RCU grace period): the caller retries.
 */
export function settle(doc: LedgerDoc, cgroups: Cgroups): string[] {
  const refused: string[] = [];
  const dirs = Object.keys(doc.parents).sort((a, b) => b.split('/').length - a.split('/').length);
  for (const dir of dirs) {
    let g: CpuGroup;
    try {
      g = cgroups.groupAt(dir);
    } catch {
      delete doc.parents[dir];
      continue;
    }
    if (!g.exists() || !g.has(RUNTIME)) {
      delete doc.parents[dir]; // removed meanwhile: nothing left to give back
      continue;
    }
    const { original } = doc.parents[dir];
    const want = restoreTo(original, childrenSum(g));
    if (budgetOf(g) !== want) {
      try {
        g.write(RUNTIME, String(want));
      } catch {
        refused.push(dir);
        continue;
      }
    }
    const below = Object.values(doc.holders).some((h) => h.chain.includes(dir));
    if (!below && want === original) delete doc.parents[dir];
  }
  return refused;
}
