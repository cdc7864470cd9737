import { CAPABILITIES } from './capabilities.js';

/**
 * The policy keys of ARCHITECTURE.md: one row per `io.vkernel.*` annotation.
 * Everything else (schema, env names, features, messages) derives from this table.
 */
export interface KeySpec {
  /** key after `io.vkernel.` */
  key: string;
  /** allowed strings (kind enum) */
  values?: string[];
  /** regular expression of the value (kind list) */
  pattern?: string;
  /** human text of the allowed values, used in error messages */
  allowed: string;
  /** numeric bounds (inclusive), kinds int and number */
  min?: number;
  max?: number;
  kind: 'enum' | 'int' | 'number' | 'bool' | 'list';
  /** true when the key asks for a vkernel feature (anything but tuning knobs) */
  feature: boolean;
  /** the value of a feature key that asks for nothing (runc's behaviour); bool keys: false */
  off?: string;
}

export const PREFIX = 'io.vkernel.';
export const ENV_PREFIX = 'VKERNEL_';


/** bounds of kernel.sched_wakeup_granularity_ns, see kernel/README.md */
export const WAKEUP_GRAN_MIN = 0;
export const WAKEUP_GRAN_MAX = 1_000_000_000;

/** the namespace types of io.vkernel.syscall.namespaces (src/module/rules.ts maps them to CLONE_NEW* flags) */
const NS_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'];
const NS_TYPE = `(${NS_TYPES.join('|')})`;
const PERSONALITY = '(linux|linux32|uname26|0x[0-9a-fA-F]{1,8}|[0-9]{1,10})';
const CAPABILITY = `(${CAPABILITIES.join('|')})`;
/** io.vkernel.fs.rules: ACCESS:PATH, PATH absolute (src/module/rules.ts refuses . and .. components) */
const FS_PATH = '/([A-Za-z0-9._@+=~-]+(/[A-Za-z0-9._@+=~-]+)*)?';
const FS_RULE = `(deny-read|deny-write|deny-rw):${FS_PATH}`;

export const KEYS: readonly KeySpec[] = [
  { key: 'sched.policy', kind: 'enum', feature: true, values: ['cfs', 'fifo', 'adaptive'], allowed: 'one of cfs, fifo, adaptive' },
  {
    key: 'sched.wakeup_granularity_ns', kind: 'int', feature: true, 
    min: WAKEUP_GRAN_MIN, max: WAKEUP_GRAN_MAX, allowed: `an integer from ${WAKEUP_GRAN_MIN} to ${WAKEUP_GRAN_MAX}`,
  },
  { key: 'sched.adaptive.interval_ms', kind: 'int', feature: false, min: 100, max: 60000, allowed: 'an integer from 100 to 60000 (ms)' },
  { key: 'sched.adaptive.cpu_high', kind: 'number', feature: false, min: 0, max: 100, allowed: 'a number from 0 to 100 (percent of one CPU)' },
  { key: 'sched.adaptive.cpu_low', kind: 'number', feature: false, min: 0, max: 100, allowed: 'a number from 0 to 100 (percent of one CPU)' },
  { key: 'sched.adaptive.ctx_high', kind: 'number', feature: false, min: 0, allowed: 'a number ≥ 0 (context switches per second)' },
  { key: 'sched.adaptive.ctx_low', kind: 'number', feature: false, min: 0, allowed: 'a number ≥ 0 (context switches per second)' },
  { key: 'mm.overcommit_memory', kind: 'enum', feature: true, values: ['0', '1', '2'], allowed: 'one of 0, 1, 2' },
  { key: 'mm.overcommit_ratio', kind: 'int', feature: true, min: 0, max: 2 ** 31 - 1, allowed: 'an integer ≥ 0' },
  { key: 'mm.thp', kind: 'enum', feature: true, values: ['always', 'madvise', 'never'], allowed: 'one of always, madvise, never' },
  {
    key: 'log', kind: 'enum', feature: true, values: ['shared', 'private'], off: 'shared', allowed: 'one of shared, private',
  },
  { key: 'sysctl.writable', kind: 'bool', feature: true, allowed: 'one of true, false' },
  { key: 'module', kind: 'bool', feature: true, allowed: 'one of true, false' },
  {
    key: 'syscall.deny', kind: 'list', feature: true, pattern: '^[a-z_][a-z0-9_]*(,[a-z_][a-z0-9_]*)*$',
    allowed: 'comma-separated syscall names (e.g. mkdir,unshare)',
  },
  {
    key: 'syscall.namespaces', kind: 'list', feature: true, off: 'allow', pattern: `^(allow|deny|${NS_TYPE}(,${NS_TYPE})*)$`,
    allowed: `allow, deny (every namespace type) or the comma-separated types that clone, clone3, unshare and setns refuse (${NS_TYPES.join(', ')})`,
  },
  {
    key: 'syscall.personality', kind: 'list', feature: true, pattern: `^${PERSONALITY}(,${PERSONALITY})*$`,
    allowed: 'the comma-separated values personality(2) may set: linux, linux32, uname26 or numbers (e.g. 0x20008), at most 16',
  },
  {
    key: 'caps.max', kind: 'list', feature: true, pattern: `^(none|${CAPABILITY}(,${CAPABILITY})*)$`,
    allowed: `none or comma-separated capability names of Linux 6.1 (${CAPABILITIES[0]} … ${CAPABILITIES[CAPABILITIES.length - 1]}, as in the OCI spec): the container's capability ceiling`,
  },
  {
    key: 'fs.rules', kind: 'list', feature: true, pattern: `^${FS_RULE}(,${FS_RULE})*$`,
    allowed: 'comma-separated rules deny-read:PATH, deny-write:PATH or deny-rw:PATH (PATH absolute in the container, of letters, digits and ._@+=~-; the rule holds for the file or directory and everything below it), at most 32',
  },
  { key: 'backend', kind: 'enum', feature: false, values: ['auto', 'kernel', 'rt', 'scx'], allowed: 'one of auto, kernel, rt, scx' },
  { key: 'strict', kind: 'bool', feature: false, allowed: 'one of true, false' },
];

export const KEY_BY_NAME: ReadonlyMap<string, KeySpec> = new Map(KEYS.map((k) => [k.key, k]));

/** `sched.wakeup_granularity_ns` → `VKERNEL_SCHED_WAKEUP_GRANULARITY_NS` */
export function envName(key: string): string {
  return ENV_PREFIX + key.toUpperCase().replace(/\./g, '_');
}

export const KEY_BY_ENV: ReadonlyMap<string, KeySpec> = new Map(KEYS.map((k) => [envName(k.key), k]));
