// `node bench/create-path.mjs [LAUNCHER...]`: the engine's cost on the create path.
// For each launcher (default: this checkout's bin/vkernel-runtime) and for plain runc, N rounds
// (VKERNEL_BENCH_RUNS, default 50) of `create` then `delete --force` of a container whose spec asks
// for io.vkernel.sched.policy (VKERNEL_BENCH_POLICY, default cfs; runc gets the same spec and
// ignores it). The runtimes take turns inside each round, so load from other processes falls on
// all of them alike. Prints the median create and delete times, wall and CPU (user+sys of the call
// and the children it waited for, from GNU time: 10 ms resolution, but much less sensitive to
// other load than the wall time), ms.
// Compare two builds: node bench/create-path.mjs /path/to/old/bin/vkernel-runtime bin/vkernel-runtime
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const N = Number(process.env.VKERNEL_BENCH_RUNS ?? 50);
const POLICY = process.env.VKERNEL_BENCH_POLICY ?? 'cfs';
const launchers = process.argv.length > 2 ? process.argv.slice(2).map((p) => resolve(p)) : [new URL('../bin/vkernel-runtime', import.meta.url).pathname];
const w = mkdtempSync(join(tmpdir(), 'vk-bench-create-'));
try {
  const rootfs = join(w, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  symlinkSync('busybox', join(rootfs, 'bin/sleep'));
  const bundle = join(w, 'bundle');
  mkdirSync(bundle);
  spawnSync('runc', ['spec'], { cwd: bundle });
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  Object.assign(spec, { root: { path: rootfs, readonly: true }, annotations: { 'io.vkernel.sched.policy': POLICY } });
  spec.process.terminal = false;
  spec.process.args = ['sleep', '10'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));

  const root = join(w, 'root');
  // a created container's init keeps runc's stdio open until it starts: never a pipe here
  const errFile = join(w, 'stderr');
  const cpuFile = join(w, 'cpu');
  const time = (bin, args) => {
    const err = openSync(errFile, 'w');
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-o', cpuFile, '-f', '%U %S', bin, '--root', root, ...args], { stdio: ['ignore', 'ignore', err] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    closeSync(err);
    if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${r.status}: ${readFileSync(errFile, 'utf8')}`);
    const [u, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
    return { ms, cpu: (u + sys) * 1000 };
  };
  const runtimes = [{ label: 'runc', bin: 'runc' }, ...launchers.map((bin) => ({ label: bin, bin }))];
  for (const r of runtimes) Object.assign(r, { create: [], delete: [], createCpu: [], deleteCpu: [] });
  let n = 0;
  for (let round = -1; round < N; round++) {
    for (const r of runtimes) {
      const id = `bench-create-${process.pid}-${n++}`;
      const c = time(r.bin, ['create', '--bundle', bundle, id]);
      const d = time(r.bin, ['delete', '--force', id]);
      if (round >= 0) { r.create.push(c.ms); r.delete.push(d.ms); r.createCpu.push(c.cpu); r.deleteCpu.push(d.cpu); } // round -1 warms the caches
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`median of ${N} rounds, ms (io.vkernel.sched.policy=${POLICY}; runc ignores it)`);
  console.log(`${'runtime'.padEnd(52)} ${'create'.padStart(8)} ${'delete'.padStart(8)} ${'cpu:create'.padStart(11)} ${'cpu:delete'.padStart(11)}`);
  for (const r of runtimes) {
    console.log(`${r.label.padEnd(52)} ${median(r.create).toFixed(1).padStart(8)} ${median(r.delete).toFixed(1).padStart(8)} ${median(r.createCpu).toFixed(0).padStart(11)} ${median(r.deleteCpu).toFixed(0).padStart(11)}`);
  }
} finally {
  const left = spawnSync('runc', ['--root', join(w, 'root'), 'list', '-q'], { encoding: 'utf8' }).stdout ?? '';
  for (const id of left.split('\n').filter(Boolean)) spawnSync('runc', ['--root', join(w, 'root'), 'delete', '--force', id]);
  rmSync(w, { recursive: true, force: true });
}
