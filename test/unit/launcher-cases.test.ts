import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { BEGIN_COMMANDS, BEGIN_GLOBAL, LAUNCHER_COMMANDS, block as blockOf, commandCases, globalCases, withCases } from '../../scripts/launcher-cases.js';
import { COMMAND_FLAGS, OUR_GLOBAL, RUNC_GLOBAL } from '../../src/oci/flags.js';
import { helpRequested, parseArgv, parseCommandArgs } from '../../src/oci/argv.js';

const launcher = readFileSync(new URL('../../bin/vkernel-runtime', import.meta.url), 'utf8');
const block = `${blockOf(launcher, BEGIN_GLOBAL)}\n${blockOf(launcher, BEGIN_COMMANDS)}`;

test('the launcher in the repo holds exactly what src/oci/flags.ts generates (run `npm run build`)', () => {
  expect(blockOf(launcher, BEGIN_GLOBAL)).toBe(globalCases());
  expect(blockOf(launcher, BEGIN_COMMANDS)).toBe(commandCases());
  expect(withCases(launcher)).toBe(launcher);
});

/** what the launcher's generated functions say each argument is (sh runs the block from the repo) */
function classify(fn: string, args: string[]): string[] {
  const script = `${block}\nfn=$1; shift; for a in "$@"; do "$fn" "$a"; echo "$k"; done`;
  return execFileSync('/bin/sh', ['-c', script, 'sh', fn, ...args], { encoding: 'utf8' }).trim().split('\n');
}

describe('the launcher and the engine read every flag of the table alike', () => {
  test('global flags', () => {
    const forms = [...RUNC_GLOBAL, ...OUR_GLOBAL].flatMap((f) => f.names.flatMap((n) => [`-${n}`, `--${n}`]));
    const kinds = classify('global_arg', forms);
    forms.forEach((form, i) => {
      // the engine: does this flag swallow the next word (then the command is the word after it)?
      const inv = parseArgv([form, 'json', 'state', 'id']);
      const takesValue = inv.command === 'state';
      expect([form, ['ours-value', 'root', 'value'].includes(kinds[i])]).toEqual([form, takesValue]);
    });
  });

  test.each(LAUNCHER_COMMANDS.map((c) => [c]))('%s flags', (cmd) => {
    const forms = COMMAND_FLAGS[cmd].flatMap((f) => f.names.flatMap((n) => [`-${n}`, `--${n}`]));
    if (!forms.length) return;
    const kinds = classify(`arg_${cmd}`, forms);
    forms.forEach((form, i) => {
      const takesValue = parseCommandArgs(cmd, [form, 'X', 'id']).positionals.length === 1;
      expect([form, ['bundle', 'value'].includes(kinds[i])]).toEqual([form, takesValue]);
    });
  });

  test('help, in every form the engine takes as help', () => {
    const samples = ['-h', '--h', '-help', '--help', '--help=true', '-h=1', '--help=t', '--help=false', '-h=0', '--helpx', '-hh'];
    for (const cmd of LAUNCHER_COMMANDS) {
      const kinds = classify(`arg_${cmd}`, samples);
      samples.forEach((s, i) => expect([cmd, s, kinds[i] === 'help']).toEqual([cmd, s, helpRequested(cmd, [s, 'id'])]));
    }
    const kinds = classify('global_arg', samples);
    samples.forEach((s, i) => expect([s, kinds[i] === 'help']).toEqual([s, parseArgv([s, 'state']).help]));
  });
});

test('the launcher starts runc for `run` with a request exactly as the engine does (src/lifecycle/run.ts)', async () => {
  const { BIND_AND_EXEC } = await import('../../src/lifecycle/run.js');
  expect(launcher).toContain(`exec unshare --mount --propagation slave -- /bin/sh -c '${BIND_AND_EXEC}'`);
});
