/**
 * RT bandwidth arithmetic of the rt backend: pure functions of the budgets read from the cpu
 * hierarchy (cpu.rt_runtime_us, µs per period), unit-tested in test/unit/rt-budget.test.ts. The
 * kernel refuses a group whose children's budgets sum above its own, and keeps the root's budget
 * as the host-wide limit for RT tasks; rt.ts does the reads and writes these plans call for.
 */

/** the budget a container group gets: `percent` of its period, whole µs */
export function budgetUs(periodUs: number, percent: number): number {
  return Math.floor((periodUs * percent) / 100);
}

/** an ancestor of the container's group below the hierarchy's root */
export interface Ancestor {
  dir: string;
  budget: number;
  /** the sum of its children's budgets, except the child on the path to the container's group */
  others: number;
}

export interface Raise { dir: string; original: number; to: number }

/**
 * What giving `us` to a group needs: every ancestor (top first) must hold its other children's
 * budgets plus what the child on our path needs; the root's room (its budget minus its other
 * children's) must cover the topmost need. Returns the ancestors to raise, top first (a parent
 * before its child, as the kernel requires); throws, naming the room left, when the root has none.
 */
export function planGrant(us: number, chain: readonly Ancestor[], root: { dir: string; budget: number; others: number }): Raise[] {
  const need: number[] = new Array(chain.length);
  let amount = us;
  for (let i = chain.length - 1; i >= 0; i--) {
    amount += chain[i].others;
    need[i] = amount;
  }
  const room = root.budget - root.others;
  if ((chain.length ? need[0] : us) > room) {
    throw new Error(`RT budget exhausted: ${us} µs per period asked, ${Math.max(room, 0)} µs left under ${root.dir} (the kernel keeps the rest for non-RT tasks); delete a fifo container or lower rt.budget_percent in the runtime config`);
  }
  return chain.flatMap((a, i) => (a.budget < need[i] ? [{ dir: a.dir, original: a.budget, to: need[i] }] : []));
}

/**
 * What a raised ancestor goes back to: its original budget, or, when groups created since need
 * more, their sum (never below what its children hold, which the kernel would refuse).
 */
export function restoreTo(original: number, childrenSum: number): number {
  return Math.max(original, childrenSum);
}

/**
 * A group removed a moment ago still counts against its parent in the kernel until an RCU grace
 * period has passed (its task group is freed then), with whatever budget it had: a fifo container
 * deleted by runc alone keeps its budget to the end. `lingering`: such groups (their parent's
 * directory and budget). Each is added to the other children of its parent where that parent is
 * the root or on the new group's path, so the plan leaves room for it and the new group's write is
 * not refused meanwhile (the room is given back at the next ledger operation once it is freed).
 * A lingering group under another parent is covered by that parent's own budget.
 */
export function withLingering(chain: readonly Ancestor[], root: { dir: string; budget: number; others: number }, lingering: readonly { parent: string; us: number }[]): { chain: Ancestor[]; root: { dir: string; budget: number; others: number } } {
  const c = chain.map((a) => ({ ...a }));
  const r = { ...root };
  for (const l of lingering) {
    if (l.parent === r.dir) r.others += l.us;
    else {
      const a = c.find((x) => x.dir === l.parent);
      if (a) a.others += l.us;
    }
  }
  return { chain: c, root: r };
}
