/**
 * The launcher's argv patterns (bin/vkernel-runtime), generated from runc's flag table
 * (src/oci/flags.ts) so the launcher and the engine read argv alike. Each generated function sets
 * `k` to what its argument is:
 *   global_arg:  ours-value ours root root= value help version end flag word
 *   arg_<cmd>:   bundle bundle= value help end flag word
 * `scripts/gen-launcher.ts` writes the block into the launcher; test/unit/launcher-cases.test.ts
 * checks that the launcher in the repo holds exactly this text.
 */
import { COMMAND_FLAGS, HELP, OUR_GLOBAL, RUNC_GLOBAL, TRUE_WORDS, type FlagSpec } from '../src/oci/flags.js';

export const BEGIN = '# >>> generated from src/oci/flags.ts by scripts/gen-launcher.ts (npm run build): do not edit';
export const END = '# <<< generated';
/** the subcommands whose arguments the launcher reads (to route them); all others go to runc */
export const LAUNCHER_COMMANDS = ['create', 'run', 'start', 'delete', 'ps', 'features'] as const;

const forms = (names: readonly string[], suffix = '') => names.flatMap((n) => [`-${n}${suffix}`, `--${n}${suffix}`]);
const truthy = (names: readonly string[]) => [...forms(names), ...TRUE_WORDS.flatMap((w) => forms(names, `=${w}`))];
const arm = (patterns: string[], kind: string) => `    ${patterns.join('|')}) k=${kind} ;;`;

function fn(name: string, arms: string[]): string {
  return [`${name}() {`, '  case $1 in', ...arms,
    arm(['--'], 'end'), arm(['-'], 'word'), arm(['-*'], 'flag'), arm(['*'], 'word'), '  esac', '}'].join('\n');
}

function valueArms(flags: readonly FlagSpec[], special: Record<string, string>): string[] {
  const arms: string[] = [];
  const plain: string[] = [];
  for (const f of flags.filter((x) => x.value)) {
    const kind = special[f.names[0]];
    if (kind) {
      arms.push(arm(forms(f.names), kind), arm(forms(f.names, '=*'), `${kind}=`));
    } else {
      plain.push(...forms(f.names));
    }
  }
  if (plain.length) arms.push(arm(plain, 'value'));
  return arms;
}

export function launcherCases(): string {
  const version = RUNC_GLOBAL.find((f) => f.names[0] === 'version') as FlagSpec;
  const ours = OUR_GLOBAL.filter((f) => f.value).map((f) => f.names);
  const globalFn = fn('global_arg', [
    arm(ours.flatMap((n) => forms(n)), 'ours-value'),
    arm(OUR_GLOBAL.flatMap((f) => forms(f.names, '=*')), 'ours'),
    ...valueArms(RUNC_GLOBAL, { root: 'root' }),
    arm(truthy(HELP.names), 'help'),
    arm(truthy(version.names), 'version'),
  ]);
  const commandFns = LAUNCHER_COMMANDS.map((c) => fn(`arg_${c}`, [
    ...valueArms(COMMAND_FLAGS[c], { bundle: 'bundle' }),
    arm(truthy(HELP.names), 'help'),
  ]));
  return [BEGIN, globalFn, ...commandFns, END].join('\n');
}

/** the launcher's text with its generated block replaced by `block` */
export function withCases(launcher: string, block: string): string {
  const a = launcher.indexOf(BEGIN);
  const b = launcher.indexOf(END, a);
  if (a < 0 || b < 0) throw new Error(`launcher has no generated block (${BEGIN} … ${END})`);
  return launcher.slice(0, a) + block + launcher.slice(b + END.length);
}
