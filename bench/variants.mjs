// Several builds (or settings) of vkernel-runtime against plain runc, interleaved in one run, so a
// change can be judged on a shared, noisy host: every round runs one create+start+delete of `true`
// through runc and through each variant, in rotating order (load from other processes falls on all
// alike). Per call and for the whole lifecycle: median (p25-p75) of wall and CPU (perf stat
// task-clock of the call and every process it starts), and the ratio of the medians to runc's.
//   node bench/variants.mjs NAME=LAUNCHER [NAME=LAUNCHER ...]
//   VKERNEL_BENCH_RUNS (default 15), VKERNEL_BENCH_POLICIES (default "cfs fifo")
// A LAUNCHER is bin/vkernel-runtime of a worktree, or a script that sets something and execs one.
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const N = Number(process.env.VKERNEL_BENCH_RUNS ?? 15);
const POLICIES = (process.env.VKERNEL_BENCH_POLICIES ?? 'cfs fifo').split(/\s+/).filter(Boolean);
const variants = [['runc', 'runc'], ...process.argv.slice(2).map((a) => { const i = a.indexOf('='); return [a.slice(0, i), a.slice(i + 1)]; })];
if (variants.length < 2) throw new Error('usage: node bench/variants.mjs NAME=LAUNCHER [NAME=LAUNCHER ...]');
if (spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', 'true'], { stdio: 'ignore' }).status !== 0) throw new Error('needs perf (linux-perf)');

const w = mkdtempSync(join(tmpdir(), 'vk-variants-'));
const root = join(w, 'root');
const cpuFile = join(w, 'cpu');
const errFile = join(w, 'stderr');
const rootfs = join(w, 'rootfs');
for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
symlinkSync('busybox', join(rootfs, 'bin/true'));
function bundle(policy) {
  const dir = join(w, `b-${policy}`);
  mkdirSync(dir);
  spawnSync('runc', ['spec'], { cwd: dir });
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  Object.assign(spec, { root: { path: rootfs, readonly: true }, annotations: { 'io.vkernel.sched.policy': policy } });
  spec.process.terminal = false;
  spec.process.args = ['true'];
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

/** one call: wall ms, CPU ms */
function call(bin, args) {
  const err = openSync(errFile, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('perf', ['stat', '-x,', '-o', cpuFile, '-e', 'task-clock', bin, '--root', root, ...args], { stdio: ['ignore', 'ignore', err] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(err);
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${r.status}: ${readFileSync(errFile, 'utf8')}`);
  return { ms, cpu: Number(readFileSync(cpuFile, 'utf8').split('\n').find((l) => l.includes('task-clock')).split(',')[0]) };
}

const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const fmt = (xs) => `${q(xs, 0.5).toFixed(1)} (${q(xs, 0.25).toFixed(1)}-${q(xs, 0.75).toFixed(1)})`.padEnd(22);
const CALLS = ['create', 'start', 'delete', 'total'];
let n = 0;
const loads = [];
try {
  for (const policy of POLICIES) {
    const b = bundle(policy);
    const res = Object.fromEntries(variants.map(([name]) => [name, Object.fromEntries(CALLS.map((c) => [c, { ms: [], cpu: [] }]))]));
    for (let round = -1; round < N; round++) {
      loads.push(loadavg()[0]);
      const k = ((round % variants.length) + variants.length) % variants.length;
      for (const [name, bin] of [...variants.slice(k), ...variants.slice(0, k)]) {
        const id = `var-${process.pid}-${n++}`;
        const r = [call(bin, ['create', '--bundle', b, id]), call(bin, ['start', id]), call(bin, ['delete', '--force', id])];
        if (round < 0) continue; // warms the caches
        r.forEach((x, i) => { res[name][CALLS[i]].ms.push(x.ms); res[name][CALLS[i]].cpu.push(x.cpu); });
        res[name].total.ms.push(r.reduce((a, x) => a + x.ms, 0));
        res[name].total.cpu.push(r.reduce((a, x) => a + x.cpu, 0));
      }
    }
    console.log(`\n== sched.policy=${policy}: ${N} rounds, median (p25-p75) ms, ratio of medians to runc; load ${q(loads, 0).toFixed(1)}-${q(loads, 1).toFixed(1)}`);
    console.log(`${'call'.padEnd(8)}${'variant'.padEnd(12)}${'wall'.padEnd(22)}${'CPU'.padEnd(22)}wall/runc CPU/runc`);
    for (const c of CALLS) {
      const base = res.runc[c];
      for (const [name] of variants) {
        const x = res[name][c];
        const ratio = (a, b0) => `x${(q(a, 0.5) / q(b0, 0.5)).toFixed(2)}`;
        console.log(`${c.padEnd(8)}${name.padEnd(12)}${fmt(x.ms)}${fmt(x.cpu)}${name === 'runc' ? '' : `${ratio(x.ms, base.ms).padEnd(10)}${ratio(x.cpu, base.cpu)}`}`);
      }
    }
  }
} finally {
  for (const id of spawnSync('runc', ['--root', root, 'list', '-q'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
    spawnSync(variants[1][1], ['--root', root, 'delete', '--force', id]);
  }
  rmSync(w, { recursive: true, force: true });
}
