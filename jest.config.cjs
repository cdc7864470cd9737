const tsJest = ['ts-jest', { useESM: true, tsconfig: { allowJs: true, isolatedModules: true } }];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
};
// integration and e2e: the run fails when the tests left containers, state, cgroups, ledger
// holders or helpers behind (test/global/leftovers.cjs)
// every tier: a temporary directory of the run's own, removed at its end (test/global/tmp.cjs)
const ownTmp = {
  globalSetup: '<rootDir>/test/global/tmp-setup.cjs',
  globalTeardown: '<rootDir>/test/global/tmp-teardown.cjs',
};
const leftoverCheck = {
  globalSetup: '<rootDir>/test/global/setup.cjs',
  globalTeardown: '<rootDir>/test/global/teardown.cjs',
  setupFiles: ['<rootDir>/test/global/record-pid.cjs'],
};
module.exports = {
  projects: [
    { ...common, ...ownTmp, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, ...leftoverCheck, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, ...leftoverCheck, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    // test/vm/debug/: the debug-kernel tier's own suites, only with VKVM_KERNEL_CONFIG=debug
    // (`npm run test:kernel-debug`, kernel/debug-tier.sh)
    {
      ...common,
      ...ownTmp,
      displayName: 'vm',
      testMatch: ['<rootDir>/test/vm/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...(process.env.VKVM_KERNEL_CONFIG === 'debug' ? [] : ['<rootDir>/test/vm/debug/'])],
    },
    // the scx backend on both kernels with sched_ext (issue 16 §2): its own script, `npm run test:scx`,
    // not a tier of `npm test` (the cold 6.12 build with BTF does not fit CI's budget); the VM tier
    // runs its stock-kernel half (test/vm/scx-stock.test.ts)
    { ...common, ...ownTmp, displayName: 'scx', testMatch: ['<rootDir>/test/scx/**/*.test.ts'] },
  ],
};
