import { FALSE_WORDS, HELP, NO_REORDER, OUR_GLOBAL, RUNC_GLOBAL, TRUE_WORDS, valueNames } from './flags.js';

/**
 * runc's invocation model: argv parsed as runc parses it, from the flag table in oci/flags.ts (the
 * launcher's patterns are generated from the same table). runc uses urfave/cli v1: a flag may be
 * written `-name` or `--name`, with its value as `--name value` or `--name=value`; global flags
 * come before the subcommand; a subcommand's flags may come before or after its positional
 * arguments (urfave reorders them), except after `--` and for `exec`.
 */

export interface Globals {
  debug: boolean;
  log?: string;
  logFormat: 'text' | 'json';
  root?: string;
  criu?: string;
  systemdCgroup: boolean;
  rootless?: string;
}

export interface Invocation {
  globals: Globals;
  /** `--vkernel-set key=value`, in order */
  sets: string[];
  vkernelConfig?: string;
  runc?: string;
  /** the global arguments to give runc: the caller's, minus ours, unchanged otherwise */
  runcGlobals: string[];
  help: boolean;
  version: boolean;
  /** the subcommand (`create`, `state`, …), absent when none was given */
  command?: string;
  /** everything after the subcommand, unchanged */
  args: string[];
}

const GLOBAL_VALUE = new Set([...RUNC_GLOBAL, ...OUR_GLOBAL].filter((f) => f.value).flatMap((f) => f.names));
const OURS = new Set(OUR_GLOBAL.flatMap((f) => f.names));

export class UsageError extends Error {}

/** `--name=value` / `-name value` → [name, inline value | undefined]; undefined when not a flag */
function splitFlag(arg: string): [string, string | undefined] | undefined {
  if (arg.length < 2 || arg[0] !== '-' || arg === '--') return undefined;
  const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
  const eq = body.indexOf('=');
  return eq < 0 ? [body, undefined] : [body.slice(0, eq), body.slice(eq + 1)];
}

function boolValue(name: string, inline: string | undefined): boolean {
  if (inline === undefined || (TRUE_WORDS as readonly string[]).includes(inline)) return true;
  if ((FALSE_WORDS as readonly string[]).includes(inline)) return false;
  throw new UsageError(`invalid boolean value ${JSON.stringify(inline)} for flag --${name}`);
}

export function parseArgv(argv: readonly string[]): Invocation {
  const inv: Invocation = {
    globals: { debug: false, logFormat: 'text', systemdCgroup: false },
    sets: [], runcGlobals: [], help: false, version: false, args: [],
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { i++; break; }
    const flag = splitFlag(arg);
    if (!flag) break;
    const [name, inline] = flag;
    let value = inline;
    if (GLOBAL_VALUE.has(name) && value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
      value = argv[++i];
    }
    if (!OURS.has(name)) {
      inv.runcGlobals.push(arg);
      if (GLOBAL_VALUE.has(name) && inline === undefined) inv.runcGlobals.push(value as string);
    }
    switch (name) {
      case 'debug': inv.globals.debug = boolValue(name, inline); break;
      case 'systemd-cgroup': inv.globals.systemdCgroup = boolValue(name, inline); break;
      case 'log': inv.globals.log = value; break;
      case 'log-format':
        if (value !== 'text' && value !== 'json') throw new UsageError(`invalid log format ${JSON.stringify(value)}: must be text or json`);
        inv.globals.logFormat = value;
        break;
      case 'root': inv.globals.root = value; break;
      case 'criu': inv.globals.criu = value; break;
      case 'rootless': inv.globals.rootless = value; break;
      case 'vkernel-set': inv.sets.push(value as string); break;
      case 'vkernel-config': inv.vkernelConfig = value; break;
      case 'runc': inv.runc = value; break;
      case 'help': case 'h': inv.help = boolValue(name, inline); break;
      case 'version': case 'v': inv.version = boolValue(name, inline); break;
      default: break; // unknown global flags are runc's business
    }
  }
  if (i < argv.length) {
    inv.command = argv[i];
    inv.args = argv.slice(i + 1);
  }
  return inv;
}

export interface CommandArgs {
  flags: Map<string, string | true>;
  positionals: string[];
}

/**
 * Parses a subcommand's arguments the way urfave/cli v1 does: flags anywhere before `--`, except
 * for the commands that stop at their first positional argument (`exec`: the command follows).
 */
export function parseCommandArgs(command: string, args: readonly string[]): CommandArgs {
  const valued = valueNames(command);
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') { positionals.push(...args.slice(i + 1)); break; }
    const flag = splitFlag(arg);
    if (!flag) {
      if (NO_REORDER.has(command)) { positionals.push(...args.slice(i)); break; }
      positionals.push(arg);
      continue;
    }
    const [name, inline] = flag;
    if (valued.has(name)) {
      if (inline !== undefined) flags.set(name, inline);
      else if (i + 1 < args.length) flags.set(name, args[++i]);
      else throw new UsageError(`flag needs an argument: --${name}`);
    } else {
      flags.set(name, inline ?? true);
    }
  }
  return { flags, positionals };
}

/**
 * `<command> -h`/`--help` (any alias, `-`/`--`, `=bool`, before or after the id): runc prints the
 * command's help and exits 0, whatever else argv holds.
 */
export function helpRequested(command: string, args: readonly string[]): boolean {
  let c: CommandArgs;
  try {
    c = parseCommandArgs(command, args);
  } catch {
    return false;
  }
  return HELP.names.some((n) => {
    const v = c.flags.get(n);
    return v === true || (typeof v === 'string' && (TRUE_WORDS as readonly string[]).includes(v));
  });
}

/** the one flag value among its aliases (`bundle`/`b`) */
export function flagValue(c: CommandArgs, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = c.flags.get(n);
    if (typeof v === 'string') return v;
  }
  return undefined;
}

export function flagSet(c: CommandArgs, ...names: string[]): boolean {
  return names.some((n) => {
    const v = c.flags.get(n);
    return v === true || v === 'true';
  });
}

/** the container id: runc's commands take exactly one (start/delete may take several: runc 1.1 takes one) */
export function containerId(command: string, c: CommandArgs): string {
  if (c.positionals.length !== 1) {
    throw new UsageError(`"${command}" requires exactly 1 argument (the container id), got ${c.positionals.length}`);
  }
  return c.positionals[0];
}

/**
 * The subcommand's argv with every occurrence of a value flag (any alias, any form) replaced by one
 * `--<first alias> value` at the front (urfave/cli refuses two forms of one flag; and its argument
 * reordering pairs a flag with the word after it, so a flag appended after the id would end flag
 * parsing early: `--no-pivot id --bundle X` fails where `--bundle X --no-pivot id` works).
 */
export function replaceFlag(command: string, args: readonly string[], aliases: readonly string[], value: string): string[] {
  const valued = valueNames(command);
  const out: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') break;
    const flag = splitFlag(arg);
    if (flag && aliases.includes(flag[0])) {
      if (flag[1] === undefined) i++;
      continue;
    }
    out.push(arg);
    if (flag && valued.has(flag[0]) && flag[1] === undefined && i + 1 < args.length) out.push(args[++i]);
  }
  return [`--${aliases[0]}`, value, ...out, ...args.slice(i)];
}
