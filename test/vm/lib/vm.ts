// VM test tier helpers: build (or reuse) the kernels with kernel/build.sh and
// boot them under qemu (TCG) through test/vm/run-vm.sh, parsing what the guest
// prints (conventions: test/vm/README.md "Guest script conventions"):
//   VKVM smp=<n> ...                      run-vm.sh, before qemu starts
//   VKBOOT uptime=<s> release=<r> cpus=<n> abi=<N|none>   guest /init at boot
//   VKTEST <name> PASS|FAIL <detail>      a check of a guest script
//   VKEND <script>                        the last line of each guest script
//   VKEXIT <script> rc=<n>                guest /init after each script
//   VKREPORT <kernel log line>            guest /init: the kernel's own reports (BUG, WARNING,
//                                         lockdep, KFENCE, ...) of the whole boot, with context
//   VKKLOG lines=<n>                      guest /init: it read the kernel log (n lines)
//   VKDONE uptime=<s>                     guest /init before poweroff
//
// The debug-kernel tier (issue 11): VKVM_KERNEL_CONFIG=debug builds and boots the patched kernel
// with kernel/config/variants/debug.config (lockdep, PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_LIST,
// KFENCE) instead, gives guests twice the time (guestTimeoutS), and any kernel report of a patched
// boot is then a failure of the run, with the report as the reason (`npm run test:kernel-debug`,
// kernel/debug-tier.sh). The unpatched kernel stays the ordinary one (it is the comparison, not
// what is debugged).
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { promisify } from 'node:util';
import * as path from 'node:path';

const execFileP = promisify(execFile);

export const repoRoot = process.cwd();
export const guestDir = path.join(repoRoot, 'test/vm/guest');
export const BUILD_TIMEOUT_MS = 20 * 60 * 1000;

/** the largest factor guestTimeoutS() applies */
export const MAX_TIMEOUT_SCALE = 3;

/**
 * The guest's time limit for a boot that takes `base` seconds at most on an idle machine. TCG runs
 * at the speed the host's CPUs leave it: on a machine busy with other work (1-minute load above its
 * CPU count when the boot starts) the limit grows with the load, up to MAX_TIMEOUT_SCALE times;
 * VKVM_TIMEOUT_SCALE sets the factor. A hung guest still fails, only later. The debug kernel
 * gets DEBUG_TIMEOUT_SCALE times the load's limit (not when VKVM_TIMEOUT_SCALE sets it).
 */
export function guestTimeoutS(base: number): number {
  const forced = Number(process.env.VKVM_TIMEOUT_SCALE);
  if (forced > 0) return Math.round(base * Math.min(MAX_TIMEOUT_SCALE, Math.max(1, forced)));
  const scale = loadavg()[0] / Math.max(1, cpus().length);
  return Math.round(base * Math.min(MAX_TIMEOUT_SCALE, Math.max(1, scale)) * (kernelConfig() === 'debug' ? DEBUG_TIMEOUT_SCALE : 1));
}

/**
 * With the debug kernel (VKVM_KERNEL_CONFIG=debug) the limit is this many times longer again:
 * lockdep and KFENCE slow every lock and allocation under TCG.
 */
export const DEBUG_TIMEOUT_SCALE = 2;

export type Variant = 'patched' | 'unpatched';

/** The config variant the patched kernel is built with (VKVM_KERNEL_CONFIG; '' = the ordinary one). */
export function kernelConfig(): string {
  const v = process.env.VKVM_KERNEL_CONFIG ?? '';
  if (v !== '' && !/^[a-z0-9-]+$/.test(v)) throw new Error(`VKVM_KERNEL_CONFIG: "${v}" is not a config variant name (kernel/config/variants/<name>.config)`);
  return v;
}

/** Whether kernel reports in a boot of this kernel fail the run: the debug kernel's boots. */
export function reportsFail(variant: Variant): boolean {
  return variant === 'patched' && kernelConfig() === 'debug';
}

export interface TestLine {
  status: 'PASS' | 'FAIL';
  detail: string;
}

export interface BootLine {
  release: string;
  cpus: number;
  /** /sys/kernel/vkernel/abi_version of the booted kernel, 'none' without it */
  abi: string;
}

export interface VmRun {
  variant?: Variant;
  /** the guest scripts (file names in test/vm/guest) this run was given */
  scripts?: string[];
  results: Map<string, TestLine>;
  /** VKTEST names printed more than once (the later line wins in results) */
  duplicates: string[];
  /** the VKBOOT line of the guest's /init */
  boot: BootLine | null;
  /** vCPUs run-vm.sh gave qemu (its `VKVM smp=` line) */
  smp: number | null;
  /** qemu's TCG threading run-vm.sh chose (`tcg=` of that line: single, multi or default) */
  tcg: string | null;
  /** the booted kernel's config has CONFIG_JUMP_LABEL=y (it patches its code at run time) */
  jumpLabels?: boolean;
  /** scripts that printed their completion line `VKEND <script>` */
  ends: Set<string>;
  /** exit status of each script, from /init's `VKEXIT <path> rc=<n>` */
  exits: Map<string, number>;
  /** guest uptime (s) when /init started the tests */
  bootSeconds: number | null;
  /** guest uptime (s) when the tests were done */
  doneSeconds: number | null;
  /** the VKREPORT lines of /init: kernel reports of the whole boot with their context */
  reports: string[];
  /** lines of the kernel log /init read for them (its VKKLOG line), null without that line */
  klogLines: number | null;
  /** host wall time of the whole qemu run */
  wallMs: number;
  exitCode: number | null;
  timedOut: boolean;
  log: string;
}

const built = new Map<Variant, Promise<string>>();

/** Run kernel/build.sh (cached: seconds when nothing changed); returns the output dir. */
export function buildKernel(variant: Variant): Promise<string> {
  let p = built.get(variant);
  if (!p) {
    const config = variant === 'patched' ? kernelConfig() : '';
    const args = ['kernel/build.sh', ...(variant === 'unpatched' ? ['--unpatched'] : []), ...(config ? ['--config', config] : [])];
    p = execFileP('bash', args, {
      cwd: repoRoot,
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    }).then(({ stdout }) => {
      const lines = stdout.trim().split('\n');
      return lines[lines.length - 1];
    });
    built.set(variant, p);
  }
  return p;
}

export type ParsedConsole = Pick<VmRun, 'results' | 'duplicates' | 'boot' | 'smp' | 'tcg' | 'ends' | 'exits' | 'bootSeconds' | 'doneSeconds' | 'reports' | 'klogLines'>;

/** Parse a serial console log. */
export function parseConsole(log: string): ParsedConsole {
  const results = new Map<string, TestLine>();
  const duplicates: string[] = [];
  const ends = new Set<string>();
  const exits = new Map<string, number>();
  let boot: BootLine | null = null;
  let smp: number | null = null;
  let tcg: string | null = null;
  let bootSeconds: number | null = null;
  let doneSeconds: number | null = null;
  const reports: string[] = [];
  let klogLines: number | null = null;
  for (const raw of log.split(/\r?\n/)) {
    // [\s\S]: the BIOS's escape codes may end in a lone \r before our marker on the same line
    const line = raw.replace(/^[\s\S]*?(VK(?:TEST|BOOT|DONE|END|EXIT|VM|REPORT|KLOG) )/, '$1');
    if (line.startsWith('VKREPORT ')) {
      reports.push(line.slice('VKREPORT '.length));
      continue;
    }
    let m = /^VKTEST (\S+) (PASS|FAIL) ?(.*)$/.exec(line);
    if (m) {
      if (results.has(m[1])) duplicates.push(m[1]);
      results.set(m[1], { status: m[2] as 'PASS' | 'FAIL', detail: m[3].trim() });
      continue;
    }
    m = /^VKBOOT uptime=([\d.]+) release=(\S*) cpus=(\d+) abi=(\S*)/.exec(line);
    if (m) {
      bootSeconds = Number(m[1]);
      boot = { release: m[2], cpus: Number(m[3]), abi: m[4] };
    }
    m = /^VKDONE uptime=([\d.]+)/.exec(line);
    if (m) doneSeconds = Number(m[1]);
    m = /^VKEND (\S+)\s*$/.exec(line);
    if (m) ends.add(m[1]);
    m = /^VKEXIT \S*?([^/\s]+) rc=(\d+)/.exec(line);
    if (m) exits.set(m[1], Number(m[2]));
    m = /^VKVM smp=(\d+)(?:.* tcg=(\S+))?/.exec(line);
    if (m) {
      smp = Number(m[1]);
      tcg = m[2] ?? null;
    }
    m = /^VKKLOG lines=(\d+)/.exec(line);
    if (m) klogLines = Number(m[1]);
  }
  return { results, duplicates, boot, smp, tcg, ends, exits, bootSeconds, doneSeconds, reports, klogLines };
}

/**
 * The ABI version the patched kernel must report: the last `#define VKERNEL_ABI_VERSION N` the
 * series in kernel/series adds (a bump in a later patch wins).
 */
export function expectedAbi(): string {
  const kernel = path.join(repoRoot, 'kernel');
  const series = readFileSync(path.join(kernel, 'series'), 'utf8').split('\n')
    .map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  let abi: string | undefined;
  for (const p of series) {
    for (const m of readFileSync(path.join(kernel, 'patches', p), 'utf8').matchAll(/^\+#define\s+VKERNEL_ABI_VERSION\s+(\d+)\b/gm)) abi = m[1];
  }
  if (abi === undefined) throw new Error('no "+#define VKERNEL_ABI_VERSION N" in the patches of kernel/series');
  return abi;
}

/** What a boot must report: the patched kernel the series' ABI, the unpatched one no vkernel at all. */
export function expectedBootAbi(variant: Variant): string {
  return variant === 'patched' ? expectedAbi() : 'none';
}

/**
 * What is wrong with a run as a run (not with the feature under test): it timed out or did not
 * finish, booted another kernel than expected or with another CPU count than run-vm.sh gave qemu,
 * a script did not print its completion line or exited non-zero, a check was printed twice.
 */
export function runProblems(run: VmRun, variant: Variant, scripts: string[]): string[] {
  const problems: string[] = [];
  if (run.timedOut) problems.push('qemu timed out');
  if (run.exitCode !== 0) problems.push(`run-vm.sh exited ${run.exitCode}`);
  if (!run.boot) problems.push('no VKBOOT line: the guest /init never ran');
  else {
    const want = expectedBootAbi(variant);
    if (run.boot.abi !== want) problems.push(`booted a kernel with abi=${run.boot.abi}, expected abi=${want} for the ${variant} kernel`);
    if (run.smp === null) problems.push('no "VKVM smp=" line from run-vm.sh');
    else if (run.boot.cpus !== run.smp) problems.push(`the guest sees ${run.boot.cpus} CPUs, qemu was given -smp ${run.smp}`);
    // such a kernel can die of QEMU 7.2's multi-threaded TCG, not of anything tested (run-vm.sh)
    if (run.jumpLabels && run.smp !== null && run.smp > 1 && run.tcg !== 'single') problems.push(`a kernel with jump labels booted with ${run.smp} vCPUs under TCG threading "${run.tcg}", not "single" (test/vm/run-vm.sh)`);
  }
  for (const s of scripts) {
    const name = path.basename(s);
    if (!run.ends.has(name)) problems.push(`${name} did not print its completion line "VKEND ${name}"`);
    const rc = run.exits.get(name);
    if (rc !== undefined && rc !== 0) problems.push(`${name} exited ${rc}`);
  }
  if (run.doneSeconds === null) problems.push('no VKDONE line: /init did not finish');
  for (const d of run.duplicates) problems.push(`VKTEST ${d} printed more than once`);
  if (reportsFail(variant)) problems.push(...kernelReports(run));
  return problems;
}

/** A kernel report line (the same patterns as guest/init.sh's, which reads the whole kernel log). */
export const REPORT_RE =
  /(^|[^A-Za-z])BUG[: ]|WARNING:|lockdep is turned off|lockdep:|circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|KFENCE:|KASAN:|UBSAN:|Oops|general protection fault|list_add corruption|list_del corruption|sleeping function called from invalid context|refcount_t:|Kernel panic/;

/**
 * The kernel's own reports in a run, each problem with the report as its reason: /init's VKREPORT
 * lines (the whole boot's kernel log), report lines the console showed outside our markers (a
 * report that killed the guest before /init could read the log), and a boot whose /init never
 * read the log (nothing proves there was no report).
 */
export function kernelReports(run: Pick<VmRun, 'reports' | 'klogLines' | 'log'>): string[] {
  const problems: string[] = [];
  if (run.reports.length) {
    const first = run.reports.filter((l) => REPORT_RE.test(l));
    problems.push(
      `kernel report(s) in the guest's kernel log: ${first.slice(0, 5).join(' | ')}\n--- report with context (VKREPORT lines) ---\n${run.reports.slice(0, 120).join('\n')}`,
    );
  }
  const console_ = run.log
    .split(/\r?\n/)
    .filter((l) => !/VK(?:TEST|BOOT|DONE|END|EXIT|VM|REPORT|KLOG|RUN) /.test(l) && REPORT_RE.test(l));
  if (console_.length && !run.reports.length) problems.push(`kernel report(s) on the console: ${console_.slice(0, 20).join('\n')}`);
  if (run.klogLines === null) problems.push('no VKKLOG line: /init never read the kernel log, so nothing shows the boot had no kernel report');
  return problems;
}

/** a file's text, '' when it cannot be read */
function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Boot `kdir`/bzImage with an initramfs holding the given guest scripts
 * (file names in test/vm/guest) and the test modules (source dirs relative to
 * the repo, built against the kernel's tree by run-vm.sh).  Always terminates: run-vm.sh kills qemu
 * after `timeoutS`, and we kill run-vm.sh a little later if needed.
 */
export function runVm(kdir: string, scripts: string[], timeoutS = 240, modules: string[] = []): Promise<VmRun> {
  for (const s of scripts) if (/\s/.test(s)) throw new Error(`guest script name with a space: ${s}`);
  const start = Date.now();
  const args = [kdir, String(timeoutS), ...scripts.map((s) => path.join(guestDir, s))];
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(repoRoot, 'test/vm/run-vm.sh'), ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, VKVM_MODULES: modules.join(' ') },
      detached: true,
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (log += d.toString('utf8')));
    let timedOut = false;
    const killer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, (timeoutS + 30) * 1000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({
        scripts,
        ...parseConsole(log),
        jumpLabels: /^CONFIG_JUMP_LABEL=y$/m.test(readOr(path.join(kdir, 'config'))),
        wallMs: Date.now() - start,
        exitCode: code,
        timedOut: timedOut || code === 124,
        log,
      });
    });
  });
}

/** Build both kernels and boot each with the scripts. */
export async function runBoth(scripts: string[], modules: string[] = []): Promise<Record<Variant, VmRun>> {
  const [p, u] = await Promise.all([buildKernel('patched'), buildKernel('unpatched')]);
  const patched = await runVm(p, scripts, guestTimeoutS(240), modules);
  const unpatched = await runVm(u, scripts, guestTimeoutS(240), modules);
  for (const [variant, run] of [
    ['patched', patched],
    ['unpatched', unpatched],
  ] as const) {
    run.variant = variant;
    // every check with its detail: the figures test/vm/README.md quotes come from these lines
    const summary = [...run.results].map(([n, r]) => `\n  ${n} ${r.status} ${r.detail}`).join('');
    // eslint-disable-next-line no-console
    console.log(
      `[vm ${variant}] ${scripts.join(',')}: ${run.boot ? `release ${run.boot.release} abi=${run.boot.abi} cpus=${run.boot.cpus}, ` : ''}` +
        `boot ${run.bootSeconds}s (guest), done ${run.doneSeconds}s, wall ${run.wallMs} ms, exit ${run.exitCode}, ` +
        `kernel log ${run.klogLines ?? '?'} lines, ${run.reports.length} report line(s)${reportsFail(variant) ? ' (debug kernel: a report fails the run)' : ''}; ${summary}` +
        (run.reports.length ? `\n  --- kernel reports ---\n  ${run.reports.slice(0, 60).join('\n  ')}` : ''),
    );
  }
  return { patched, unpatched };
}

/** Message for a failed expectation: the result detail and the console tail. */
export function explain(run: VmRun, name: string): string {
  const r = run.results.get(name);
  return `${run.variant} ${name}: ${r ? `${r.status} ${r.detail}` : 'missing'}\n--- console tail ---\n${run.log
    .split('\n')
    .slice(-40)
    .join('\n')}`;
}
