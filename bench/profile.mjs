// `npm run bench -- --profile` (or node bench/profile.mjs): where the time of create/start/delete
// with a request goes, phase by phase. For each way a create reaches the engine
// (VKERNEL_BENCH_PATHS, default "server executable": the engine server, the launcher's way, and the
// engine executable, VKERNEL_ENGINE_SOCKET=off) and each policy (VKERNEL_BENCH_POLICIES, default
// "cfs fifo"), N rounds (VKERNEL_BENCH_RUNS, default 20) of create+start+delete of `true`, runc and
// vkernel-runtime taking turns inside each round (load from other processes falls on both alike).
// The engine runs with VKERNEL_PROFILE=<file> (src/profile.ts): each engine process, and the server
// for each call it serves, appends its phases. Prints, per call, the medians (and p25-p75) of: the
// wall time of the call as the caller sees it, plain runc's for the same call, and the engine's
// phases; "outside" is wall minus the engine's own total: for the executable the launcher sh, exec
// and process exit; for the server the launcher sh, the client and the socket's round trips.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAS_PERF as PERF, makeBundle, makeRootfs, measuredCall, quantile as q } from './lib/bundle.mjs';
import { engineServers, stopServer, threadCpuMs } from './lib/server.mjs';
import { RUNTIME as ENTRY_POINT } from './lib/entry.mjs';
import { RECORD_PHASE } from '../dist/src/lifecycle/create.js';

const N = Number(process.env.VKERNEL_BENCH_RUNS ?? 20);
const POLICIES = (process.env.VKERNEL_BENCH_POLICIES ?? 'cfs fifo').split(/\s+/).filter(Boolean);
const PATHS = (process.env.VKERNEL_BENCH_PATHS ?? 'server executable').split(/\s+/).filter(Boolean);
const RUNTIME = process.env.VKERNEL_BENCH_RUNTIME ?? ENTRY_POINT;
const w = mkdtempSync(join(tmpdir(), 'vk-profile-'));
const root = join(w, 'root');
const prof = join(w, 'profile.jsonl');
const SOCKET = join(w, 'engine.sock');
const rootfs = makeRootfs(w);
const bundle = (policy) => makeBundle(w, rootfs, { 'io.vkernel.sched.policy': policy });

/** one call: wall ms and CPU ms (user+sys of it and its children) */
const call = (bin, args, env) => measuredCall(w, bin, root, args, env);

// 2 decimals: most of a served call's phases are 0.05-0.4 ms
const fmt = (xs) => `${q(xs, 0.5).toFixed(2).padStart(7)} (${q(xs, 0.25).toFixed(2)}-${q(xs, 0.75).toFixed(2)})`.padEnd(28);
const CMDS = ['create', 'start', 'delete'];
let n = 0;

try {
  for (const path of PATHS) for (const policy of POLICIES) {
    if (path !== 'server' && path !== 'executable') throw new Error(`VKERNEL_BENCH_PATHS: ${path}: server or executable`);
    const b = bundle(policy);
    // the server is started by the first create (which the engine executable serves) with this
    // environment: the warm-up rounds start it and their lines are dropped
    const vkEnv = { VKERNEL_PROFILE: prof, VKERNEL_ENGINE_SOCKET: path === 'server' ? SOCKET : 'off' };
    const wall = { runc: {}, vk: {} };
    const cpu = { runc: [], vk: [] };
    const cpuOf = { runc: {}, vk: {} };
    for (const k of ['runc', 'vk']) for (const c of [...CMDS, 'total']) { wall[k][c] = []; cpuOf[k][c] = []; }
    // the server's CPU by thread over the measured rounds: its main thread, and the others (the JIT's
    // compilers, the allocator's, the collector's), which run beside runc, not in the call's window
    let threads;
    for (let round = -2; round < N; round++) {
      if (round === 0) {
        rmSync(prof, { force: true });
        const [server] = path === 'server' ? engineServers(SOCKET) : [];
        if (server) threads = { server, before: threadCpuMs(server) };
      }
      for (const k of round % 2 ? ['runc', 'vk'] : ['vk', 'runc']) {
        const id = `prof-${process.pid}-${n++}`;
        const bin = k === 'runc' ? 'runc' : RUNTIME;
        const env = k === 'vk' ? vkEnv : {};
        const r = [call(bin, ['create', '--bundle', b, id], env), call(bin, ['start', id], env), call(bin, ['delete', '--force', id], env)];
        if (round < 0) continue; // warms the caches (and starts the server)
        CMDS.forEach((c, i) => { wall[k][c].push(r[i].ms); cpuOf[k][c].push(r[i].cpu); });
        wall[k].total.push(r.reduce((a, x) => a + x.ms, 0));
        cpu[k].push(r.reduce((a, x) => a + x.cpu, 0));
      }
    }
    if (threads) threads.after = threadCpuMs(threads.server);
    const lines = readFileSync(prof, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const served = lines.filter((l) => l.served).length;
    if (path === 'server' && served < N) throw new Error(`only ${served} of ${N} creates were served by the engine server`);
    console.log(`\n== sched.policy=${policy}, create through the ${path === 'server' ? 'engine server' : 'engine executable'}: median (p25-p75) of ${N} rounds, ms; runc and vkernel-runtime interleaved`);
    console.log(`create+start+delete wall: runc ${fmt(wall.runc.total)} vkernel-runtime ${fmt(wall.vk.total)} x${(q(wall.vk.total, 0.5) / q(wall.runc.total, 0.5)).toFixed(2)}`);
    console.log(`create+start+delete CPU:  runc ${fmt(cpu.runc)} vkernel-runtime ${fmt(cpu.vk)} x${(q(cpu.vk, 0.5) / Math.max(1, q(cpu.runc, 0.5))).toFixed(2)} (${PERF ? 'perf stat task-clock' : 'GNU time, 10 ms steps'}, with every child)`);
    for (const c of CMDS) {
      const mine = lines.filter((l) => l.cmd === c);
      const where = mine.some((l) => l.served) ? 'calls served by the engine server' : 'engine runs';
      console.log(`-- ${c}: ${mine.length} ${where}${mine.length ? '' : ' (the launcher passed it straight to runc)'}`);
      console.log(`  ${'wall, runc'.padEnd(34)} ${fmt(wall.runc[c])}`);
      console.log(`  ${'wall, vkernel-runtime'.padEnd(34)} ${fmt(wall.vk[c])}`);
      console.log(`  ${'CPU, runc'.padEnd(34)} ${fmt(cpuOf.runc[c])}`);
      console.log(`  ${'CPU, vkernel-runtime'.padEnd(34)} ${fmt(cpuOf.vk[c])}`);
      if (!mine.length) continue;
      // wall minus the engine's own time, per process (the i-th line is the i-th call of c); a create
      // handed over (src/lifecycle/create.ts) records the container after runc's end, which its
      // caller does not wait for: that phase is not the caller's
      const outside = mine.map((l, i) => wall.vk[c][i] - (l.total - (l.phases[RECORD_PHASE]?.[0] ?? 0)));
      const isServed = mine[0].served;
      if (!isServed) console.log(`  ${'engine: start-up + static imports'.padEnd(34)} ${fmt(mine.map((l) => l.startup))}`);
      if (mine[0].cpu !== undefined) {
        if (!isServed) console.log(`  ${'engine CPU: start-up'.padEnd(34)} ${fmt(mine.map((l) => l.startupCpu))}`);
        console.log(`  ${(isServed ? 'server CPU for the call' : 'engine CPU: in all (its threads)').padEnd(34)} ${fmt(mine.map((l) => l.cpu))}`);
      }
      const names = [...new Set(mine.flatMap((l) => Object.keys(l.phases)))];
      for (const p of names) {
        const xs = mine.map((l) => l.phases[p]?.[0] ?? 0);
        const count = q(mine.map((l) => l.phases[p]?.[1] ?? 0), 0.5);
        console.log(`  ${`  ${p} (x${count})`.padEnd(34)} ${fmt(xs)}`);
      }
      console.log(`  ${(isServed ? 'server: the call, in all' : 'engine: total in process').padEnd(34)} ${fmt(mine.map((l) => l.total))}`);
      if (isServed && threads) {
        let [main, others] = [0, 0];
        for (const [tid, ms] of threads.after) {
          const d = ms - (threads.before.get(tid) ?? 0);
          if (tid === threads.server) main += d; else others += d;
        }
        console.log(`  ${'server CPU per call, by thread'.padEnd(34)} main ${(main / mine.length).toFixed(2)}, the others ${(others / mine.length).toFixed(2)} (/proc ticks over ${mine.length} calls)`);
      }
      console.log(`  ${(isServed ? 'outside (sh, client, socket)' : 'outside main (sh, exec, exit)').padEnd(34)} ${fmt(outside)}`);
    }
  }
} finally {
  stopServer(SOCKET);
  const left = spawnSync('runc', ['--root', root, 'list', '-q'], { encoding: 'utf8' }).stdout ?? '';
  for (const id of left.split('\n').filter(Boolean)) spawnSync('runc', ['--root', root, 'delete', '--force', id]);
  rmSync(w, { recursive: true, force: true });
}
