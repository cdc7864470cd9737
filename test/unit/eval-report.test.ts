import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConsole, type Sample } from '../../eval/lib/parse.js';
import { writeReport } from '../../eval/lib/report.js';
import { ratio, stats } from '../../eval/lib/stats.js';

/** eval/lib: what the guest prints → samples → report.md + SVG charts (npm run eval's host half). */
describe('eval report', () => {
  test('parseConsole takes the lines from their marker on, keeps nan, and sees VKEVALDONE', () => {
    const c = parseConsole('patched', [
      'VKEVAL startup runc - 1 8612790',
      '[  3.1] some kernel line VKEVAL hackbench_threads vk-fifo 10 2 nan',
      'VKEVALINFO chrt host: ok',
      'VKEVAL broken line',
      'VKEVALDONE uptime=812.5',
    ].join('\r\n'));
    expect(c.samples).toEqual([
      { boot: 'patched', exp: 'startup', cfg: 'runc', param: '-', rep: 1, value: 8612790 },
      { boot: 'patched', exp: 'hackbench_threads', cfg: 'vk-fifo', param: '10', rep: 2, value: Number.NaN },
    ]);
    expect(c.infos).toEqual([{ boot: 'patched', key: 'chrt', text: 'host: ok' }]);
    expect(c).toMatchObject({ done: true, uptime: 812.5 });
  });

  test('stats and ratios: medians, quartiles, the quartile-crossed spread; NaN left out', () => {
    const a = stats([4, 1, 3, 2, Number.NaN]);
    expect(a).toEqual({ n: 4, median: 2.5, p25: 1.75, p75: 3.25, min: 1, max: 4 });
    const b = stats([2, 2, 2]);
    expect(ratio(a, b)).toEqual({ median: 1.25, lo: 0.875, hi: 1.625 });
    expect(stats([])).toBeUndefined();
  });

  test('a report from samples of every experiment: claims table, sections, charts with axis titles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vk-eval-report-'));
    try {
      const s: Sample[] = [];
      const add = (boot: 'patched' | 'unpatched', exp: string, cfg: string, param: string, values: number[]) =>
        values.forEach((value, i) => s.push({ boot, exp, cfg, param, rep: i + 1, value }));
      for (const c of ['runc', 'crun', 'vk-none', 'vk-fifo', 'vk-module', 'vk-all']) add('patched', 'startup', c, '-', [9e6, 10e6, 11e6]);
      for (const c of ['runc', 'vk-module']) { add('patched', 'scene_start', c, '20', [40e6]); add('patched', 'scene_remove', c, '20', [20e6]); }
      for (const m of ['threads', 'processes']) {
        for (const c of ['host-cfs', 'host-fifo', 'ctr-normal', 'ctr-nice-fifo', 'ctr-priv-fifo', 'vk-fifo', 'vk-adaptive']) {
          for (const l of ['10', '800']) add('patched', `hackbench_${m}`, c, l, [Number(l) / 100, Number(l) / 90]);
        }
        for (const b of ['patched', 'unpatched'] as const) add(b, `cost_hackbench_${m}`, 'host', '10', [0.5, 0.6]);
      }
      add('patched', 'wakeup', 'gran_0', '1', [100, 200]);
      add('patched', 'wakeup', 'gran_1000000000', '1', [3000, 4000]);
      for (const b of ['patched', 'unpatched'] as const) {
        for (const c of ['host', 'runc', 'vk-module']) { add(b, 'getppid', c, '-', [300, 310]); add(b, 'futex', c, '-', [9000, 9100]); }
        add(b, 'cost_getppid', 'host', '-', [300, 301]);
      }
      for (const c of ['runc', 'vk-module']) add('patched', 'futex_concurrent', c, '1', [9000, 9500]);
      add('patched', 'futex_crowd', 'runc', '1', [12000, 12400]);
      add('patched', 'futex_crowd', 'vk-module', '1', [9000, 9300]);
      for (const c of ['runc', 'vk-all']) { add('patched', 'nginx_rps', c, '-', [900, 950]); add('patched', 'pwgen_us', c, '-', [7e5, 7.1e5]); add('patched', 'pwgen_run_us', c, '-', [9e6, 9.5e6]); }
      await writeReport(dir, s, [
        { boot: 'patched', key: 'scene', text: 'vk-module round=1 running=20 modules=20 named_after_their_container=20 modules_after_rm=0' },
        { boot: 'patched', key: 'dmesg', text: 'vk-all lines=1 vm_lines=300 container_line=1 vm_line_seen=0' },
        { boot: 'patched', key: 'dmesg', text: 'runc lines=301 vm_lines=300 container_line=1 vm_line_seen=1' },
      ], { date: '2026-12-02', commit: 'abc', smoke: false, smp: 2, params: { HB_GROUPS: 2, CROWD_N: 4096 }, kernels: { patched: 'p', unpatched: 'u' }, seconds: { total: 10 }, command: 'npm run eval' });
      const md = readFileSync(join(dir, 'report.md'), 'utf8');
      expect(md).toMatch(/## The deck's and the predecessor's claims/);
      for (const h of ['## 1. Start-up', '## 2. Scheduling', '## 3. Per-container wakeup', '## 4. Syscall', '## 5. Applications', '## 6. Cost', '## Measured under TCG']) expect(md).toContain(h);
      expect(md).toMatch(/each container gets its own module.*\*\*holds\*\*/);
      expect(md).toMatch(/dmesg inside shows only.*\*\*holds\*\*/);
      expect(md).toMatch(/futex contention.*vkernel \/ runc 0\.7\d.*\*\*holds\*\*/);
      // the isolation verdict needs the key's container: one line, its own; one without the key sees the whole log
      const verdict = async (dmesg: string[]) => {
        const d2 = mkdtempSync(join(tmpdir(), 'vk-eval-report-'));
        try {
          await writeReport(d2, s, dmesg.map((text) => ({ boot: 'patched' as const, key: 'dmesg', text })),
            { date: '2026-12-02', commit: 'abc', smoke: false, smp: 2, params: { HB_GROUPS: 2 }, kernels: { patched: 'p', unpatched: 'u' }, seconds: { total: 10 }, command: 'npm run eval' });
          return /dmesg inside shows only[^\n]*\*\*([a-z ]+)\*\*/.exec(readFileSync(join(d2, 'report.md'), 'utf8'))?.[1];
        } finally {
          rmSync(d2, { recursive: true, force: true });
        }
      };
      const none = 'vk-none lines=303 vm_lines=300 container_line=1 other_containers_lines=1 vm_line_seen=1';
      expect(await verdict(['vk-log lines=1 vm_lines=300 container_line=1 other_containers_lines=0 vm_line_seen=0', none])).toBe('holds');
      expect(await verdict(['vk-log lines=302 vm_lines=300 container_line=1 other_containers_lines=1 vm_line_seen=1', none])).toBe('does not hold');
      expect(await verdict(['vk-log lines=2 vm_lines=300 container_line=1 other_containers_lines=1 vm_line_seen=0', none])).toBe('does not hold');
      expect(await verdict([none])).toBe('not measured in this run');
      const svgs = readdirSync(dir).filter((n) => n.endsWith('.svg')).sort();
      expect(svgs).toEqual(['apps.svg', 'cost.svg', 'hackbench.svg', 'paths.svg', 'startup.svg', 'wakeup.svg']);
      const hb = readFileSync(join(dir, 'hackbench.svg'), 'utf8');
      expect(hb).toMatch(/^<svg/);
      expect(hb).toContain('hackbench time (s, log)');
      expect(hb).toContain('ctr-priv-fifo');
      expect(readFileSync(join(dir, 'startup.svg'), 'utf8')).toContain('wall time of docker run --rm (ms)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
