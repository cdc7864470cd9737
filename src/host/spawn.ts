import type { ChildProcess } from 'node:child_process';

/** node:child_process, loaded on first use: under bun runc is started with Bun.spawn (oci/runc.ts),
 * and a builtin imported statically costs every engine start CPU (test/unit/engine-imports.test.ts) */
const cp = (): typeof import('node:child_process') => process.getBuiltinModule('node:child_process');

/**
 * The one way vkernel-runtime starts programs (runc, chrt, nsenter, insmod, rmmod, make, diff,
 * helpers): argument arrays, never a shell. A thin layer over node:child_process: execa costs
 * ~40 ms more CPU to import in the bun-compiled engine (bench/spawn-cost.mjs), which every fifo
 * create would pay.
 */
export interface RunResult {
  /** exit code, null when killed by a signal or not started */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** the program could not be started (ENOENT, EACCES, ...) */
  error?: Error;
}

export interface RunOptions {
  /** each line of stdout and stderr as it arrives (interleaved in arrival order) */
  onLine?: (line: string) => void;
  /** our fds the program gets as its fds 3, 4, ... */
  fds?: readonly number[];
}

/** Runs `file args`, stdin closed, output captured. Never rejects: the result says what happened. */
export function run(file: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = cp().spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe', ...(o.fds ?? [])] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    let error: Error | undefined;
    const lines = (chunk: string) => {
      if (!o.onLine) return;
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) o.onLine(l);
    };
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; lines(d); });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; lines(d); });
    child.on('error', (e) => { error = e; });
    child.on('close', (code, signal) => {
      if (partial) o.onLine?.(partial);
      resolve({ code: error ? null : code, signal, stdout, stderr, error });
    });
  });
}

/** what went wrong, for an error message: the program's own words first */
export function failure(r: RunResult): string {
  const said = (r.stderr.trim() || r.stdout.trim());
  if (said) return said;
  if (r.error) return r.error.message;
  return r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
}

/** Starts `argv` detached (its own session, no stdio), not waited for; returns its pid. */
export function runDetached(argv: readonly string[]): number {
  const child = cp().spawn(argv[0], argv.slice(1), { detached: true, stdio: 'ignore' });
  child.on('error', () => { /* reported by the missing pid below */ });
  child.unref();
  if (!child.pid) throw new Error(`cannot start ${argv[0]}`);
  return child.pid;
}

/**
 * Starts `argv` detached (its own session), with a pipe on its stdin and stdout and no stderr: a
 * helper we talk to (the rt v2 supervisor's sentinel). The caller owns the handle.
 */
export function spawnPiped(argv: readonly string[]): ChildProcess {
  return cp().spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
}

/**
 * Starts `file args` with our stdin/stdout/stderr and the extra fds listed (bun closes every fd not
 * listed): for runc, whose delegation (signal forwarding, exit status) is oci/runc.ts's.
 */
export function spawnInherited(file: string, args: readonly string[], fds: readonly (number | 'ignore')[] = []): ChildProcess {
  return cp().spawn(file, args, { stdio: ['inherit', 'inherit', 'inherit', ...fds] });
}
