import { SYSCALLS_IA32, SYSCALLS_X32, SYSCALLS_X64 } from './syscalls.js';
import { rulesParams, type Rules } from './rules.js';

// Kept apart from load.ts so that the pre-flight check loads no build or kmod code.

/** most entries of one deny list (the module's array parameters have this size) */
export const MAX_DENY = 64;
/** calls that runc's init makes after the module is loaded, or without which no process can end */
export const NEVER_DENY = ['execve', 'exit', 'exit_group', 'rt_sigreturn'];

/** io.vkernel.syscall.deny, split and checked against the x86_64 table; throws a fixable message */
export function parseDenyList(value: string | undefined): string[] {
  if (!value) return [];
  const names = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  for (const n of names) {
    if (!Object.hasOwn(SYSCALLS_X64, n)) throw new Error(`io.vkernel.syscall.deny: ${JSON.stringify(n)} is not an x86_64 system call of Linux 6.1`);
    if (NEVER_DENY.includes(n)) {
      throw new Error(`io.vkernel.syscall.deny: ${n} cannot be denied (the container could not start or its processes could not exit); never deny ${NEVER_DENY.join(', ')}`);
    }
  }
  if (names.length > MAX_DENY) throw new Error(`io.vkernel.syscall.deny: ${names.length} calls; at most ${MAX_DENY}`);
  return names;
}

/** The module parameters for one container (kmod's insmod arguments after the file). */
export function moduleParams(p: { pid: number; id: string; deny: string[]; futexBuckets: number; rules?: Rules }): string[] {
  if (!Number.isInteger(p.pid) || p.pid <= 0) throw new Error(`invalid init pid ${p.pid}`);
  // runc ids are [\w+\-.]+, which needs no quoting in a module parameter string
  if (!/^[\w+\-.]+$/.test(p.id)) throw new Error(`invalid container id format: ${JSON.stringify(p.id)}`);
  const nrs = (table: Readonly<Record<string, number>>) => p.deny.flatMap((n) => (Object.hasOwn(table, n) ? [table[n]] : []));
  const params = [`init_pid=${p.pid}`, `container_id=${p.id}`, `futex_buckets=${p.futexBuckets}`];
  // an empty array parameter is a parse error in the kernel: leave empty lists out
  for (const [param, list] of [['deny', nrs(SYSCALLS_X64)], ['deny_x32', nrs(SYSCALLS_X32)], ['deny_ia32', nrs(SYSCALLS_IA32)]] as const) {
    if (list.length) params.push(`${param}=${list.join(',')}`);
  }
  if (p.rules) params.push(...rulesParams(p.rules));
  return params;
}
