import { budgetUs, planGrant, restoreTo, withLingering } from '../../src/kernel/backends/rt-budget.js';

const root = (budget: number, others = 0) => ({ dir: '/cg', budget, others });

describe('RT budget arithmetic (pure)', () => {
  test('a container budget is a whole number of µs, percent of its period', () => {
    expect(budgetUs(1_000_000, 25)).toBe(250_000);
    expect(budgetUs(999_999, 33)).toBe(329_999);
    expect(budgetUs(100_000, 95)).toBe(95_000);
  });

  test('a group directly under the root raises nothing', () => {
    expect(planGrant(250_000, [], root(950_000))).toEqual([]);
  });

  test('an ancestor without room is raised to what the path below it needs', () => {
    expect(planGrant(250_000, [{ dir: '/cg/docker', budget: 0, others: 0 }], root(950_000)))
      .toEqual([{ dir: '/cg/docker', original: 0, to: 250_000 }]);
  });

  test('each ancestor must hold its other children too; raised top first (a parent before its child)', () => {
    const chain = [
      { dir: '/cg/kube', budget: 0, others: 100_000 },
      { dir: '/cg/kube/pod', budget: 0, others: 50_000 },
    ];
    expect(planGrant(250_000, chain, root(950_000))).toEqual([
      { dir: '/cg/kube', original: 0, to: 400_000 },
      { dir: '/cg/kube/pod', original: 0, to: 300_000 },
    ]);
  });

  test('an ancestor that already has room keeps its budget (never lowered)', () => {
    expect(planGrant(250_000, [{ dir: '/cg/docker', budget: 500_000, others: 100_000 }], root(950_000))).toEqual([]);
    expect(planGrant(250_000, [{ dir: '/cg/docker', budget: 349_999, others: 100_000 }], root(950_000)))
      .toEqual([{ dir: '/cg/docker', original: 349_999, to: 350_000 }]);
  });

  test('the root keeps its limit: the topmost need must fit in its room, to the µs', () => {
    const chain = [{ dir: '/cg/docker', budget: 0, others: 100_000 }];
    expect(planGrant(250_000, chain, root(950_000, 600_000))).toHaveLength(1);
    expect(() => planGrant(250_001, chain, root(950_000, 600_000)))
      .toThrow('RT budget exhausted: 250001 µs per period asked, 350000 µs left under /cg (the kernel keeps the rest for non-RT tasks)');
    expect(() => planGrant(10, [], root(950_000, 950_000))).toThrow('10 µs per period asked, 0 µs left under /cg');
  });

  test('a room below zero (budgets written by others) is reported as none left', () => {
    expect(() => planGrant(1, [], root(100, 200))).toThrow(' 0 µs left under /cg');
  });

  test('what a raised ancestor returns to: its original, or what its children now hold when more', () => {
    expect(restoreTo(0, 0)).toBe(0);
    expect(restoreTo(500_000, 100_000)).toBe(500_000);
    expect(restoreTo(0, 100_000)).toBe(100_000);
  });

  test('a group removed a moment ago (still counted by the kernel) is room the plan leaves where its parent is the root or on the path', () => {
    const chain = [{ dir: '/cg/k', budget: 0, others: 0 }, { dir: '/cg/k/b', budget: 0, others: 0 }];
    const l = withLingering(chain, root(950_000), [
      { parent: '/cg/k/b', us: 250_000 }, // a sibling of the new group
      { parent: '/cg', us: 100_000 }, // directly under the root
      { parent: '/cg/docker', us: 250_000 }, // elsewhere: its own parent's budget covers it
    ]);
    expect(l.chain).toEqual([{ dir: '/cg/k', budget: 0, others: 0 }, { dir: '/cg/k/b', budget: 0, others: 250_000 }]);
    expect(l.root).toEqual(root(950_000, 100_000));
    expect(chain[1].others).toBe(0); // the input is not changed
    expect(planGrant(250_000, l.chain, l.root)).toEqual([{ dir: '/cg/k', original: 0, to: 500_000 }, { dir: '/cg/k/b', original: 0, to: 500_000 }]);
  });
});
