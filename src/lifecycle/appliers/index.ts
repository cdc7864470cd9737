import type { Applier } from '../applier.js';
import { schedPolicy } from './sched-policy.js';
import { nsSysctls } from './ns-sysctls.js';
import { moduleApplier } from './module.js';
import { kernelLog } from './kernel-log.js';

/**
 * Every applier, in apply order (undo runs in reverse). A new feature is a new file here.
 * Test failures are not appliers: they are fault points (store/fault.ts).
 */
export const APPLIERS: readonly Applier[] = [schedPolicy, nsSysctls, kernelLog, moduleApplier];
