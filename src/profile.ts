import { appendFileSync } from 'node:fs';

/**
 * Phase timer for `npm run bench -- --profile` (bench/profile.mjs). On only when VKERNEL_PROFILE
 * names a file (read once with the rest of the environment, src/env.ts): each engine process then
 * appends one JSON line {cmd, pid, startup, total, startupCpu, cpu, phases: {name: [ms, count]}}
 * (`startupCpu`/`cpu`: CPU ms of this process, every thread, up to main() and in all). Off, `timed` is one
 * comparison and a call, nothing is recorded and nothing is written.
 * `startup` is the time from process start to main() (the JS runtime's start and the evaluation of
 * every module imported statically); phases may nest (`state-write` includes its `fsync`).
 * The engine server (src/serve/server.ts) profiles each call it serves instead: `profileCall` at its
 * start, `flushProfile` at its end, a line with `served: true`, `startup` 0 and `total` the call's
 * time in the server (calls that overlap share their phases: the bench makes one at a time).
 */
let file: string | undefined;
let startup = 0;
/** CPU ms (user+sys, every thread) of this process up to main() */
let startupCpu = 0;
let command: string | undefined;
let phases: Record<string, [number, number]> = {};
/** a served call: when it started (performance.now()) and the server's CPU ms then */
let call: { t0: number; cpu0: number } | undefined;
/** this process is the server: its own line at exit is not written (its calls had theirs) */
let server = false;

export function profileTo(path: string | undefined): void {
  file = path;
  if (file !== undefined) {
    startup = performance.now();
    startupCpu = cpuMs();
  }
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export function record(name: string, ms: number): void {
  const p = (phases[name] ??= [0, 0]);
  p[0] += ms;
  p[1] += 1;
}

/** runs fn, adding its time (sync or async) to phase `name` when profiling */
export function timed<T>(name: string, fn: () => T): T {
  if (file === undefined) return fn();
  const t0 = performance.now();
  const r = fn();
  if (r instanceof Promise) return r.finally(() => record(name, performance.now() - t0)) as T;
  record(name, performance.now() - t0);
  return r;
}

/** the subcommand the line is for */
export function profileCommand(cmd: string | undefined): void {
  command = cmd;
}

/**
 * a call the server serves was taken: its own phases from here (no start-up: the server had it);
 * `arrived` (performance.now()) when its first bytes did: reading and checking it is its first phase
 */
export function profileCall(cmd: string, arrived = performance.now()): void {
  if (file === undefined) return;
  command = cmd;
  phases = {};
  server = true;
  call = { t0: arrived, cpu0: cpuMs() };
  record('read + check the call', performance.now() - arrived);
}

/** whether phases are being recorded (for a caller that builds a label) */
export const profiling = (): boolean => file !== undefined;

/** appends this process's line (at the end of main) */
export function flushProfile(): void {
  if (file === undefined || (server && !call)) return;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const out: Record<string, [number, number]> = {};
  for (const [k, [ms, n]] of Object.entries(phases)) out[k] = [round(ms), n];
  const line = call
    ? { cmd: command, pid: process.pid, served: true, startup: 0, total: round(performance.now() - call.t0), startupCpu: 0, cpu: round(cpuMs() - call.cpu0), phases: out }
    : { cmd: command, pid: process.pid, startup: round(startup), total: round(performance.now()), startupCpu: round(startupCpu), cpu: round(cpuMs()), phases: out };
  try {
    call = undefined;
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  } catch { /* a profile is never worth failing a container for */ }
}
