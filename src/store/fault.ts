/**
 * Test hook (README.md "Test aids"): crash and failure points, driven by VKERNEL_RUNTIME_TEST_FAULT
 * in the runtime's environment (read on first use). Without the variable every point is a no-op.
 *   kill-at=<point>[@<n>]  the process SIGKILLs itself the n-th time (default: first) it reaches <point>
 *   fail-at=<point>[@<n>]  throws there instead (an ordinary failure, e.g. to prove a rollback)
 *   after-create           = fail-at=applied-all (create/run fail after runc create and every applier)
 * several, comma-separated (e.g. a failure, then a kill during its rollback).
 * Points are named where they sit: `prepared`, `locked`, `runc-created`, `before-state-write`,
 * `mid-state-write`, `applying:<applier>`, `applied:<applier>`, `applied-all`, `rt-budget-raised`,
 * `created`, `rollback-runc-deleted`, `started`, ... (grep faultPoint).
 */
interface Fault { kind: 'kill' | 'fail'; point: string; n: number }

let faults: Fault[] | undefined;
const seen = new Map<string, number>();

/** comma-separated faults, e.g. `fail-at=applied-all,kill-at=rollback-runc-deleted` */
function parse(v: string | undefined): Fault[] {
  return (v ?? '').split(',').filter(Boolean).map((f) => {
    if (f === 'after-create') return { kind: 'fail', point: 'applied-all', n: 1 };
    const m = /^(kill|fail)-at=([^@]+)(?:@(\d+))?$/.exec(f);
    if (!m) throw new Error(`VKERNEL_RUNTIME_TEST_FAULT=${JSON.stringify(v)}: expected after-create, kill-at=<point>[@n] or fail-at=<point>[@n], comma-separated`);
    return { kind: m[1] as Fault['kind'], point: m[2], n: Number(m[3] ?? 1) };
  });
}

/** A named point of the lifecycle: kills or fails here when the test hook asks for it. */
export function faultPoint(point: string): void {
  faults ??= parse(process.env.VKERNEL_RUNTIME_TEST_FAULT);
  if (!faults.length) return;
  const n = (seen.get(point) ?? 0) + 1;
  seen.set(point, n);
  const fault = faults.find((f) => f.point === point && f.n === n);
  if (!fault) return;
  if (fault.kind === 'kill') process.kill(process.pid, 'SIGKILL');
  throw new Error(`injected failure ${point === 'applied-all' ? 'after runc create' : `at ${point}`} (VKERNEL_RUNTIME_TEST_FAULT=${process.env.VKERNEL_RUNTIME_TEST_FAULT})`);
}
