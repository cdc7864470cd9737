import type { Applier } from '../applier.js';

/**
 * Test aid (documented in README.md): with VKERNEL_RUNTIME_TEST_FAULT=after-create in the runtime's
 * environment, create fails after `runc create` and after every other applier, so tests can prove
 * the rollback. Without the variable this applier is never requested.
 */
export const testFault: Applier = {
  name: 'test-fault',
  keys: [],
  requested: () => process.env.VKERNEL_RUNTIME_TEST_FAULT === 'after-create',
  unsupported: () => undefined,
  apply: async () => {
    throw new Error('injected failure after runc create (VKERNEL_RUNTIME_TEST_FAULT=after-create)');
  },
  undo: async () => {},
};
