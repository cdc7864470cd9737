// What the lifecycle benches share: a busybox rootfs, an OCI bundle of `true` with given
// annotations (runc spec, rootfs read-only, no terminal), and one call measured in wall time and
// CPU time (perf stat task-clock of the call and every process it starts: 0.01 ms; GNU time's 10 ms
// steps where perf is missing, too coarse for one call: the caller says so).
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** a rootfs under `w` with busybox as /bin/busybox and /bin/true */
export function makeRootfs(w) {
  const rootfs = join(w, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  symlinkSync('busybox', join(rootfs, 'bin/true'));
  return rootfs;
}

/** a bundle under `w` running `true` in `rootfs`, with `annotations` (none: undefined) */
export function makeBundle(w, rootfs, annotations) {
  const dir = mkdtempSync(join(w, 'b-'));
  spawnSync('runc', ['spec'], { cwd: dir });
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  Object.assign(spec, { root: { path: rootfs, readonly: true }, annotations });
  spec.process.terminal = false;
  spec.process.args = ['true'];
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

/** whether `perf stat -e task-clock` works here */
export const HAS_PERF = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', 'true'], { stdio: 'ignore' }).status === 0;

/**
 * Runs `bin --root root ...args` (stdout ignored, stderr kept for the error) and returns its wall
 * ms and CPU ms (user+sys of it and its children). `w`: a directory for the meter's files.
 */
export function measuredCall(w, bin, root, args, env = {}) {
  const cpuFile = join(w, 'cpu');
  const errFile = join(w, 'stderr');
  const err = openSync(errFile, 'w');
  const meter = HAS_PERF ? ['perf', ['stat', '-x,', '-o', cpuFile, '-e', 'task-clock']] : ['/usr/bin/time', ['-o', cpuFile, '-f', '%U %S']];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(meter[0], [...meter[1], bin, '--root', root, ...args], { stdio: ['ignore', 'ignore', err], env: { ...process.env, ...env } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(err);
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${r.status}: ${readFileSync(errFile, 'utf8')}`);
  const out = readFileSync(cpuFile, 'utf8');
  if (HAS_PERF) return { ms, cpu: Number(out.split('\n').find((l) => l.includes('task-clock')).split(',')[0]) };
  const [u, s] = out.trim().split('\n').pop().split(/\s+/).map(Number);
  return { ms, cpu: (u + s) * 1000 };
}

/** the p-quantile of xs (0: none) */
export const quantile = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * p))] : 0; };

/**
 * a 95 % confidence interval of the median of xs, assuming nothing of their distribution: the
 * order statistics k and n-k+1 (1-based) with k = floor((n - 1.96 sqrt(n)) / 2), the normal
 * approximation of the binomial count of samples below the median; undefined under 10 samples
 */
export function medianCI(xs) {
  const n = xs.length;
  const k = Math.floor((n - 1.96 * Math.sqrt(n)) / 2);
  if (n < 10 || k < 1) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return [s[k - 1], s[n - k]];
}
