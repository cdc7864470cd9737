// The argument rules, the capability ceiling and the file rules of the per-container module (kernel
// patches 0012, 0013 and 0015, kernel/README.md "syscall_args", "caps_max" and "fs_rules"): the values
// of io.vkernel.syscall.namespaces, io.vkernel.syscall.personality, io.vkernel.caps.max and
// io.vkernel.fs.rules checked and turned into module parameters.
// Kept apart from load.ts so that the pre-flight check loads no build or kmod code.
import { CAPABILITIES } from '../policy/capabilities.js';

export { CAPABILITIES };

/** namespace types as io.vkernel.syscall.namespaces names them → CLONE_NEW* (include/uapi/linux/sched.h) */
export const NAMESPACE_FLAGS: Readonly<Record<string, number>> = {
  cgroup: 0x02000000, ipc: 0x08000000, mnt: 0x00020000, net: 0x40000000,
  pid: 0x20000000, time: 0x00000080, user: 0x10000000, uts: 0x04000000,
};

/** personality(2) values by name (include/uapi/linux/personality.h) */
export const PERSONALITIES: Readonly<Record<string, number>> = { linux: 0x0, linux32: 0x8, uname26: 0x20000 };
/** most entries of the allowed-personality list (the kernel's VKERNEL_MAX_PERSONALITY) */
export const MAX_PERSONALITY = 16;

/** kernel feature words (kernel/README.md) */
export const ARGS_FEATURE = 'syscall_args';
export const CAPS_FEATURE = 'caps_max';
export const FS_FEATURE = 'fs_rules';

/** most file rules (the kernel's VKERNEL_MAX_FS_RULES) */
export const MAX_FS_RULES = 32;
/** the module parameter fs_rules is a string parameter: the kernel takes at most 1024 characters */
const MAX_FS_PARAM = 1000;

/** a file rule: the access denied on a path of the container (and below it) */
export interface FsRule {
  path: string;
  deny: 'r' | 'w' | 'rw';
}

export interface Rules {
  /** CLONE_NEW* flags that clone, clone3 and unshare may not create and setns may not join (0: none) */
  nsDeny: number;
  /** values personality(2) may set; undefined: any */
  personality?: number[];
  /** capability numbers of the ceiling; undefined: no ceiling */
  capsMax?: number[];
  /** file rules; undefined: none */
  fs?: FsRule[];
}

/** io.vkernel.syscall.namespaces: allow | deny | comma-separated types → CLONE_NEW* flags; throws a fixable message */
export function parseNamespaces(value: string | undefined): number {
  if (value === undefined || value === 'allow') return 0;
  const all = Object.values(NAMESPACE_FLAGS).reduce((a, b) => a | b, 0);
  if (value === 'deny') return all >>> 0;
  let flags = 0;
  for (const t of value.split(',').map((s) => s.trim())) {
    if (!Object.hasOwn(NAMESPACE_FLAGS, t)) {
      throw new Error(`io.vkernel.syscall.namespaces: ${JSON.stringify(t)} is not a namespace type; want allow, deny or a comma-separated list of ${Object.keys(NAMESPACE_FLAGS).join(', ')}`);
    }
    flags |= NAMESPACE_FLAGS[t];
  }
  return flags >>> 0;
}

/** io.vkernel.syscall.personality: comma-separated names or numbers → the allowed values; throws a fixable message */
export function parsePersonality(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const out: number[] = [];
  for (const v of value.split(',').map((s) => s.trim())) {
    let n: number;
    if (Object.hasOwn(PERSONALITIES, v)) n = PERSONALITIES[v];
    else if (/^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/.test(v)) n = Number(v);
    else {
      throw new Error(`io.vkernel.syscall.personality: ${JSON.stringify(v)} is not a personality; want ${Object.keys(PERSONALITIES).join(', ')} or a number (e.g. 0x20008)`);
    }
    if (n >= 0xffffffff) {
      throw new Error(`io.vkernel.syscall.personality: ${v} is not a personality (0xffffffff is the query, always allowed)`);
    }
    if (!out.includes(n)) out.push(n);
  }
  if (out.length > MAX_PERSONALITY) throw new Error(`io.vkernel.syscall.personality: ${out.length} values; at most ${MAX_PERSONALITY}`);
  return out;
}

/** io.vkernel.caps.max: none | comma-separated capability names → capability numbers; throws a fixable message */
export function parseCapsMax(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return [];
  const out = new Set<number>();
  for (const v of value.split(',').map((s) => s.trim())) {
    const n = CAPABILITIES.indexOf(v);
    if (n < 0) {
      throw new Error(`io.vkernel.caps.max: ${JSON.stringify(v)} is not a capability of Linux 6.1 (known: ${CAPABILITIES.join(', ')})`);
    }
    out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

const FS_KINDS: Readonly<Record<string, FsRule['deny']>> = { 'deny-read': 'r', 'deny-write': 'w', 'deny-rw': 'rw' };

/**
 * io.vkernel.fs.rules: comma-separated deny-read|deny-write|deny-rw:PATH → rules, one per path (the
 * denied access of a path given twice merged); throws a fixable message. The module resolves each
 * path in the container's root when it loads (at create), so only the grammar is checked here.
 */
export function parseFsRules(value: string | undefined): FsRule[] | undefined {
  if (value === undefined) return undefined;
  const byPath = new Map<string, Set<string>>();
  for (const rule of value.split(',').map((s) => s.trim())) {
    const colon = rule.indexOf(':');
    const name = colon < 0 ? rule : rule.slice(0, colon);
    if (colon < 0 || !Object.hasOwn(FS_KINDS, name)) {
      throw new Error(`io.vkernel.fs.rules: ${JSON.stringify(rule)} is not a rule; want ${Object.keys(FS_KINDS).join(', ')} then : and an absolute path`);
    }
    const kind = FS_KINDS[name];
    const path = rule.slice(colon + 1);
    if (!/^\/([A-Za-z0-9._@+=~-]+(\/[A-Za-z0-9._@+=~-]+)*)?$/.test(path)) {
      throw new Error(`io.vkernel.fs.rules: ${JSON.stringify(path)} is not an absolute path without empty components, of letters, digits and ._@+=~-`);
    }
    if (path.split('/').some((c) => c === '.' || c === '..')) {
      throw new Error(`io.vkernel.fs.rules: ${JSON.stringify(path)} has a . or .. component; give the path itself`);
    }
    if (path.length > 255) throw new Error(`io.vkernel.fs.rules: a path longer than 255 characters (${path.slice(0, 40)}…)`);
    const denied = byPath.get(path) ?? new Set<string>();
    for (const c of kind) denied.add(c);
    byPath.set(path, denied);
  }
  if (byPath.size > MAX_FS_RULES) throw new Error(`io.vkernel.fs.rules: ${byPath.size} rules; at most ${MAX_FS_RULES}`);
  const rules = [...byPath].map(([path, d]) => ({ path, deny: (d.has('r') ? (d.has('w') ? 'rw' : 'r') : 'w') as FsRule['deny'] }));
  if (fsParam(rules).length > MAX_FS_PARAM) {
    throw new Error(`io.vkernel.fs.rules: the rules take more than ${MAX_FS_PARAM} characters as the module's parameter; use fewer or shorter paths`);
  }
  return rules;
}

const fsParam = (rules: FsRule[]) => rules.map((r) => `${r.deny}:${r.path}`).join(',');

/** all the rules of a policy */
export function parseRules(p: { 'syscall.namespaces'?: string; 'syscall.personality'?: string; 'caps.max'?: string; 'fs.rules'?: string }): Rules {
  return {
    nsDeny: parseNamespaces(p['syscall.namespaces']),
    personality: parsePersonality(p['syscall.personality']),
    capsMax: parseCapsMax(p['caps.max']),
    fs: parseFsRules(p['fs.rules']),
  };
}

/** does the policy ask for any rule (and so for the module) */
export const rulesRequested = (r: Rules) => r.nsDeny !== 0 || r.personality !== undefined || r.capsMax !== undefined || r.fs !== undefined;

/** the kernel feature words these rules need */
export function rulesFeatures(r: Rules): string[] {
  const words: string[] = [];
  if (r.nsDeny !== 0 || r.personality !== undefined) words.push(ARGS_FEATURE);
  if (r.capsMax !== undefined) words.push(CAPS_FEATURE);
  if (r.fs !== undefined) words.push(FS_FEATURE);
  return words;
}

/** the module parameters of the rules (modules/vkernel: ns_deny, personality, caps_max, fs_rules) */
export function rulesParams(r: Rules): string[] {
  const params: string[] = [];
  if (r.nsDeny) params.push(`ns_deny=0x${r.nsDeny.toString(16)}`);
  // an empty array parameter is a parse error in the kernel; the parser never returns an empty list
  if (r.personality?.length) params.push(`personality=${r.personality.map((n) => `0x${n.toString(16)}`).join(',')}`);
  if (r.capsMax) params.push(`caps_max=0x${r.capsMax.reduce((m, n) => m | (1n << BigInt(n)), 0n).toString(16)}`);
  if (r.fs?.length) params.push(`fs_rules=${fsParam(r.fs)}`);
  return params;
}
