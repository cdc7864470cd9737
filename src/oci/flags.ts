/**
 * runc's command-line flags: the ONE table both parsers read. The engine's parser (oci/argv.ts)
 * uses it at run time; the launcher's `case` patterns (bin/vkernel-runtime, between the
 * "generated" markers) are generated from it at build time by scripts/gen-launcher.ts, and a unit
 * test checks that the launcher in the repo is what the table generates. So the two parsers cannot
 * disagree on which flags take a value.
 *
 * Sources: runc 1.1 (Debian 12's 1.1.5) and runc 1.2 (main.go, create.go, run.go, exec.go, ...).
 * Flags a newer runc added are listed too: an older runc refuses them itself, and knowing that
 * they take a value keeps our reading of the rest of argv right.
 */

export interface FlagSpec {
  /** the name and its aliases; each may be written `-name` or `--name` (urfave/cli v1) */
  names: readonly string[];
  /** takes a value (`--name value` or `--name=value`); otherwise a boolean (`--name[=bool]`) */
  value: boolean;
}

const v = (...names: string[]): FlagSpec => ({ names, value: true });
const b = (...names: string[]): FlagSpec => ({ names, value: false });

/** urfave/cli gives every command (and the app) a boolean help flag */
export const HELP = b('help', 'h');

/** runc's global flags (before the subcommand) */
export const RUNC_GLOBAL: readonly FlagSpec[] = [
  b('debug'), v('log'), v('log-format'), v('root'), v('criu'), b('systemd-cgroup'), v('rootless'),
  HELP, b('version', 'v'),
];

/** our own global flags: removed from the argv runc gets */
export const OUR_GLOBAL: readonly FlagSpec[] = [v('vkernel-set'), v('vkernel-config'), v('runc')];

/** the flags of runc's subcommands (runc 1.1 and 1.2); help is implied for each */
export const COMMAND_FLAGS: Readonly<Record<string, readonly FlagSpec[]>> = {
  create: [v('bundle', 'b'), v('console-socket'), v('pidfd-socket'), v('pid-file'), b('no-pivot'), b('no-new-keyring'), v('preserve-fds')],
  run: [v('bundle', 'b'), v('console-socket'), v('pidfd-socket'), b('detach', 'd'), b('keep'), v('pid-file'), b('no-subreaper'),
    b('no-pivot'), b('no-new-keyring'), v('preserve-fds')],
  exec: [v('console-socket'), v('pidfd-socket'), v('cwd'), v('env', 'e'), b('tty', 't'), v('user', 'u'), v('additional-gids', 'g'),
    v('process', 'p'), b('detach', 'd'), v('pid-file'), v('process-label'), v('apparmor'), b('no-new-privs'), v('cap', 'c'),
    v('preserve-fds'), v('cgroup'), b('ignore-paused'), b('no-subreaper')],
  start: [],
  delete: [b('force', 'f')],
  kill: [b('all', 'a')],
  ps: [v('format', 'f')],
  state: [],
  list: [v('format', 'f'), b('quiet', 'q')],
  features: [],
  pause: [],
  resume: [],
  events: [v('interval'), b('stats')],
  spec: [v('bundle', 'b'), b('rootless')],
  update: [v('resources', 'r'), v('blkio-weight'), v('cpu-period'), v('cpu-quota'), v('cpu-share'), v('cpu-rt-period'),
    v('cpu-rt-runtime'), v('cpuset-cpus'), v('cpuset-mems'), v('kernel-memory'), v('kernel-memory-tcp'), v('memory'),
    v('cpu-idle'), v('memory-reservation'), v('memory-swap'), v('pids-limit'), v('l3-cache-schema'), v('mem-bw-schema')],
  checkpoint: [v('image-path'), v('work-path'), v('parent-path'), b('leave-running'), b('tcp-established'), b('ext-unix-sk'),
    b('shell-job'), b('lazy-pages'), v('status-fd'), v('page-server'), b('file-locks'), b('pre-dump'), v('manage-cgroups-mode'),
    v('empty-ns'), b('auto-dedup')],
  restore: [v('console-socket'), v('image-path'), v('work-path'), b('tcp-established'), b('ext-unix-sk'), b('shell-job'),
    b('file-locks'), v('manage-cgroups-mode'), v('bundle', 'b'), b('detach', 'd'), v('pid-file'), b('no-subreaper'),
    b('no-pivot'), v('empty-ns'), b('auto-dedup'), b('lazy-pages'), v('lsm-profile'), v('lsm-mount-context')],
};

/** subcommands whose flags end at the first positional argument (urfave's SkipArgReorder) */
export const NO_REORDER: ReadonlySet<string> = new Set(['exec']);

/** the value-taking names (all aliases) of a subcommand; empty for one we do not know */
export function valueNames(command: string): ReadonlySet<string> {
  return new Set((COMMAND_FLAGS[command] ?? []).filter((f) => f.value).flatMap((f) => f.names));
}

/** Go's strconv.ParseBool, which urfave/cli uses for `--flag=value` of a boolean flag */
export const TRUE_WORDS = ['1', 't', 'T', 'TRUE', 'true', 'True'] as const;
export const FALSE_WORDS = ['0', 'f', 'F', 'FALSE', 'false', 'False'] as const;
