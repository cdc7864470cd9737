// `npm run bench`: plain runc vs vkernel-runtime on the same bundle, in one run.
//   passthrough: `state` of a created container
//   lifecycle:   create + start + delete of `true` (no vkernel request, then with policies)
// Median of N runs (VKERNEL_BENCH_RUNS, default 30). Each row is measured in turns with plain runc's
// same call (runc, row, runc, row, ...): its ratio and difference are against the runc median of
// its own turns, so load that comes and goes on a shared host falls on both alike.
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
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, makeRootfs } from './lib/bundle.mjs';

const N = Number(process.env.VKERNEL_BENCH_RUNS ?? 30);
const RUNTIME = new URL('../bin/vkernel-runtime', import.meta.url).pathname;
const w = mkdtempSync(join(tmpdir(), 'vk-bench-'));
const rootfs = makeRootfs(w);
const bundle = (annotations) => makeBundle(w, rootfs, annotations);

const root = join(w, 'root');
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
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let n = 0;

function lifecycle(bin, b, env) {
  const id = `bench-${n++}`;
  const t0 = process.hrtime.bigint();
  run(bin, ['create', '--bundle', b, id], env);
  run(bin, ['start', id], env);
  run(bin, ['delete', '--force', id], env);
  return ms(t0);
}

/** `fn` and `base` (plain runc's same call) N times in turns, after one warm-up each */
function measure(label, fn, base) {
  fn();
  base();
  const xs = [];
  const bs = [];
  for (let i = 0; i < N; i++) {
    if (i % 2) { xs.push(fn()); bs.push(base()); } else { bs.push(base()); xs.push(fn()); }
  }
  return { label, median: median(xs), base: median(bs) };
}

const plain = bundle(undefined);
const results = [];
// passthrough: state of one created container
run('runc', ['create', '--bundle', plain, 'bench-state']);
const runcState = () => run('runc', ['state', 'bench-state']);
results.push(measure('vkernel-runtime state (launcher exec)', () => run(RUNTIME, ['state', 'bench-state']), runcState));
// installed as README.md says: a symlink in PATH's directories pointing into the checkout
const LINKED = join(w, 'vkernel-runtime');
symlinkSync(RUNTIME, LINKED);
results.push(measure('vkernel-runtime state (launcher exec, through a symlink)', () => run(LINKED, ['state', 'bench-state']), runcState));
results.push(measure('vkernel-runtime state (engine, bun)', () => run(RUNTIME, ['--vkernel-set', 'strict=true', 'state', 'bench-state']), runcState));
results.push(measure('vkernel-runtime state (engine, node)', () => run(RUNTIME, ['--vkernel-set', 'strict=true', 'state', 'bench-state'], { VKERNEL_ENGINE: 'node' }), runcState));
run('runc', ['delete', '--force', 'bench-state']);

const runcLife = () => lifecycle('runc', plain);
results.push(measure('vkernel-runtime create+start+delete, no request', () => lifecycle(RUNTIME, plain), runcLife));
results.push(measure('vkernel-runtime create+start+delete, no request, through a symlink', () => lifecycle(LINKED, plain), runcLife));
const cfs = bundle({ 'io.vkernel.sched.policy': 'cfs' });
results.push(measure('vkernel-runtime create+start+delete, sched.policy=cfs (bun)', () => lifecycle(RUNTIME, cfs), runcLife));
results.push(measure('vkernel-runtime create+start+delete, sched.policy=cfs (node)', () => lifecycle(RUNTIME, cfs, { VKERNEL_ENGINE: 'node' }), runcLife));
const fifo = bundle({ 'io.vkernel.sched.policy': 'fifo' });
try {
  results.push(measure('vkernel-runtime create+start+delete, sched.policy=fifo (bun)', () => lifecycle(RUNTIME, fifo), runcLife));
} catch (e) {
  console.log(`(fifo not measured: ${e.message})`);
}

console.log(`median of ${N} runs, ms, each row in turns with plain runc's same call; runc's median in those turns, the ratio and the difference`);
for (const r of results) {
  console.log(`${r.label.padEnd(72)} ${r.median.toFixed(1).padStart(7)}  runc ${r.base.toFixed(1).padStart(6)}  x${(r.median / r.base).toFixed(2)}  ${(r.median - r.base >= 0 ? '+' : '')}${(r.median - r.base).toFixed(1)}`);
}
rmSync(w, { recursive: true, force: true });
