// `npm run bench`: plain runc vs vkernel-runtime on the same bundle, in one run.
//   passthrough: `state` of a created container
//   lifecycle:   create + start + delete of `true` (no vkernel request, then with policies)
// Median of N runs (VKERNEL_BENCH_RUNS, default 30), ratios against runc.
// `npm run bench -- --profile`: the per-phase profile instead (bench/profile.mjs).
// `npm run bench -- --docker`: `docker run --rm` through runc vs vkernel-runtime (bench/docker.mjs).
if (process.argv.includes('--profile')) {
  await import('./profile.mjs');
  process.exit(0);
}
if (process.argv.includes('--docker')) {
  await import('./docker.mjs');
  process.exit(0);
}
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, makeRootfs } from './lib/bundle.mjs';

const N = Number(process.env.VKERNEL_BENCH_RUNS ?? 30);
const RUNTIME = new URL('../bin/vkernel-runtime', import.meta.url).pathname;
const w = mkdtempSync(join(tmpdir(), 'vk-bench-'));
const rootfs = makeRootfs(w);
const bundle = (annotations) => makeBundle(w, rootfs, annotations);

const root = join(w, 'root');
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
function run(bin, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, ['--root', root, ...args], { stdio: 'ignore', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${r.status}`);
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

function measure(label, fn) {
  fn(); // warm up
  const xs = Array.from({ length: N }, fn);
  return { label, median: median(xs) };
}

const plain = bundle(undefined);
const results = [];
// passthrough: state of one created container
run('runc', ['create', '--bundle', plain, 'bench-state']);
const runcState = measure('runc state', () => run('runc', ['state', 'bench-state']));
results.push(runcState, measure('vkernel-runtime state (launcher exec)', () => run(RUNTIME, ['state', 'bench-state'])));
// installed as README.md says: a symlink in PATH's directories pointing into the checkout
const LINKED = join(w, 'vkernel-runtime');
symlinkSync(RUNTIME, LINKED);
results.push(measure('vkernel-runtime state (launcher exec, through a symlink)', () => run(LINKED, ['state', 'bench-state'])));
results.push(measure('vkernel-runtime state (engine, bun)', () => run(RUNTIME, ['--vkernel-set', 'strict=true', 'state', 'bench-state'])));
results.push(measure('vkernel-runtime state (engine, node)', () => run(RUNTIME, ['--vkernel-set', 'strict=true', 'state', 'bench-state'], { VKERNEL_ENGINE: 'node' })));
run('runc', ['delete', '--force', 'bench-state']);

const runcLife = measure('runc create+start+delete', () => lifecycle('runc', plain));
results.push(runcLife, measure('vkernel-runtime create+start+delete, no request', () => lifecycle(RUNTIME, plain)));
results.push(measure('vkernel-runtime create+start+delete, no request, through a symlink', () => lifecycle(LINKED, plain)));
const cfs = bundle({ 'io.vkernel.sched.policy': 'cfs' });
results.push(measure('vkernel-runtime create+start+delete, sched.policy=cfs (bun)', () => lifecycle(RUNTIME, cfs)));
results.push(measure('vkernel-runtime create+start+delete, sched.policy=cfs (node)', () => lifecycle(RUNTIME, cfs, { VKERNEL_ENGINE: 'node' })));
const fifo = bundle({ 'io.vkernel.sched.policy': 'fifo' });
try {
  results.push(measure('vkernel-runtime create+start+delete, sched.policy=fifo (bun)', () => lifecycle(RUNTIME, fifo)));
} catch (e) {
  console.log(`(fifo not measured: ${e.message})`);
}

console.log(`median of ${N} runs, ms; ratio and difference against plain runc in the same run`);
for (const r of results) {
  const base = r.label.includes('state') ? runcState.median : runcLife.median;
  console.log(`${r.label.padEnd(72)} ${r.median.toFixed(1).padStart(7)}  x${(r.median / base).toFixed(2)}  ${(r.median - base >= 0 ? '+' : '')}${(r.median - base).toFixed(1)}`);
}
rmSync(w, { recursive: true, force: true });
