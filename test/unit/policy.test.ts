import { resolvePolicy, requestsFeature } from '../../src/policy/resolve.js';
import { PolicyError } from '../../src/policy/validate.js';
import { envName } from '../../src/policy/keys.js';

describe('precedence: annotation > env > --vkernel-set > config > defaults', () => {
  const config = { path: '/etc/vkernel-runtime/config.yaml', defaults: { 'io.vkernel.sched.policy': 'cfs', 'sched.adaptive.interval_ms': 500, strict: false } };

  test('each source overrides the ones below it', () => {
    expect(resolvePolicy({ config }).policy['sched.policy']).toBe('cfs');
    expect(resolvePolicy({ config, sets: ['sched.policy=adaptive'] }).policy['sched.policy']).toBe('adaptive');
    expect(resolvePolicy({ config, sets: ['sched.policy=adaptive'], env: ['VKERNEL_SCHED_POLICY=fifo'] }).policy['sched.policy']).toBe('fifo');
    const all = resolvePolicy({
      config, sets: ['io.vkernel.sched.policy=adaptive'], env: ['PATH=/bin', 'VKERNEL_SCHED_POLICY=fifo'],
      annotations: { 'io.vkernel.sched.policy': 'cfs', 'org.other': 'x' },
    });
    expect(all.policy['sched.policy']).toBe('cfs');
    expect(all.sources['sched.policy']).toBe('annotation');
    // untouched lower-precedence values survive, typed
    expect(all.policy['sched.adaptive.interval_ms']).toBe(500);
    expect(all.policy.strict).toBe(false);
    expect(all.sources.strict).toBe('config /etc/vkernel-runtime/config.yaml');
  });

  test('later --vkernel-set wins over earlier', () => {
    expect(resolvePolicy({ sets: ['sched.policy=cfs', 'sched.policy=fifo'] }).policy['sched.policy']).toBe('fifo');
  });

  test('env names derive from keys', () => {
    expect(envName('sched.wakeup_granularity_ns')).toBe('VKERNEL_SCHED_WAKEUP_GRANULARITY_NS');
    const r = resolvePolicy({ env: ['VKERNEL_SCHED_WAKEUP_GRANULARITY_NS=3000000', 'VKERNEL_MM_THP=never'] });
    expect(r.policy).toEqual({ 'sched.wakeup_granularity_ns': 3000000, 'mm.thp': 'never' });
  });

  test('no request means pure runc', () => {
    expect(requestsFeature(resolvePolicy({}).policy)).toBe(false);
    expect(requestsFeature(resolvePolicy({ annotations: { 'io.vkernel.strict': 'false', 'io.vkernel.backend': 'rt' } }).policy)).toBe(false);
    expect(requestsFeature(resolvePolicy({ annotations: { 'io.vkernel.module': 'false' } }).policy)).toBe(false);
    expect(requestsFeature(resolvePolicy({ annotations: { 'io.vkernel.module': 'true' } }).policy)).toBe(true);
    expect(requestsFeature(resolvePolicy({ env: ['VKERNEL_SCHED_POLICY=cfs'] }).policy)).toBe(true);
  });
});

describe('bad input → exact messages', () => {
  const bad: [string, Parameters<typeof resolvePolicy>[0], string][] = [
    ['enum', { annotations: { 'io.vkernel.sched.policy': 'fast' } },
      'io.vkernel.sched.policy: "fast" is not one of cfs, fifo, adaptive (from annotation)'],
    ['enum via env', { env: ['VKERNEL_SCHED_POLICY=rr'] },
      'io.vkernel.sched.policy: "rr" is not one of cfs, fifo, adaptive (from env VKERNEL_SCHED_POLICY)'],
    ['enum via --vkernel-set', { sets: ['mm.thp=sometimes'] },
      'io.vkernel.mm.thp: "sometimes" is not one of always, madvise, never (from --vkernel-set)'],
    ['enum via config', { config: { path: '/c.yaml', defaults: { 'io.vkernel.backend': 'ebpf' } } },
      'io.vkernel.backend: "ebpf" is not one of auto, kernel, rt (from config /c.yaml)'],
    ['integer above max', { annotations: { 'io.vkernel.sched.wakeup_granularity_ns': '2000000000' } },
      'io.vkernel.sched.wakeup_granularity_ns: "2000000000" is not an integer from 0 to 1000000000 (from annotation)'],
    ['negative integer', { annotations: { 'io.vkernel.mm.overcommit_ratio': '-1' } },
      'io.vkernel.mm.overcommit_ratio: "-1" is not an integer ≥ 0 (from annotation)'],
    ['not a number', { annotations: { 'io.vkernel.sched.adaptive.cpu_high': 'lots' } },
      'io.vkernel.sched.adaptive.cpu_high: "lots" is not a number from 0 to 100 (percent of one CPU) (from annotation)'],
    ['fraction for integer', { annotations: { 'io.vkernel.sched.adaptive.interval_ms': '1.5' } },
      'io.vkernel.sched.adaptive.interval_ms: "1.5" is not an integer from 10 to 60000 (from annotation)'],
    ['boolean', { annotations: { 'io.vkernel.strict': 'yes' } },
      'io.vkernel.strict: "yes" is not one of true, false (from annotation)'],
    ['syscall list', { annotations: { 'io.vkernel.syscall.deny': 'mkdir;reboot' } },
      'io.vkernel.syscall.deny: "mkdir;reboot" is not comma-separated syscall names (e.g. mkdir,unshare) (from annotation)'],
    ['empty value', { annotations: { 'io.vkernel.mm.overcommit_memory': '' } },
      'io.vkernel.mm.overcommit_memory: "" is not one of 0, 1, 2 (from annotation)'],
    ['thresholds crossed', { annotations: { 'io.vkernel.sched.adaptive.cpu_low': '90', 'io.vkernel.sched.adaptive.cpu_high': '50' } },
      'io.vkernel.sched.adaptive.cpu_low (90) must not exceed io.vkernel.sched.adaptive.cpu_high (50)'],
    ['bad --vkernel-set', { sets: ['fifo'] }, '--vkernel-set "fifo": expected key=value, e.g. --vkernel-set sched.policy=fifo'],
  ];
  test.each(bad)('%s', (_name, inputs, message) => {
    expect(() => resolvePolicy(inputs)).toThrow(PolicyError);
    expect(() => resolvePolicy(inputs)).toThrow(message);
  });

  test('unknown keys are errors, whatever the source', () => {
    expect(() => resolvePolicy({ annotations: { 'io.vkernel.sched.polcy': 'fifo' } }))
      .toThrow(/^io\.vkernel\.sched\.polcy: unknown key \(from annotation\); known keys: io\.vkernel\.sched\.policy, /);
    expect(() => resolvePolicy({ env: ['VKERNEL_SCHED_POLCY=fifo'] }))
      .toThrow(/^VKERNEL_SCHED_POLCY \(process\.env\): unknown vkernel variable; known: VKERNEL_SCHED_POLICY, /);
    expect(() => resolvePolicy({ sets: ['nope=1'] })).toThrow(/^io\.vkernel\.nope: unknown key \(from --vkernel-set\)/);
  });

  test('all problems are reported at once', () => {
    try {
      resolvePolicy({ annotations: { 'io.vkernel.sched.policy': 'x', 'io.vkernel.mm.thp': 'y' } });
      throw new Error('no error');
    } catch (e) {
      expect((e as PolicyError).problems).toHaveLength(2);
    }
  });
});
