import { flagValue, parseCommandArgs } from '../../oci/argv.js';
import type { Runtime } from '../../lifecycle/runtime.js';

/**
 * Every subcommand we do not intercept (and help): runc with the caller's argv (ours removed), stdio
 * and the extra fds inherited, signals forwarded, exit status returned. (bin/vkernel-runtime
 * usually execs runc itself for these; this path serves invocations that carry our global flags.)
 */
export function passthrough(rt: Runtime): Promise<number> {
  const cmd = rt.inv.command;
  const preserve = cmd === 'exec' ? Number(flagValue(parseCommandArgs(cmd, rt.inv.args), 'preserve-fds') ?? 0) : 0;
  return rt.inherit(rt.callerArgv(), rt.extraFds(preserve));
}
