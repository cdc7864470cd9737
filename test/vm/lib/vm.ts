// VM test tier helpers: build (or reuse) the kernels with kernel/build.sh and
// boot them under qemu (TCG) through test/vm/run-vm.sh, parsing the
// `VKTEST <name> PASS|FAIL <detail>` lines the guest scripts print.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import * as path from 'node:path';

const execFileP = promisify(execFile);

export const repoRoot = process.cwd();
export const guestDir = path.join(repoRoot, 'test/vm/guest');
export const BUILD_TIMEOUT_MS = 20 * 60 * 1000;

export type Variant = 'patched' | 'unpatched';

export interface TestLine {
  status: 'PASS' | 'FAIL';
  detail: string;
}

export interface VmRun {
  variant?: Variant;
  results: Map<string, TestLine>;
  /** guest uptime (s) when /init started the tests */
  bootSeconds: number | null;
  /** guest uptime (s) when the tests were done */
  doneSeconds: number | null;
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
    const args = ['kernel/build.sh', ...(variant === 'unpatched' ? ['--unpatched'] : [])];
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

/** Parse a serial console log. */
export function parseConsole(log: string): Pick<VmRun, 'results' | 'bootSeconds' | 'doneSeconds'> {
  const results = new Map<string, TestLine>();
  let bootSeconds: number | null = null;
  let doneSeconds: number | null = null;
  for (const raw of log.split(/\r?\n/)) {
    const line = raw.replace(/^.*?(VK(?:TEST|BOOT|DONE) )/, '$1');
    let m = /^VKTEST (\S+) (PASS|FAIL) ?(.*)$/.exec(line);
    if (m) {
      results.set(m[1], { status: m[2] as 'PASS' | 'FAIL', detail: m[3] });
      continue;
    }
    m = /^VKBOOT uptime=([\d.]+)/.exec(line);
    if (m) bootSeconds = Number(m[1]);
    m = /^VKDONE uptime=([\d.]+)/.exec(line);
    if (m) doneSeconds = Number(m[1]);
  }
  return { results, bootSeconds, doneSeconds };
}

/**
 * Boot `kdir`/bzImage with an initramfs holding the given guest scripts
 * (file names in test/vm/guest) and the test modules (source dirs relative to
 * the repo, built against the kernel's tree by run-vm.sh).  Always terminates: run-vm.sh kills qemu
 * after `timeoutS`, and we kill run-vm.sh a little later if needed.
 */
export function runVm(kdir: string, scripts: string[], timeoutS = 240, modules: string[] = []): Promise<VmRun> {
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
        ...parseConsole(log),
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
  const patched = await runVm(p, scripts, 240, modules);
  const unpatched = await runVm(u, scripts, 240, modules);
  for (const [variant, run] of [
    ['patched', patched],
    ['unpatched', unpatched],
  ] as const) {
    run.variant = variant;
    const summary = [...run.results].map(([n, r]) => `${n}=${r.status}`).join(' ');
    // eslint-disable-next-line no-console
    console.log(
      `[vm ${variant}] ${scripts.join(',')}: boot ${run.bootSeconds}s (guest), ` +
        `done ${run.doneSeconds}s, wall ${run.wallMs} ms, exit ${run.exitCode}; ${summary}`,
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
