/**
 * The launcher's argv patterns (bin/vkernel-runtime), generated from runc's flag table
 * (src/oci/flags.ts) so the launcher and the engine read argv alike. Each generated function sets
 * `k` to what its argument is:
 *   global_arg:  ours-value ours root root= value help version end flag word
 *   arg_<cmd>:   bundle bundle= value help end flag word
 * `scripts/gen-launcher.ts` writes the block into the launcher; test/unit/launcher-cases.test.ts
 * checks that the launcher in the repo holds exactly this text.
 */
import { OWN_VARIABLES } from '../src/env.js';
import { HOOK_STAGES } from '../src/lifecycle/hook-stages.js';
import { COMMAND_FLAGS, HELP, OUR_GLOBAL, RUNC_GLOBAL, TRUE_WORDS, type FlagSpec } from '../src/oci/flags.js';

const marker = (what: string) => `# >>> generated (${what}) from src/oci/flags.ts by scripts/gen-launcher.ts (npm run build): do not edit`;
export const BEGIN_GLOBAL = marker('global flags');
export const BEGIN_COMMANDS = marker('subcommand flags');
export const END = '# <<< generated';
/** the subcommands whose arguments the launcher reads (to route them); all others go to runc */
export const LAUNCHER_COMMANDS = ['create', 'run', 'start', 'delete', 'ps', 'features'] as const;

const forms = (names: readonly string[], suffix = '') => names.flatMap((n) => [`-${n}${suffix}`, `--${n}${suffix}`]);
const arm = (patterns: string[], kind: string) => `    ${patterns.join('|')}) k=${kind} ;;`;
/** a boolean flag that is true when written bare or with one of Go's true words (`--help=t`) */
const boolArms = (names: readonly string[], kind: string) => [
  arm(forms(names), kind),
  `    ${forms(names, '=*').join('|')}) case \${1#*=} in ${TRUE_WORDS.join('|')}) k=${kind} ;; *) k=flag ;; esac ;;`,
];

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

/** the global flags' block (read for every call, so kept short) */
export function globalCases(): string {
  const version = RUNC_GLOBAL.find((f) => f.names[0] === 'version') as FlagSpec;
  const ours = OUR_GLOBAL.filter((f) => f.value).map((f) => f.names);
  return [BEGIN_GLOBAL, fn('global_arg', [
    arm(ours.flatMap((n) => forms(n)), 'ours-value'),
    arm(OUR_GLOBAL.flatMap((f) => forms(f.names, '=*')), 'ours'),
    ...valueArms(RUNC_GLOBAL, { root: 'root' }),
    ...boolArms(HELP.names, 'help'),
    ...boolArms(version.names, 'version'),
  ]), END].join('\n');
}

/** the subcommands' block (read only on the way to the engine or the admin commands) */
export function commandCases(): string {
  return [BEGIN_COMMANDS, ...LAUNCHER_COMMANDS.map((c) => fn(`arg_${c}`, [
    ...valueArms(COMMAND_FLAGS[c], { bundle: 'bundle' }),
    ...boolArms(HELP.names, 'help'),
  ])), END].join('\n');
}

/** the generated block that starts with `begin` in `launcher` */
export function block(launcher: string, begin: string): string {
  const a = launcher.indexOf(begin);
  const b = launcher.indexOf(END, a);
  if (a < 0 || b < 0) throw new Error(`launcher has no generated block (${begin} … ${END})`);
  return launcher.slice(a, b + END.length);
}

/** the launcher's text with both generated blocks as the table makes them */
export function withCases(launcher: string): string {
  let out = launcher;
  for (const made of [globalCases(), commandCases()]) {
    const begin = made.slice(0, made.indexOf('\n'));
    out = out.replace(block(out, begin), made);
  }
  return out;
}

/** the C entry point's copy of the same table (client/launcher-flags.h): name lists per kind */
export const C_HEADER = 'client/launcher-flags.h';
const cList = (name: string, names: readonly string[]) =>
  `static const char *const ${name}[] = { ${[...names.map((n) => JSON.stringify(n)), 'NULL'].join(', ')} };`;

/**
 * The text of client/launcher-flags.h: the names (without dashes) of each kind of flag the
 * launcher's generated functions tell apart, for client/vkernel-client.c's launcher mode, which
 * classifies an argument as the sh functions do (exact `-name`/`--name`, or `-name=`/`--name=`).
 */
export function cHeader(): string {
  const version = RUNC_GLOBAL.find((f) => f.names[0] === 'version') as FlagSpec;
  const plainValues = (flags: readonly FlagSpec[], special: string) => flags.filter((f) => f.value && f.names[0] !== special).flatMap((f) => f.names);
  const namesOf = (flags: readonly FlagSpec[], first: string) => flags.find((f) => f.names[0] === first)?.names ?? [];
  return [
    '/* SPDX-License-Identifier: GPL-2.0-only */',
    '/* generated from src/oci/flags.ts and src/env.ts by scripts/gen-launcher.ts (npm run build): do not edit */',
    cList('ours_value_flags', OUR_GLOBAL.filter((f) => f.value).flatMap((f) => f.names)),
    cList('ours_flags', OUR_GLOBAL.flatMap((f) => f.names)),
    cList('set_flags', namesOf(OUR_GLOBAL, 'vkernel-set')),
    cList('root_flags', namesOf(RUNC_GLOBAL, 'root')),
    cList('global_value_flags', plainValues(RUNC_GLOBAL, 'root')),
    cList('help_flags', HELP.names),
    cList('version_flags', version.names),
    cList('true_words', TRUE_WORDS),
    cList('bundle_flags', namesOf(COMMAND_FLAGS.create, 'bundle')),
    ...(['create', 'start', 'delete'] as const).map((c) => cList(`${c}_value_flags`, plainValues(COMMAND_FLAGS[c], 'bundle'))),
    // the environment the engine server compares a caller's by (src/serve/server.ts comparable: not
    // the launcher's own path), of which the client names the default socket (default_socket)
    cList('compared_variables', [...OWN_VARIABLES.filter((v) => v !== 'VKERNEL_RUNTIME_SELF'), 'PATH']),
    // the stages of `oci-hook STAGE` the C entry point takes to the engine server
    cList('hook_stages', HOOK_STAGES),
    '',
  ].join('\n');
}
