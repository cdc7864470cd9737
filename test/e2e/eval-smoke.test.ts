import { execa } from 'execa';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '../helpers/fixtures.js';

/**
 * `npm run eval -- --smoke` end to end, so that the evaluation tooling cannot rot: the Dockerfile.vm
 * image (built or reused from the layer cache the vm-image test shares), booted under qemu with the
 * patched kernel and then the unpatched one, eval/guest.sh's every experiment once with the fewest
 * configurations and the smallest sizes, then samples, report.md and the SVG charts. It measures
 * nothing: the full run is `npm run eval` (eval/README.md).
 */
const MIN = 60_000;
const out = mkdtempSync(join(tmpdir(), 'vk-eval-smoke-'));
let run: { exitCode?: number; all?: string } = {};
let csv = '';

beforeAll(requireRoot);
beforeAll(async () => {
  const r = await execa('node_modules/@oven/bun-linux-x64/bin/bun', ['eval/run.ts', '--smoke', '--out', out], { all: true, reject: false, timeout: 70 * MIN });
  run = { exitCode: r.exitCode, all: String(r.all) };
  console.log(String(r.all).split('\n').filter((l) => l.startsWith('eval:')).join('\n'));
  try { csv = readFileSync(join(out, 'samples.csv'), 'utf8'); } catch { /* the exit test says why */ }
}, 75 * MIN);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run eval -- --smoke', () => {
  test('exits 0', () => {
    expect(`${run.exitCode} ${run.exitCode === 0 ? '' : (run.all ?? '').slice(-4000)}`).toBe('0 ');
  });

  // every experiment of each boot gave at least one finite figure (eval/lib/params.ts configs())
  test.each([
    ['patched', 'cost_hackbench_threads'], ['patched', 'cost_hackbench_processes'], ['patched', 'cost_getppid'],
    ['patched', 'startup'], ['patched', 'scene_start'], ['patched', 'scene_remove'], ['patched', 'hackbench_threads'], ['patched', 'hackbench_processes'],
    ['patched', 'wakeup'], ['patched', 'getppid'], ['patched', 'futex'], ['patched', 'futex_concurrent'], ['patched', 'futex_crowd'], ['patched', 'nginx_rps'], ['patched', 'pwgen_us'],
    ['unpatched', 'cost_hackbench_processes'], ['unpatched', 'cost_getppid'],
  ])('%s boot: %s measured', (boot, exp) => {
    const rows = csv.split('\n').filter((l) => l.startsWith(`${boot},${exp},`));
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(Number(r.split(',')[5])).toBeGreaterThan(0);
  });

  test('report.md answers the claims; the charts are SVG', () => {
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('SMOKE RUN');
    expect(md).toMatch(/## The deck's and the predecessor's claims/);
    expect(md).toMatch(/each container gets its own module.*\*\*holds\*\*/);
    expect(md).toMatch(/dmesg inside shows only.*\*\*(holds|does not hold)\*\*/);
    const svgs = readdirSync(out).filter((n) => n.endsWith('.svg')).sort();
    expect(svgs).toEqual(['apps.svg', 'cost.svg', 'hackbench.svg', 'paths.svg', 'startup.svg', 'wakeup.svg']);
    for (const s of svgs) expect(readFileSync(join(out, s), 'utf8')).toMatch(/^<svg[^]*<\/svg>\s*$/);
  });
});
