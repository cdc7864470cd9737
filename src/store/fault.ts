/**
 * Named crash and failure points of the lifecycle (README.md "Test aids"). In production this is
 * all there is: a point is a call of a hook that is unset, so it does nothing. The test aid that
 * kills or fails at a point (src/store/fault-inject.ts) is imported and installed by the CLI's
 * start-up only when the runtime's environment (RuntimeEnv.testFault, read once in src/env.ts)
 * asks for it. Points are named where they sit: `prepared`, `locked`, `runc-created`,
 * `before-state-write`, `mid-state-write`, `applying:<applier>`, `applied:<applier>`,
 * `applied-all`, `rt-ledger-settled`, `rt-budget-raised`, `created`, `rollback-runc-deleted`, `started`, `bundle-made`,
 * `bundle-written`, `watching`, `module-loaded`, `ns-enabled`, `releasing:<applier>`, `undoing:<applier>`, ... (grep faultPoint).
 */
export type FaultHook = (point: string) => void;

let hook: FaultHook | undefined;

/** A named point of the lifecycle: the installed test hook may kill or fail here. */
export function faultPoint(point: string): void {
  hook?.(point);
}

/** Installs (or, with undefined, removes) the test hook (fault-inject.ts). */
export function setFaultHook(h: FaultHook | undefined): void {
  hook = h;
}
