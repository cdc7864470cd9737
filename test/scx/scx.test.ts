// `npm run test:scx` (not a tier of `npm test`: the cold 6.12 build does not fit CI's budget): the
// scx suite (test/scx/suite.ts) on both sched_ext kernels, Debian forky's stock kernel and our 6.12
// build. The stock half alone is a part of npm test's VM tier (test/vm/scx-stock.test.ts).
// VKSCX_KERNELS=stock or built narrows it, for development only.
import { scxSuite, type ScxKernel } from './suite.js';

scxSuite((process.env.VKSCX_KERNELS ?? 'stock,built').split(',').filter((k): k is ScxKernel => k === 'stock' || k === 'built'));
