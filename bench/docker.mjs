// `npm run bench -- --docker` (or node bench/docker.mjs): `docker run --rm --network none vk/busybox
// true` through plain runc vs through vkernel-runtime (no request, and -e VKERNEL_SCHED_POLICY=fifo
// / =cfs, the way Docker 20.10 asks: it has no --annotation), in one run, interleaved round by
// round. A private dockerd as the e2e tier starts it (test/helpers/engines.ts, HOST.md): its own
// data-root, exec-root, socket and cgroup parent, no bridge, no iptables; the busybox image is
// imported from /bin/busybox. Everything is removed at the end, the engine server its creates started
// included.
// VKERNEL_BENCH_RUNS rounds (default 15); prints medians (p25-p75) and the ratio against runc.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTIME as ENTRY_POINT } from './lib/entry.mjs';
import { stopServer } from './lib/server.mjs';

const N = Number(process.env.VKERNEL_BENCH_RUNS ?? 15);
const RUNTIME = process.env.VKERNEL_BENCH_RUNTIME ?? ENTRY_POINT;
// VKERNEL_BENCH_BASELINE: another installation's launcher (e.g. an older build), measured in the same rounds
const BASELINE = process.env.VKERNEL_BENCH_BASELINE;
const DOCKER = '/usr/bin/docker'; // the Debian 20.10 client (a newer one elsewhere on PATH refuses API 1.41)
const w = mkdtempSync(join(tmpdir(), 'vk-bench-docker-'));
const execRoot = mkdtempSync('/run/vk-bdx-'); // short: containerd's socket paths live under it
const sock = join(w, 'docker.sock');
const parent = `vk-bench-docker-${process.pid}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const docker = (args, o = {}) => spawnSync(DOCKER, ['-H', `unix://${sock}`, ...args], { encoding: 'utf8', ...o });

writeFileSync(join(w, 'daemon.json'), JSON.stringify({
  'data-root': join(w, 'data'), 'exec-root': execRoot, pidfile: join(w, 'pid'), hosts: [`unix://${sock}`],
  bridge: 'none', iptables: false, 'ip-forward': false, 'ip-masq': false, 'cgroup-parent': `/${parent}`,
  runtimes: { 'vkernel-runtime': { path: RUNTIME }, ...(BASELINE ? { 'vkernel-baseline': { path: BASELINE } } : {}) },
}));
// the engine server the runtime's creates start (src/serve/server.ts): this run's own, stopped at its
// end (dockerd's environment reaches the runtime through containerd and its shims)
const SOCKET = join(w, 'engine.sock');
const dockerd = spawn('dockerd', ['--config-file', join(w, 'daemon.json')], { stdio: 'ignore', env: { ...process.env, VKERNEL_ENGINE_SOCKET: SOCKET } });

const unmountUnder = (dir) => {
  const points = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const m of points) spawnSync('umount', ['-l', m]);
};

const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const fmt = (xs) => `${q(xs, 0.5).toFixed(0).padStart(6)} (${q(xs, 0.25).toFixed(0)}-${q(xs, 0.75).toFixed(0)})`.padEnd(20);

try {
  for (let i = 0; i < 150 && docker(['info']).status !== 0; i++) await sleep(200);
  if (docker(['info']).status !== 0) throw new Error('dockerd did not come up');
  const rootfs = join(w, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const a of ['sh', 'true']) symlinkSync('busybox', join(rootfs, 'bin', a));
  spawnSync('tar', ['-C', rootfs, '-cf', join(w, 'busybox.tar'), '.']);
  const imp = docker(['import', join(w, 'busybox.tar'), 'vk/busybox']);
  if (imp.status !== 0) throw new Error(`docker import: ${imp.stderr}`);

  const base = ['run', '--rm', '--network', 'none'];
  const rows = [
    { label: 'runc', args: [...base, 'vk/busybox', 'true'] },
    { label: 'vkernel-runtime, no request', args: [...base, '--runtime=vkernel-runtime', 'vk/busybox', 'true'] },
    { label: 'vkernel-runtime, -e VKERNEL_SCHED_POLICY=cfs', args: [...base, '--runtime=vkernel-runtime', '-e', 'VKERNEL_SCHED_POLICY=cfs', 'vk/busybox', 'true'] },
    { label: 'vkernel-runtime, -e VKERNEL_SCHED_POLICY=fifo', args: [...base, '--runtime=vkernel-runtime', '-e', 'VKERNEL_SCHED_POLICY=fifo', 'vk/busybox', 'true'] },
  ];
  if (BASELINE) rows.push({ label: `baseline (${BASELINE.slice(-24)}), fifo`, args: [...base, '--runtime=vkernel-baseline', '-e', 'VKERNEL_SCHED_POLICY=fifo', 'vk/busybox', 'true'] });
  for (const r of rows) r.ms = [];
  for (let round = -1; round < N; round++) {
    const order = round % 2 ? rows : [...rows].reverse(); // who goes first alternates
    for (const r of order) {
      const t0 = process.hrtime.bigint();
      const p = docker(r.args);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (p.status !== 0) throw new Error(`docker ${r.args.join(' ')}: exit ${p.status}: ${p.stderr}`);
      if (round >= 0) r.ms.push(ms);
    }
  }
  const load = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
  console.log(`\n== docker run --rm --network none vk/busybox true: median (p25-p75) of ${N} rounds, ms, interleaved (${load})`);
  for (const r of rows) {
    const ratio = q(r.ms, 0.5) / q(rows[0].ms, 0.5);
    console.log(`${r.label.padEnd(48)} ${fmt(r.ms)} x${ratio.toFixed(2)}  ${(q(r.ms, 0.5) - q(rows[0].ms, 0.5) >= 0 ? '+' : '')}${(q(r.ms, 0.5) - q(rows[0].ms, 0.5)).toFixed(0)}`);
  }
} finally {
  const ids = docker(['ps', '-aq']).stdout?.split('\n').filter(Boolean) ?? [];
  if (ids.length) docker(['rm', '-f', ...ids]);
  dockerd.kill('SIGTERM');
  for (let i = 0; i < 75 && dockerd.exitCode === null && dockerd.signalCode === null; i++) await sleep(200);
  if (dockerd.exitCode === null && dockerd.signalCode === null) dockerd.kill('SIGKILL');
  stopServer(SOCKET);
  // the cgroup parent dockerd made in every hierarchy (empty once its containers are gone)
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const d = join('/sys/fs/cgroup', h, parent);
    if (existsSync(d)) try { rmdirSync(d); } catch { /* not empty: say so */ console.error(`left ${d}`); }
  }
  unmountUnder(execRoot);
  rmSync(execRoot, { recursive: true, force: true });
  unmountUnder(w);
  rmSync(w, { recursive: true, force: true });
}
