import { helpRequested } from '../../oci/argv.js';
import type { Runtime } from '../../lifecycle/runtime.js';

/** the runc subcommands the engine handles itself (every other one passes through to runc) */
export const INTERCEPTED = new Set(['create', 'run', 'start', 'delete', 'features']);

/**
 * `--help` (global) or `<subcommand> -h|--help`: runc prints its help and exits 0 whatever else
 * argv holds, so such a call goes to runc unchanged (our flags removed), never into the lifecycle.
 */
export function wantsRuncHelp(rt: Runtime): boolean {
  if (rt.inv.help) return true;
  const cmd = rt.inv.command;
  return cmd !== undefined && INTERCEPTED.has(cmd) && helpRequested(cmd, rt.inv.args);
}
