// `node bench/spawn-cost.mjs`: what starting one host program costs a bun-compiled engine, by
// the way it spawns (the reason src/host/spawn.ts is a thin layer over node:child_process).
// Compiles three tiny engines the way scripts/build.mjs compiles ours (bun --compile --minify
// --bytecode): one that only exits, one that runs /bin/true through node:child_process, one through
// execa; then runs them in turns N times (VKERNEL_BENCH_RUNS, default 40) and prints the median
// wall time and the median CPU time (user+sys, from wait4 via /usr/bin/time -f), ms.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const N = Number(process.env.VKERNEL_BENCH_RUNS ?? 40);
const repo = new URL('..', import.meta.url).pathname;
const bun = join(repo, 'node_modules/@oven/bun-linux-x64-baseline/bin/bun');
const sources = {
  'exit only': 'process.exitCode = 0;\n',
  'node:child_process': `import { spawn } from 'node:child_process';
const c = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
c.stdout.on('data', () => {}); c.stderr.on('data', () => {});
c.on('close', (code) => { process.exitCode = code ?? 1; });
`,
  execa: `import { execa } from 'execa';
async function main() { const r = await execa('/bin/true', [], { reject: false, stdin: 'ignore' }); process.exitCode = r.exitCode; }
main();
`,
};
// the sources must resolve execa from the repo's node_modules: build them inside the repo
const src = mkdtempSync(join(repo, '.bench-spawn-'));
const out = mkdtempSync(join(tmpdir(), 'vk-bench-spawn-'));
try {
  const bins = Object.entries(sources).map(([label, text], i) => {
    const file = join(src, `e${i}.mjs`);
    writeFileSync(file, text);
    const bin = join(out, `e${i}`);
    execFileSync(bun, ['build', '--compile', '--minify', '--bytecode', file, '--outfile', bin], { stdio: 'ignore' });
    return { label, bin, wall: [], cpu: [] };
  });
  const timing = join(out, 'time');
  for (let i = -1; i < N; i++) {
    for (const b of bins) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync('/usr/bin/time', ['-o', timing, '-f', '%U %S', b.bin], { stdio: 'ignore' });
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${b.label}: exit ${r.status}`);
      const [u, s] = readFileSync(timing, 'utf8').trim().split(/\s+/).map(Number);
      if (i >= 0) { b.wall.push(wall); b.cpu.push((u + s) * 1000); }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`median of ${N} runs, ms (CPU time has 10 ms resolution)`);
  for (const b of bins) console.log(`${b.label.padEnd(22)} wall ${median(b.wall).toFixed(1).padStart(7)}   cpu ${median(b.cpu).toFixed(0).padStart(5)}`);
} finally {
  rmSync(src, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
}
