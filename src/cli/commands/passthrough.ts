import { extraFds } from '../../oci/runc.js';
import type { Runtime } from '../../lifecycle/runtime.js';
import { flagValue, parseCommandArgs } from '../argv.js';

/**
 * Every subcommand we do not intercept: runc with the caller's argv (ours removed), stdio and the
 * extra fds inherited, signals forwarded, exit status returned. (bin/vkernel-runtime usually execs
 * runc itself for these; this path serves invocations that carry our own global flags.)
 */
export function passthrough(rt: Runtime): Promise<number> {
  const cmd = rt.inv.command as string;
  const preserve = cmd === 'exec' ? Number(flagValue(parseCommandArgs(cmd, argsBeforeCommand(rt.inv.args)), 'preserve-fds') ?? 0) : 0;
  return rt.inherit(rt.callerArgv(), extraFds(preserve));
}

/** `exec` stops parsing flags at the container id (its command follows): only look before it */
function argsBeforeCommand(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-')) break;
    out.push(a);
    if (!a.includes('=') && /^--?(preserve-fds|process|p|console-socket|cwd|env|e|user|u|additional-gids|g|pid-file|process-label|apparmor|cap|c|cgroup)$/.test(a)) out.push(args[++i]);
  }
  return out;
}
