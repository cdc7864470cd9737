// `npm run bench`: plain runc vs vkernel-runtime on the same bundle, in one run, through the C entry
// point (dist/vkernel-runtime) where the build made it, and some rows through the sh launcher too.
//   passthrough: `state` of a created container
//   lifecycle:   create + start + delete of `true` (no vkernel request, then with policies: cfs,
//                fifo, adaptive, whose start and delete have work of ours too), through the engine
//                server (the launcher's way) and the engine executable
//   one call:    create alone with a request (the engine's cost per call: server vs executable; cfs,
//                which has nothing to apply on a stock kernel, and fifo, which has), and the design's
//                floor: the client and a server that does nothing (bench/lib/null-server.c), and that
//                server in bun (null-server.mjs: bun's own part of a served call), in the same turns as
//                the cfs row, whose parts over them are printed after the table
// Median of N runs (VKERNEL_BENCH_RUNS, default 30; the create-alone rows 3N, VKERNEL_BENCH_CALL_RUNS).
// Each row is measured in turns with plain runc's same call (runc, row, runc, row, ...): its ratio
// and difference are against the runc median of its own turns, so load that comes and goes on a
// shared host falls on both alike; `paired` is the median of the turns' own differences.
// `npm run bench -- --profile`: the per-phase profile instead (bench/profile.mjs).
// `npm run bench -- --docker`: `docker run --rm` through runc vs vkernel-runtime (bench/docker.mjs).
// `npm run bench -- --vm`: in the VM, runc vs vkernel-runtime with the per-container module (bench/vm.mjs).
if (process.argv.includes('--profile')) {
  await import('./profile.mjs');
  process.exit(0);
}
if (process.argv.includes('--vm')) {
  await import('./vm.mjs');
  process.exit(0);
}
if (process.argv.includes('--docker')) {
  await import('./docker.mjs');
  process.exit(0);
}
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, makeRootfs, medianCI, quantile } from './lib/bundle.mjs';
import { stopServer } from './lib/server.mjs';
import { RUNTIME, SH } from './lib/entry.mjs';
import { readEnv } from '../dist/src/env.js';
import { probeKernel, probeWith } from '../dist/src/kernel/probe.js';
import { schedPolicy } from '../dist/src/lifecycle/appliers/sched-policy.js';

const N = Number(process.env.VKERNEL_BENCH_RUNS ?? 30);
// the entry point callers run: the C one where the build made it (a C compiler), else the sh
// launcher, which also has rows of its own (SH: what a build without a C compiler runs)
const ENTRY = RUNTIME === SH ? 'sh launcher (no C entry point built)' : 'C entry point';
const w = mkdtempSync(join(tmpdir(), 'vk-bench-'));
const rootfs = makeRootfs(w);
const bundle = (annotations) => makeBundle(w, rootfs, annotations);

const root = join(w, 'root');
// the engine server of this run (src/serve/server.ts), started by the first create through the
// client and stopped at the end; rows with VKERNEL_ENGINE_SOCKET=off run the engine executable
const SOCKET = join(w, 'engine.sock');
process.env.VKERNEL_ENGINE_SOCKET = SOCKET;
const OFF = { VKERNEL_ENGINE_SOCKET: 'off' };
const errFile = join(w, 'stderr');
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
function run(bin, args, env) {
  const t0 = process.hrtime.bigint();
  // stderr to a file, not a pipe: a created container's init holds runc's stdio until it runs
  const err = openSync(errFile, 'w');
  const r = spawnSync(bin, ['--root', root, ...args], { stdio: ['ignore', 'ignore', err], env: { ...process.env, ...env } });
  closeSync(err);
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${r.status}: ${readFileSync(errFile, 'utf8').trim()}`);
  return ms(t0);
}
const median = (xs) => quantile(xs, 0.5);
let n = 0;

/**
 * create alone (timed), then delete (not); `ours`: a create of ours, deleted by us (what we applied
 * undone before runc's delete: an RT budget left on a group runc removed lingers in the kernel, and
 * the next fifo create's grant would wait for it)
 */
function createOnly(bin, b, env, ours = bin !== 'runc') {
  const id = `bench-${n++}`;
  const t = run(bin, ['create', '--bundle', b, id], env);
  if (ours) run(bin, ['delete', '--force', id], env);
  else run('runc', ['delete', '--force', id]);
  return t;
}

/**
 * a server that does nothing, listening under `dir`: bench/lib/null-server.c built here (undefined
 * without a C compiler), or its bun twin null-server.mjs, run by the bun the engine is compiled
 * with (scripts/build.mjs: the baseline build)
 */
function nullServer(dir, kind, mode) {
  let argv;
  if (kind === 'c') {
    const bin = join(dir, 'null-server');
    const built = spawnSync('cc', ['-O2', '-o', bin, new URL('./lib/null-server.c', import.meta.url).pathname], { stdio: 'inherit' });
    if (built.status !== 0) {
      console.log('(floor not measured: no C compiler)');
      return undefined;
    }
    argv = [bin];
  } else {
    argv = [new URL('../node_modules/@oven/bun-linux-x64-baseline/bin/bun', import.meta.url).pathname, new URL('./lib/null-server.mjs', import.meta.url).pathname];
  }
  const socket = join(dir, `null-${kind}.sock`);
  const p = spawn(argv[0], [...argv.slice(1), socket, ...(mode ? [mode] : [])], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(socket); i++) spawnSync('sleep', ['0.02']);
  if (!existsSync(socket)) throw new Error(`${argv.join(' ')}: no socket`);
  return { socket, stop: () => p.kill() };
}

function lifecycle(bin, b, env) {
  const id = `bench-${n++}`;
  const t0 = process.hrtime.bigint();
  run(bin, ['create', '--bundle', b, id], env);
  run(bin, ['start', id], env);
  run(bin, ['delete', '--force', id], env);
  return ms(t0);
}

/**
 * `fn` and `base` (plain runc's same call) `runs` times in turns, after one warm-up each; `paired`:
 * the median (p25-p75) of each turn's difference (the row's call less runc's next to it), which
 * load that drifts within the run shifts less than the two medians' difference
 */
function measure(label, fn, base, runs = N) {
  return measureTogether([{ label, fn }], base, runs)[0];
}

/**
 * rows measured in the same turns: each turn, every row's call with a call of `base` beside it
 * (before or after, in turns; the rows in an order that turns too), so that load that comes and
 * goes falls on all of them alike and one row's difference less another's, turn by turn (`ds`),
 * is as sharp as each row's own
 */
function measureTogether(rows, base, runs) {
  for (const r of rows) r.fn();
  base();
  const xs = rows.map(() => []);
  const bs = rows.map(() => []);
  for (let i = 0; i < runs; i++) {
    const order = rows.map((_, k) => k);
    if (i % 2) order.reverse();
    for (const k of order) {
      if ((i + k) % 2) { xs[k].push(rows[k].fn()); bs[k].push(base()); } else { bs[k].push(base()); xs[k].push(rows[k].fn()); }
    }
  }
  return rows.map(({ label }, k) => {
    const ds = xs[k].map((x, i) => x - bs[k][i]);
    return {
      label, runs, median: median(xs[k]), base: median(bs[k]), spread: [quantile(xs[k], 0.25), quantile(xs[k], 0.75)], baseSpread: [quantile(bs[k], 0.25), quantile(bs[k], 0.75)],
      paired: [median(ds), quantile(ds, 0.25), quantile(ds, 0.75)], pairedCI: medianCI(ds), ds,
    };
  });
}

/** `a` less `b` (rows of one measureTogether), turn by turn: what `a` adds to `b` */
function partOver(label, a, b) {
  const ds = a.ds.map((d, i) => d - b.ds[i]);
  return { label, paired: [median(ds), quantile(ds, 0.25), quantile(ds, 0.75)], pairedCI: medianCI(ds) };
}
// create alone: the row with the tightest goal (+5 ms over runc, #15) and the cheapest call; its
// difference is a few ms in a spread of +-3 ms on this host, so it gets more turns than the rest
const CALL_RUNS = Number(process.env.VKERNEL_BENCH_CALL_RUNS ?? 3 * N);

const plain = bundle(undefined);
const results = [];
// passthrough: state of one created container
run('runc', ['create', '--bundle', plain, 'bench-state']);
const runcState = () => run('runc', ['state', 'bench-state']);
results.push(measure(`vkernel-runtime state (${ENTRY})`, () => run(RUNTIME, ['state', 'bench-state']), runcState));
if (RUNTIME !== SH) results.push(measure('vkernel-runtime state (sh launcher)', () => run(SH, ['state', 'bench-state']), runcState));
// installed as README.md says: a symlink in PATH's directories pointing into the checkout
const LINKED = join(w, 'vkernel-runtime');
symlinkSync(RUNTIME, LINKED);
results.push(measure(`vkernel-runtime state (${ENTRY}, through a symlink)`, () => run(LINKED, ['state', 'bench-state']), runcState));
// one call through the engine: our flag takes it there (the sh launcher: the C entry point runs runc
// without --vkernel-set itself, and those rows measured runc)
results.push(measure('vkernel-runtime state (engine executable, bun)', () => run(SH, ['--vkernel-set', 'strict=true', 'state', 'bench-state']), runcState));
results.push(measure('vkernel-runtime state (engine, node)', () => run(SH, ['--vkernel-set', 'strict=true', 'state', 'bench-state'], { VKERNEL_ENGINE: 'node' }), runcState));
if (RUNTIME !== SH) results.push(measure('vkernel-runtime --vkernel-set strict=true state (C entry point: runc without it)', () => run(RUNTIME, ['--vkernel-set', 'strict=true', 'state', 'bench-state']), runcState));
run('runc', ['delete', '--force', 'bench-state']);

const runcLife = () => lifecycle('runc', plain);
results.push(measure('vkernel-runtime create+start+delete, no request', () => lifecycle(RUNTIME, plain), runcLife));
if (RUNTIME !== SH) results.push(measure('vkernel-runtime create+start+delete, no request (sh launcher)', () => lifecycle(SH, plain), runcLife));
results.push(measure('vkernel-runtime create+start+delete, no request, through a symlink', () => lifecycle(LINKED, plain), runcLife));
const cfs = bundle({ 'io.vkernel.sched.policy': 'cfs' });
// the server: started by this create, listening before the rows below
lifecycle(RUNTIME, cfs);
for (let i = 0; i < 100 && !existsSync(SOCKET); i++) spawnSync('sleep', ['0.05']);
// one call, in the same turns as the design's floor: the same call through the client and a server
// that does nothing (bench/lib/null-server.c: runc run as the client's child, no engine work), and
// its bun twin (null-server.mjs: bun's own part of a served call). What the engine server adds to
// the floor, and the engine's work over bun's own part, turn by turn: `parts` (the floor itself
// moves with the host's load: an extra process and its wake-ups)
const floors = [];
const parts = [];
// whether the engine server hands this call over on this host (a cfs create with nothing to apply:
// src/lifecycle/create.ts), by the engine's own decision
const handedOver = schedPolicy.inert({ 'sched.policy': 'cfs' }, probeWith(probeKernel(), '/sys', readEnv().cgroupRoot)) === true;
try {
  const how = handedOver ? ', the client becoming runc' : ', runc the client\'s child';
  for (const [kind, label] of [['c', `  (floor: the client and a server that does nothing, same call${how})`], ['bun', `  (floor, bun: the same server in bun, as the engine server listens${how})`]]) {
    // (answering as the engine server answers this call: a cfs create on this host's rt backend,
    // nothing to apply, is handed over: the client becomes runc; elsewhere the client runs runc)
    const server = nullServer(w, kind, handedOver ? 'hand-over' : undefined);
    if (server) floors.push({ kind, label, server });
  }
  const [call, ...floorRows] = measureTogether([
    { label: 'vkernel-runtime create, sched.policy=cfs: one call (engine server)', fn: () => createOnly(RUNTIME, cfs) },
    ...floors.map((f) => ({ label: f.label, fn: () => createOnly(RUNTIME, cfs, { VKERNEL_ENGINE_SOCKET: f.server.socket }, false) })),
  ], () => createOnly('runc', cfs), CALL_RUNS);
  results.push(call);
  floorRows.forEach((r, i) => {
    results.push(r);
    parts.push(partOver(`the engine server's part over the ${floors[i].kind === 'c' ? 'floor (the client and a server that does nothing)' : 'bun floor (the engine\'s own work)'}`, call, r));
  });
} finally {
  for (const f of floors) f.server.stop();
}
if (RUNTIME !== SH) results.push(measure('vkernel-runtime create, sched.policy=cfs: one call (engine server, sh launcher)', () => createOnly(SH, cfs), () => createOnly('runc', cfs), CALL_RUNS));
results.push(measure('vkernel-runtime create, sched.policy=cfs: one call (engine executable)', () => createOnly(RUNTIME, cfs, OFF), () => createOnly('runc', cfs)));
results.push(measure('vkernel-runtime create+start+delete, sched.policy=cfs (engine server)', () => lifecycle(RUNTIME, cfs), runcLife));
results.push(measure('vkernel-runtime create+start+delete, sched.policy=cfs (engine executable)', () => lifecycle(RUNTIME, cfs, OFF), runcLife));
results.push(measure('vkernel-runtime create+start+delete, sched.policy=cfs (node)', () => lifecycle(RUNTIME, cfs, { VKERNEL_ENGINE: 'node' }), runcLife));
const fifo = bundle({ 'io.vkernel.sched.policy': 'fifo' });
try {
  // a request with work after runc's create (the RT budget granted, the init made SCHED_FIFO)
  results.push(measure('vkernel-runtime create, sched.policy=fifo: one call (engine server)', () => createOnly(RUNTIME, fifo), () => createOnly('runc', fifo), CALL_RUNS));
  results.push(measure('vkernel-runtime create+start+delete, sched.policy=fifo (engine server)', () => lifecycle(RUNTIME, fifo), runcLife));
  if (RUNTIME !== SH) results.push(measure('vkernel-runtime create+start+delete, sched.policy=fifo (engine server, sh launcher)', () => lifecycle(SH, fifo), runcLife));
  results.push(measure('vkernel-runtime create+start+delete, sched.policy=fifo (engine executable)', () => lifecycle(RUNTIME, fifo, OFF), runcLife));
} catch (e) {
  console.log(`(fifo not measured: ${e.message})`);
}
// adaptive: its start and delete have work of ours (its controller), served as create is
const adaptive = bundle({ 'io.vkernel.sched.policy': 'adaptive' });
try {
  results.push(measure('vkernel-runtime create+start+delete, sched.policy=adaptive (engine server)', () => lifecycle(RUNTIME, adaptive), runcLife));
  results.push(measure('vkernel-runtime create+start+delete, sched.policy=adaptive (engine executable)', () => lifecycle(RUNTIME, adaptive, OFF), runcLife));
} catch (e) {
  console.log(`(adaptive not measured: ${e.message})`);
}

console.log(`median (p25-p75) of ${N} runs (create alone: ${CALL_RUNS}), ms, each row in turns with plain runc's same call; runc's median (p25-p75) in those turns, the ratio of the medians and their difference; paired: the median (p25-p75) of the turns' differences and a 95 % confidence interval of that median (CI: order statistics, no assumption of a distribution)`);
const iqr = ([a, b]) => `(${a.toFixed(1)}-${b.toFixed(1)})`.padEnd(14);
const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
for (const r of results) {
  const [d, d25, d75] = r.paired;
  const ci = r.pairedCI ? ` CI ${signed(r.pairedCI[0])}..${signed(r.pairedCI[1])}` : '';
  console.log(`${r.label.padEnd(84)} ${r.median.toFixed(1).padStart(7)} ${iqr(r.spread)} runc ${r.base.toFixed(1).padStart(6)} ${iqr(r.baseSpread)} x${(r.median / r.base).toFixed(2)}  ${signed(r.median - r.base).padEnd(6)} paired ${signed(d)} (${signed(d25)}..${signed(d75)})${ci}`);
}
if (parts.length) console.log('one call (cfs), its parts: the median (p25-p75) of the turns\' differences, ms, and its 95 % CI');
for (const p of parts) {
  const [d, d25, d75] = p.paired;
  console.log(`  ${p.label.padEnd(82)} ${signed(d)} (${signed(d25)}..${signed(d75)})${p.pairedCI ? ` CI ${signed(p.pairedCI[0])}..${signed(p.pairedCI[1])}` : ''}`);
}
stopServer(SOCKET);
rmSync(w, { recursive: true, force: true });
