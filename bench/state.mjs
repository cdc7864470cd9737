// `node bench/state.mjs [N] [launcher]`: the hot path. N (default 200) `state` calls of one created
// container through plain runc and through the launcher (bin/vkernel-runtime, or the file given),
// alternating, so both see the same machine load. Prints total and median per call.
// VKERNEL_RUNC=/bin/true measures the launcher's own cost: both sides then run /bin/true (the
// launcher still parses argv and routes the call), without runc's own noise.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const N = Number(process.argv[2] ?? 200);
const LAUNCHER = process.argv[3] ?? new URL('../bin/vkernel-runtime', import.meta.url).pathname;
const w = mkdtempSync(join(tmpdir(), 'vk-bench-state-'));
const rootfs = join(w, 'rootfs');
for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
symlinkSync('busybox', join(rootfs, 'bin/true'));
const bundle = join(w, 'bundle');
mkdirSync(bundle);
spawnSync('runc', ['spec'], { cwd: bundle });
const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
Object.assign(spec, { root: { path: rootfs, readonly: true } });
spec.process.terminal = false;
spec.process.args = ['true'];
writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
const root = join(w, 'root');
const id = 'bench-state';
if (spawnSync('runc', ['--root', root, 'create', '--bundle', bundle, id], { stdio: 'ignore' }).status !== 0) throw new Error('runc create failed');

const times = { runc: [], launcher: [] };
function call(who, bin) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, ['--root', root, 'state', id], { stdio: ['ignore', 'pipe', 'inherit'] });
  times[who].push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== 0) throw new Error(`${bin} state: exit ${r.status}`);
}
try {
  const RUNC = process.env.VKERNEL_RUNC ?? 'runc';
  call('runc', RUNC); call('launcher', LAUNCHER); // warm up
  times.runc = []; times.launcher = [];
  for (let i = 0; i < N; i++) { call('runc', RUNC); call('launcher', LAUNCHER); }
} finally {
  spawnSync('runc', ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
  rmSync(w, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
for (const who of ['runc', 'launcher']) {
  console.log(`${who.padEnd(8)} ${N} x state: total ${sum(times[who]).toFixed(0)} ms, median ${median(times[who]).toFixed(2)} ms`);
}
console.log(`launcher overhead: median +${(median(times.launcher) - median(times.runc)).toFixed(2)} ms per call`);
