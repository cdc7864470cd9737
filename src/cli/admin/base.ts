import { Command, Errors } from '@oclif/core';

/** oclif command whose errors print as one unwrapped line (`vkernel-runtime: ...`), exit 1 */
export abstract class AdminCommand extends Command {
  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof Errors.ExitError || err.message?.startsWith('EEXIT')) throw err;
    if (err.name === 'CLIError' && /^(Missing|Expected|Nonexistent|Unexpected)/.test(err.message)) return super.catch(err);
    process.stderr.write(`vkernel-runtime: ${err.message}\n`);
    process.exitCode = 1;
    return undefined;
  }
}
