// The runtime the benches run, as an installation registers it: the C entry point
// (dist/vkernel-runtime) where the build made it (a C compiler), else the sh launcher.
import { existsSync } from 'node:fs';

/** the sh launcher (what a build without a C compiler runs) */
export const SH = new URL('../../bin/vkernel-runtime', import.meta.url).pathname;
const C_ENTRY = new URL('../../dist/vkernel-runtime', import.meta.url).pathname;
/** the entry point callers run */
export const RUNTIME = existsSync(C_ENTRY) ? C_ENTRY : SH;
