// `npm run eval [-- --smoke] [--smp N] [--out DIR] [--image DIR] [--no-unpatched]`
// Reproduces the seed deck's evaluation (系统评估) and the predecessor's numbers (issue 17): builds
// (or reuses, cached) the Dockerfile.vm image, boots it under qemu (TCG) with the patched kernel and
// then with the unpatched one (same initramfs), runs eval/guest.sh in each boot (real dockerd
// inside), and writes eval/results/<date>[-smoke]/: samples.csv + samples.json (raw data),
// console-<kernel>.log, report.md and SVG charts (vega-lite).
//   --smoke         one repetition, smallest sizes (what npm test runs: test/e2e/eval-smoke.test.ts)
//   --smp N         vCPUs of the VM (default 2: see report.md "Measured under TCG")
//   --image DIR     boot DIR/bzImage + DIR/rootfs.cpio (scripts/vm-image.sh's output) instead of
//                   building the image
//   --no-unpatched  skip the unpatched boot (its comparisons are then left out of the report)
//   --only EXP,...  run only these experiments (cost startup scene dmesg sched wakeup paths apps)
//   --timeout S     seconds per boot (default 900 smoke, 5400 full); a boot cut by it still gives
//                   what it measured, and the report says it is incomplete
//   --lock FILE     take FILE (flock) for each boot only, not for the whole run, so that other VM
//                   users interleave between the boots (e.g. /var/lock/vkernel-vm.lock)
//   --deadline HH:MM  (UTC, today) each boot's time limit is what is left until then when it starts
//                   (after the lock, if any); a boot that would start with less than 3 min left is
//                   skipped, and the report says it is incomplete
//   --unpatched     with --smoke: boot the unpatched kernel too (the smoke run skips it: the same
//                   guest script, it proves nothing more about the tooling)
//   --rerender DIR  write DIR's report.md and charts again from its samples.json (no VM)
//   --build-only    build (or find) the image and the unpatched kernel, print the image's directory
// Run as root, alone on the VM lock if the machine has one (the figures are timing-sensitive):
//   flock /var/lock/vkernel-vm.lock npm run eval
// VKERNEL_CACHE applies as for kernel/build.sh and the e2e tier.
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { prepareImage } from './lib/image.js';
import { configs, envFile, FULL, SMOKE } from './lib/params.js';
import { parseConsole, type Boot, type Info, type Sample } from './lib/parse.js';
import { writeReport, type Meta } from './lib/report.js';

const repo = resolve(new URL('..', import.meta.url).pathname);
process.chdir(repo);
const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(`--${n}`);
const opt = (n: string) => {
  const i = argv.indexOf(`--${n}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${n} needs a value`);
  return v;
};
const known = new Set(['--smoke', '--smp', '--out', '--image', '--no-unpatched', '--unpatched', '--build-only', '--only', '--rerender', '--timeout', '--lock', '--deadline']);
for (const a of argv) if (a.startsWith('--') && !known.has(a)) throw new Error(`unknown option ${a} (see the top of eval/run.ts)`);
const smoke = flag('smoke');
const smp = Number(opt('smp') ?? 2);
if (!Number.isInteger(smp) || smp < 1 || smp > 8) throw new Error('--smp: an integer from 1 to 8');
const only = opt('only')?.split(',');
const params = { ...(smoke ? SMOKE : FULL) };
if (smoke && flag('unpatched')) params.unpatchedExps = [...FULL.unpatchedExps];
const lock = opt('lock');
const deadlineText = opt('deadline');
let deadline: number | undefined;
if (deadlineText !== undefined) {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(deadlineText);
  if (!m) throw new Error('--deadline: HH:MM (UTC)');
  const d = new Date();
  d.setUTCHours(Number(m[1]), Number(m[2]), 0, 0);
  deadline = Math.floor(d.getTime() / 1000);
}
if (only) {
  const bad = only.filter((e) => !params.exps.includes(e));
  if (bad.length) throw new Error(`--only: unknown experiment(s) ${bad.join(', ')}`);
  params.exps = params.exps.filter((e) => only.includes(e));
  params.unpatchedExps = params.unpatchedExps.filter((e) => only.includes(e));
}
const date = new Date().toISOString().slice(0, 10);
const out = resolve(opt('out') ?? join('eval/results', `${date}${smoke ? '-smoke' : ''}${smp !== 2 ? `-smp${smp}` : ''}`));
const log = (s: string) => process.stderr.write(`${s}\n`);

const rerender = opt('rerender');
/** a run stopped before it wrote samples.json: what its streamed consoles hold (meta from
 * DIR/meta.json, which the one who stopped it writes) */
function fromConsoles(dir: string): { meta: Meta; samples: Sample[]; infos: Info[] } {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
  const samples: Sample[] = [];
  const infos: Info[] = [];
  for (const b of ['patched', 'unpatched'] as Boot[]) {
    const f = join(dir, `console-${b}.log`);
    if (!existsSync(f)) continue;
    const c = parseConsole(b, readFileSync(f, 'utf8'));
    samples.push(...c.samples);
    infos.push(...c.infos);
    if (!c.done) (meta.incomplete ??= []).push(b);
  }
  writeFileSync(join(dir, 'samples.csv'), ['boot,experiment,config,param,rep,value', ...samples.map((s) => [s.boot, s.exp, s.cfg, s.param, s.rep, s.value].join(','))].join('\n') + '\n');
  writeFileSync(join(dir, 'samples.json'), JSON.stringify({ meta, samples, infos }, null, 1) + '\n');
  return { meta, samples, infos };
}
if (rerender) {
  const j = existsSync(join(rerender, 'samples.json'))
    ? JSON.parse(readFileSync(join(rerender, 'samples.json'), 'utf8')) as { meta: Meta; samples: Sample[]; infos: Info[] }
    : fromConsoles(rerender);
  // NaN went into the JSON as null
  await writeReport(rerender, j.samples.map((s) => ({ ...s, value: s.value ?? Number.NaN })), j.infos, j.meta);
  log(`eval: ${rerender}/report.md written again`);
  process.exit(0);
}

const t0 = Date.now();
// the checkout the image is built from: read now, not after the boots (the tree may move meanwhile)
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  + (execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() ? '+changes' : '');
const seconds: Record<string, number> = {};
const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    seconds[name] = (Date.now() - t) / 1000;
    log(`eval: ${name} ${seconds[name].toFixed(0)} s`);
  }
};

const kernelOut = async (flags: string[]): Promise<string> => {
  const r = await execa('kernel/build.sh', flags, { reject: false, stderr: 'inherit', timeout: 90 * 60_000 });
  if (r.exitCode !== 0) throw new Error(`kernel/build.sh ${flags.join(' ')} failed`);
  return r.stdout.trim().split('\n').pop() ?? '';
};

const image = await phase('image', async () => {
  const dir = opt('image');
  if (dir) {
    const key = join(dir, 'kernel-key');
    return { dir: resolve(dir), kernelKey: existsSync(key) ? readFileSync(key, 'utf8').trim() : '(given image)', imageId: '(given)' };
  }
  return prepareImage(log);
});
const unpatchedOut = flag('no-unpatched') || params.unpatchedExps.length === 0 ? undefined : await phase('unpatched kernel', () => kernelOut(['--unpatched']));
if (flag('build-only')) {
  console.log(image.dir);
  process.exit(0);
}

// the guest's helpers: vkt (static, as the VM tier builds it), nginx's configuration, the sizes
const helpers = mkdtempSync(join(tmpdir(), 'vk-eval-'));
mkdirSync(out, { recursive: true });
const samples: Sample[] = [];
const infos: Info[] = [];
const incomplete: Boot[] = [];
try {
  execFileSync('gcc', ['-static', '-O2', '-Wall', '-pthread', '-o', join(helpers, 'vkt'), 'test/vm/guest/vkt.c'], { stdio: 'inherit' });
  copyFileSync('eval/nginx.conf', join(helpers, 'nginx.conf'));
  const boot = async (b: Boot, kernel?: string) => {
    writeFileSync(join(helpers, 'eval.env'), envFile(params, b === 'patched' ? params.exps : params.unpatchedExps, configs(smoke, b)));
    const timeout = Number(opt('timeout') ?? (smoke ? 900 : 5400));
    // with --deadline the limit is taken when the boot starts (after the lock): a small sh computes
    // it from numbers only and execs vm-boot.sh with the image directory as an argument
    const cmd = deadline === undefined ? ['scripts/vm-boot.sh', image.dir, 'eval/guest.sh', String(timeout)]
      : ['sh', '-c', 't=$(($3 - $(date +%s))); [ "$t" -ge 180 ] || { echo "VKEVALSKIP $t s left before the deadline"; exit 0; }; exec scripts/vm-boot.sh "$1" "$2" "$t"',
        'sh', image.dir, 'eval/guest.sh', String(deadline)];
    // with --lock the wait for the lock is not part of the boot's time limit (vm-boot.sh's own
    // timeout bounds qemu)
    const sub = execa(lock ? 'flock' : cmd[0], lock ? [lock, ...cmd] : cmd.slice(1), {
      // 4 GiB: the image's root (~660 MB) lives in the VM's RAM, and the deck's scene starts 20
      // containers with modules at once; at 3 GiB, after the 30 start-up rounds, the OOM killer took
      // dockerd during the scene (2026-12-03-full)
      env: { VKVM_EXTRA: helpers, VKVM_SMP: String(smp), VKVM_MEM: '4096', ...(kernel ? { VKVM_KERNEL: kernel } : {}) },
      all: true, reject: false, timeout: lock ? undefined : (timeout + 60) * 1000, maxBuffer: 256 * 1024 * 1024,
    });
    if (lock) log(`eval: ${b} boot waits for ${lock}`);
    // the console as it comes (tail -f it to follow a run), and whole at the end
    sub.all?.pipe(createWriteStream(join(out, `console-${b}.log`)));
    const r = await sub;
    const text = String(r.all);
    const c = parseConsole(b, text);
    if (!c.done && !c.samples.length && text.includes('VKEVALSKIP')) {
      incomplete.push(b);
      log(`eval: ${b} boot skipped: ${text.trim().split('\n').pop()}`);
      return;
    }
    if (!c.done) {
      if (!c.samples.length) throw new Error(`${b} boot: no VKEVALDONE (exit ${r.exitCode}); console tail:\n${text.slice(-3000)}`);
      incomplete.push(b);
      log(`eval: ${b} boot ended without VKEVALDONE (exit ${r.exitCode}): its report is incomplete`);
    }
    samples.push(...c.samples);
    infos.push(...c.infos);
    log(`eval: ${b} boot: ${c.samples.length} samples, guest uptime ${c.uptime ?? '?'} s`);
  };
  await phase('patched boot', () => boot('patched'));
  if (unpatchedOut) await phase('unpatched boot', () => boot('unpatched', join(unpatchedOut, 'bzImage')));
} finally {
  rmSync(helpers, { recursive: true, force: true });
}

seconds.total = (Date.now() - t0) / 1000;
const meta: Meta = {
  date, commit, smoke, smp, params: { ...params },
  kernels: { patched: image.kernelKey, unpatched: unpatchedOut ? unpatchedOut.split('/').pop() ?? '' : '(not booted)' },
  seconds, incomplete, command: `npm run eval${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
};
writeFileSync(join(out, 'samples.csv'), ['boot,experiment,config,param,rep,value', ...samples.map((s) => [s.boot, s.exp, s.cfg, s.param, s.rep, s.value].join(','))].join('\n') + '\n');
writeFileSync(join(out, 'samples.json'), JSON.stringify({ meta, samples, infos }, null, 1) + '\n');
await writeReport(out, samples, infos, meta);
log(`eval: ${out}/report.md (${samples.length} samples, ${Math.round(seconds.total)} s in all)`);
