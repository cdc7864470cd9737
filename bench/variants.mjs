// Several builds (or settings) of vkernel-runtime against plain runc, interleaved in one run, so a
// change can be judged on a shared, noisy host: every round runs one create+start+delete of `true`
// through runc and through each variant, in rotating order (load from other processes falls on all
// alike). Per call and for the whole lifecycle: median (p25-p75) of wall and CPU (perf stat
// task-clock of the call and every process it starts), and the ratio of the medians to runc's.
//   node bench/variants.mjs NAME=LAUNCHER [NAME=LAUNCHER ...]
//   VKERNEL_BENCH_RUNS (default 15), VKERNEL_BENCH_POLICIES (default "cfs fifo")
// A LAUNCHER is bin/vkernel-runtime of a worktree, or a script that sets something and execs one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAS_PERF, makeBundle, makeRootfs, measuredCall, quantile as q } from './lib/bundle.mjs';

const N = Number(process.env.VKERNEL_BENCH_RUNS ?? 15);
const POLICIES = (process.env.VKERNEL_BENCH_POLICIES ?? 'cfs fifo').split(/\s+/).filter(Boolean);
const variants = [['runc', 'runc'], ...process.argv.slice(2).map((a) => { const i = a.indexOf('='); return [a.slice(0, i), a.slice(i + 1)]; })];
if (variants.length < 2) throw new Error('usage: node bench/variants.mjs NAME=LAUNCHER [NAME=LAUNCHER ...]');
if (!HAS_PERF) throw new Error('needs perf (linux-perf)');

const w = mkdtempSync(join(tmpdir(), 'vk-variants-'));
const root = join(w, 'root');
const rootfs = makeRootfs(w);
const bundle = (policy) => makeBundle(w, rootfs, { 'io.vkernel.sched.policy': policy });

/** one call: wall ms, CPU ms */
const call = (bin, args) => measuredCall(w, bin, root, args);

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
