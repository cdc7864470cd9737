import { checkProblems, undeclared, type Check } from '../vm/lib/feature.js';
import { DEBUG_TIMEOUT_SCALE, expectedAbi, guestTimeoutS, MAX_TIMEOUT_SCALE, parseConsole, REPORT_RE, runProblems, type VmRun } from '../vm/lib/vm.js';

/**
 * The VM tier's judge of a run (test/vm/lib): given console text, it must fail a run that skipped,
 * died, booted the wrong kernel, or reported a feature check as absent, and pass only a complete one.
 * (The console here is text written for the parser; the VM tier itself boots the real kernels.)
 */
const abi = expectedAbi();

function console_(o: { abi?: string; cpus?: number; smp?: number; tcg?: string; lines?: string[]; ends?: string[]; done?: boolean } = {}): string {
  return [
    `VKVM smp=${o.smp ?? 2} cpu=qemu64 icount=off tcg=${o.tcg ?? 'default'} kernel=/k/bzImage scripts=a.sh,`,
    '[    0.5] some kernel line',
    `VKBOOT uptime=1.52 release=6.1.192 cpus=${o.cpus ?? 2} abi=${o.abi ?? abi}\r`,
    'VKRUN /tests/a.sh',
    ...(o.lines ?? ['VKTEST a.one PASS x=1', 'VKTEST a.two FAIL x=2']),
    ...(o.ends ?? ['a.sh']).map((s) => `VKEND ${s}`),
    'VKEXIT /tests/a.sh rc=0',
    ...(o.done === false ? [] : ['VKDONE uptime=3.01']),
  ].join('\n');
}

function run(text: string, variant: 'patched' | 'unpatched' = 'patched'): VmRun {
  return { variant, ...parseConsole(text), wallMs: 1, exitCode: 0, timedOut: false, log: text };
}

test('expectedAbi reads the version the series defines', () => {
  expect(abi).toMatch(/^\d+$/);
});

test('a complete run of the expected kernel has no problems', () => {
  const r = run(console_());
  expect(r.boot).toEqual({ release: '6.1.192', cpus: 2, abi });
  expect(r.results.get('a.two')).toEqual({ status: 'FAIL', detail: 'x=2' });
  expect(runProblems(r, 'patched', ['a.sh'])).toEqual([]);
  expect(runProblems(run(console_({ abi: 'none' }), 'unpatched'), 'unpatched', ['a.sh'])).toEqual([]);
});

test.each([
  ['the unpatched kernel booted where the patched one was meant', console_({ abi: 'none' }), 'patched', /abi=none, expected abi=/],
  ['the patched kernel booted where the unpatched one was meant', console_(), 'unpatched', new RegExp(`abi=${abi}, expected abi=none`)],
  ['another ABI', console_({ abi: String(Number(abi) + 1) }), 'patched', /expected abi=/],
  ['a script that did not print its completion line', console_({ ends: [] }), 'patched', /a\.sh did not print its completion line/],
  ['a completion line of another script only', console_({ ends: ['b.sh'] }), 'patched', /a\.sh did not print/],
  ['/init that did not finish', console_({ done: false }), 'patched', /no VKDONE/],
  ['fewer CPUs than qemu was given', console_({ smp: 4, cpus: 1 }), 'patched', /sees 1 CPUs, qemu was given -smp 4/],
  ['a check printed twice', console_({ lines: ['VKTEST a.one PASS', 'VKTEST a.one FAIL'] }), 'patched', /a\.one printed more than once/],
  ['no boot line', 'VKDONE uptime=1', 'patched', /no VKBOOT/],
] as const)('a run is a failure: %s', (_what, text, variant, problem) => {
  expect(runProblems(run(text, variant), variant, ['a.sh']).join('\n')).toMatch(problem);
});

test('a kernel with jump labels (Debian\'s) on 2 vCPUs must have booted under single-threaded TCG (run-vm.sh)', () => {
  const single = run(console_({ tcg: 'single' }));
  expect(single.tcg).toBe('single');
  expect(runProblems({ ...single, jumpLabels: true }, 'patched', ['a.sh'])).toEqual([]);
  for (const tcg of ['default', 'multi']) {
    expect(runProblems({ ...run(console_({ tcg })), jumpLabels: true }, 'patched', ['a.sh']).join('\n')).toMatch(new RegExp(`jump labels booted with 2 vCPUs under TCG threading "${tcg}"`));
  }
  // our own kernels (no jump labels) keep qemu's default; one vCPU has no other to race with
  expect(runProblems(run(console_()), 'patched', ['a.sh'])).toEqual([]);
  expect(runProblems({ ...run(console_({ smp: 1, cpus: 1 })), jumpLabels: true }, 'patched', ['a.sh'])).toEqual([]);
});

test('a script that exited non-zero, a timeout and a qemu failure are problems', () => {
  const r = run(console_().replace('rc=0', 'rc=2'));
  expect(runProblems(r, 'patched', ['a.sh'])).toEqual(['a.sh exited 2']);
  expect(runProblems({ ...run(console_()), timedOut: true, exitCode: 124 }, 'patched', ['a.sh'])).toEqual(['qemu timed out', 'run-vm.sh exited 124']);
});

describe('checks', () => {
  const feature: Check = { name: 'a.one', title: 'one' };
  const control: Check = { name: 'a.one', title: 'one', failsUnpatched: false };
  const both = (p: string[], u: string[]) => ({ patched: run(console_({ lines: p })), unpatched: run(console_({ abi: 'none', lines: u }), 'unpatched') });

  test('a feature check: PASS on the patched kernel, FAIL with a reason on the unpatched one', () => {
    expect(checkProblems(both(['VKTEST a.one PASS ok'], ['VKTEST a.one FAIL no file']), feature)).toEqual([]);
  });

  test.each([
    ['absent on the unpatched kernel', ['VKTEST a.one PASS ok'], [], /absent on the unpatched kernel/],
    ['absent on the patched kernel', [], ['VKTEST a.one FAIL no file'], /absent on the patched kernel/],
    ['FAIL on the patched kernel', ['VKTEST a.one FAIL broken'], ['VKTEST a.one FAIL no file'], /patched a\.one: FAIL broken/],
    ['PASS on the unpatched kernel', ['VKTEST a.one PASS ok'], ['VKTEST a.one PASS ok'], /passes on the unpatched kernel too/],
    ['FAIL without a reason on the unpatched kernel', ['VKTEST a.one PASS ok'], ['VKTEST a.one FAIL'], /FAIL without a reason/],
  ])('a feature check fails when %s', (_what, p, u, problem) => {
    expect(checkProblems(both(p, u), feature).join('\n')).toMatch(problem);
  });

  test('a control must PASS on both kernels', () => {
    expect(checkProblems(both(['VKTEST a.one PASS ok'], ['VKTEST a.one PASS ok']), control)).toEqual([]);
    expect(checkProblems(both(['VKTEST a.one PASS ok'], ['VKTEST a.one FAIL x']), control).join('\n')).toMatch(/control fails on the unpatched kernel/);
    expect(checkProblems(both(['VKTEST a.one PASS ok'], []), control).join('\n')).toMatch(/absent on the unpatched kernel/);
  });

  test('a check the suite does not list is reported', () => {
    expect(undeclared(run(console_()), [feature])).toEqual(['VKTEST a.two FAIL x=2']);
    expect(undeclared(run(console_()), [feature, { name: 'a.two', title: 'two' }])).toEqual([]);
  });
});

describe('kernel reports (the debug-kernel tier, VKVM_KERNEL_CONFIG=debug)', () => {
  const saved = process.env.VKVM_KERNEL_CONFIG;
  afterEach(() => {
    if (saved === undefined) delete process.env.VKVM_KERNEL_CONFIG;
    else process.env.VKVM_KERNEL_CONFIG = saved;
  });
  const lockdep = [
    'VKREPORT [   12.5] WARNING: possible circular locking dependency detected',
    'VKREPORT [   12.5] 6.1.192 #1 Not tainted',
    'VKREPORT [   12.5] vkt/123 is trying to acquire lock:',
  ];
  const withKlog = (extra: string[]) => console_().replace('VKDONE', [...extra, 'VKKLOG lines=812', 'VKDONE'].join('\n'));

  test('/init\'s VKREPORT and VKKLOG lines are parsed', () => {
    const r = run(withKlog(lockdep));
    expect(r.reports).toEqual(lockdep.map((l) => l.slice('VKREPORT '.length)));
    expect(r.klogLines).toBe(812);
    expect(run(console_()).klogLines).toBeNull();
  });

  test('with the debug kernel a report fails a patched run, with the report as the reason', () => {
    process.env.VKVM_KERNEL_CONFIG = 'debug';
    expect(runProblems(run(withKlog([])), 'patched', ['a.sh'])).toEqual([]);
    const p = runProblems(run(withKlog(lockdep)), 'patched', ['a.sh']).join('\n');
    expect(p).toMatch(/kernel report\(s\) in the guest's kernel log: \[ +12\.5\] WARNING: possible circular locking dependency detected/);
    expect(p).toMatch(/vkt\/123 is trying to acquire lock/);
    // the unpatched kernel is the ordinary one: its reports are not judged
    expect(runProblems(run(withKlog(lockdep).replace(`abi=${abi}`, 'abi=none'), 'unpatched'), 'unpatched', ['a.sh'])).toEqual([]);
  });

  test('with the debug kernel a boot whose /init never read the log, or a report on the console, fails', () => {
    process.env.VKVM_KERNEL_CONFIG = 'debug';
    expect(runProblems(run(console_()), 'patched', ['a.sh']).join('\n')).toMatch(/no VKKLOG line/);
    const oops = withKlog([]).replace('VKRUN', '[   40.1] BUG: kernel NULL pointer dereference, address: 0000000000000008\nVKRUN');
    expect(runProblems(run(oops), 'patched', ['a.sh']).join('\n')).toMatch(/kernel report\(s\) on the console: .*BUG: kernel NULL pointer dereference/);
    // a check's own detail that quotes a report is the check's business, not a console report
    expect(runProblems(run(withKlog(['VKTEST a.three FAIL dmesg: WARNING: x'])), 'patched', ['a.sh'])).toEqual([]);
  });

  test('without the debug kernel reports are printed but do not fail the run', () => {
    delete process.env.VKVM_KERNEL_CONFIG;
    expect(runProblems(run(withKlog(lockdep)), 'patched', ['a.sh'])).toEqual([]);
  });

  test('DEBUG in a boot line is not a BUG report', () => {
    expect(REPORT_RE.test('[    0.0] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar')).toBe(false);
    expect(REPORT_RE.test('[    0.0] This is a DEBUG kernel build')).toBe(false);
    expect(REPORT_RE.test('[    0.0] BUG: KFENCE: out-of-bounds read in x+0x1/0x2')).toBe(true);
    expect(REPORT_RE.test('[    0.0] kfence: initialized - using 2097152 bytes for 255 objects')).toBe(false);
    // the boot banners of the debug kernel
    expect(REPORT_RE.test('[    0.0] \tRCU lockdep checking is enabled.')).toBe(false);
    expect(REPORT_RE.test('[    0.0] ... MAX_LOCKDEP_SUBCLASSES:  8')).toBe(false);
    expect(REPORT_RE.test('[    9.0] INFO: lockdep is turned off.')).toBe(true);
    expect(REPORT_RE.test('[    9.0] WARNING: possible recursive locking detected')).toBe(true);
  });
});

describe('guest time limit', () => {
  const saved = process.env.VKVM_TIMEOUT_SCALE;
  afterEach(() => {
    if (saved === undefined) delete process.env.VKVM_TIMEOUT_SCALE;
    else process.env.VKVM_TIMEOUT_SCALE = saved;
  });
  test('grows with the factor, never below the idle limit nor above the cap', () => {
    process.env.VKVM_TIMEOUT_SCALE = '2';
    expect(guestTimeoutS(240)).toBe(480);
    process.env.VKVM_TIMEOUT_SCALE = '0.5';
    expect(guestTimeoutS(240)).toBe(240);
    process.env.VKVM_TIMEOUT_SCALE = '100';
    expect(guestTimeoutS(240)).toBe(240 * MAX_TIMEOUT_SCALE);
  });
  test('the debug kernel gets DEBUG_TIMEOUT_SCALE times the limit the load gives', () => {
    const cfg = process.env.VKVM_KERNEL_CONFIG;
    try {
      delete process.env.VKVM_TIMEOUT_SCALE;
      delete process.env.VKVM_KERNEL_CONFIG;
      const plain = guestTimeoutS(240);
      process.env.VKVM_KERNEL_CONFIG = 'debug';
      const debug = guestTimeoutS(240);
      // the load may change between the two reads: compare the factors' bounds
      expect(debug).toBeGreaterThanOrEqual(240 * DEBUG_TIMEOUT_SCALE);
      expect(debug).toBeLessThanOrEqual(240 * MAX_TIMEOUT_SCALE * DEBUG_TIMEOUT_SCALE);
      expect(plain).toBeLessThanOrEqual(240 * MAX_TIMEOUT_SCALE);
    } finally {
      if (cfg === undefined) delete process.env.VKVM_KERNEL_CONFIG;
      else process.env.VKVM_KERNEL_CONFIG = cfg;
    }
  });
});
