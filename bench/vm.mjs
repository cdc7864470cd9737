// `npm run bench -- --vm [--rounds R] [--profile-rounds P] [--patched-out DIR]` (or node bench/vm.mjs):
// start-up of a container that asks for the per-container module, in the VM (qemu TCG, 2 vCPUs, the
// patched kernel: kernel/build.sh, or the out dir it printed), against plain runc in the same VM and
// the same run. The guest (bench/vm/guest.sh) runs create + start + delete of `true` through runc
// and through vkernel-runtime with io.vkernel.module=true, R rounds in turns; the module is in the
// runtime's cache (test/vm/lib/runtime-payload.mjs builds it for the kernel), so this is the warm
// path of a node. Then P rounds of the runtime alone with VKERNEL_PROFILE: its phases per call
// (insmod + attach is `exec insmod`: the module attaches in its init). Prints medians, p25-p75 and
// the ratio of medians per call; TCG makes everything slower than on hardware and noisy (other work
// on the host moves it), so read the ratios with the spreads.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('..', import.meta.url).pathname;
const opt = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const int = (name, dflt) => {
  const v = Number(opt(name) ?? dflt);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: a positive integer, got ${opt(name)}`);
  return v;
};
const ROUNDS = int('rounds', 20);
const PROFILE_ROUNDS = int('profile-rounds', 10);

const kdir = opt('patched-out') ?? execFileSync(join(repo, 'kernel/build.sh'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
const w = mkdtempSync(join(tmpdir(), 'vk-bench-vm-'));
let lines;
try {
  const list = execFileSync('node', [join(repo, 'test/vm/lib/runtime-payload.mjs'), w], { encoding: 'utf8', env: { ...process.env, VKVM_PAYLOAD_MODULE_KDIR: kdir } }).trim();
  writeFileSync(join(w, 'bench.env'), `ROUNDS=${ROUNDS}\nPROFILE_ROUNDS=${PROFILE_ROUNDS}\n`);
  appendFileSync(list, `file /tests/bench.env ${join(w, 'bench.env')} 0644 0 0\n`);
  const t0 = Date.now();
  const r = spawnSync(join(repo, 'test/vm/run-vm.sh'), [kdir, '1800', join(repo, 'bench/vm/guest.sh')], {
    encoding: 'utf8', env: { ...process.env, VKVM_EXTRA_LIST: list, VKVM_CPU: 'max' /* the bun-compiled engine needs SSE4.2 and POPCNT (test/vm/run-vm.sh) */ }, maxBuffer: 64 * 1024 * 1024,
  });
  lines = r.stdout.split(/\r?\n/);
  const boot = lines.find((l) => l.includes('VKBOOT'));
  process.stderr.write(`bench --vm: ${kdir}: ${boot ? boot.slice(boot.indexOf('VKBOOT')) : 'no VKBOOT'}, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  for (const l of lines.filter((x) => /VKBENCH (error|note)|VKTEST .* FAIL/.test(x))) process.stderr.write(`  ${l.slice(l.search(/VK(BENCH|TEST)/))}\n`);
  if (r.status !== 0 || !lines.some((l) => l.includes('VKEND guest.sh'))) throw new Error(`the VM run failed (status ${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
} finally {
  rmSync(w, { recursive: true, force: true });
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * p;
  return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
};
const CALLS = ['create', 'start', 'delete'];
const runs = { runc: [], module: [] };
for (const l of lines) {
  const m = /VKBENCH cfg=(runc|module) round=(\d+) create=(\d+) start=(\d+) delete=(\d+)/.exec(l);
  if (m) runs[m[1]].push({ create: Number(m[3]) / 1000, start: Number(m[4]) / 1000, delete: Number(m[5]) / 1000, total: (Number(m[3]) + Number(m[4]) + Number(m[5])) / 1000 });
}
if (runs.runc.length < ROUNDS || runs.module.length < ROUNDS) throw new Error(`${runs.runc.length} runc and ${runs.module.length} module rounds of ${ROUNDS} completed (VKBENCH error lines above say why)`);
const fmt = (xs) => `${q(xs, 0.5).toFixed(1).padStart(7)} (${q(xs, 0.25).toFixed(1)}-${q(xs, 0.75).toFixed(1)})`.padEnd(24);
console.log(`\n== in the VM (qemu TCG, patched kernel ${kdir.split('/').pop()}): create/start/delete of \`true\`, ms, median (p25-p75) of ${ROUNDS} rounds in turns`);
console.log(`${'call'.padEnd(8)} ${'runc'.padEnd(24)} ${'vkernel-runtime + module'.padEnd(24)} ratio   diff`);
for (const c of [...CALLS, 'total']) {
  const a = runs.runc.map((x) => x[c]);
  const b = runs.module.map((x) => x[c]);
  console.log(`${c.padEnd(8)} ${fmt(a)} ${fmt(b)} ${(q(b, 0.5) / q(a, 0.5)).toFixed(2)}x  ${(q(b, 0.5) - q(a, 0.5)).toFixed(1)} ms`);
}

// the runtime's phases (VKERNEL_PROFILE), per call
const prof = lines.filter((l) => l.includes('VKPROF ')).map((l) => JSON.parse(l.slice(l.indexOf('VKPROF ') + 7)));
console.log(`\n== vkernel-runtime's phases with the module (${PROFILE_ROUNDS} more rounds, VKERNEL_PROFILE), ms, median (p25-p75) per engine process`);
for (const cmd of CALLS) {
  const ps = prof.filter((p) => p.cmd === cmd);
  if (!ps.length) { console.log(`${cmd}: no engine process (the launcher handled it alone)`); continue; }
  console.log(`${cmd} (${ps.length} engine processes)`);
  console.log(`  ${'engine start-up (to main)'.padEnd(34)} ${fmt(ps.map((p) => p.startup))}`);
  console.log(`  ${'engine process, start to exit'.padEnd(34)} ${fmt(ps.map((p) => p.total))}`);
  const names = [...new Set(ps.flatMap((p) => Object.keys(p.phases ?? {})))];
  for (const n of names) console.log(`  ${n.padEnd(34)} ${fmt(ps.map((p) => p.phases?.[n]?.[0] ?? 0))}`);
}
