import { resolvePolicy, requestsFeature } from '../../src/policy/resolve.js';
import { PolicyError } from '../../src/policy/validate.js';
import { envName } from '../../src/policy/keys.js';
import { parseConfig } from '../../src/policy/config-parse.js';

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
      'io.vkernel.backend: "ebpf" is not one of auto, kernel, rt, scx (from config /c.yaml)'],
    ['integer above max', { annotations: { 'io.vkernel.sched.wakeup_granularity_ns': '2000000000' } },
      'io.vkernel.sched.wakeup_granularity_ns: "2000000000" is not an integer from 0 to 1000000000 (from annotation)'],
    ['negative integer', { annotations: { 'io.vkernel.mm.overcommit_ratio': '-1' } },
      'io.vkernel.mm.overcommit_ratio: "-1" is not an integer ≥ 0 (from annotation)'],
    ['not a number', { annotations: { 'io.vkernel.sched.adaptive.cpu_high': 'lots' } },
      'io.vkernel.sched.adaptive.cpu_high: "lots" is not a number from 0 to 100 (percent of one CPU) (from annotation)'],
    ['fraction for integer', { annotations: { 'io.vkernel.sched.adaptive.interval_ms': '1.5' } },
      'io.vkernel.sched.adaptive.interval_ms: "1.5" is not an integer from 100 to 60000 (ms) (from annotation)'],
    ['interval below the built-in floor', { annotations: { 'io.vkernel.sched.adaptive.interval_ms': '10' } },
      'io.vkernel.sched.adaptive.interval_ms: "10" is not an integer from 100 to 60000 (ms) (from annotation)'],
    ['boolean', { annotations: { 'io.vkernel.strict': 'yes' } },
      'io.vkernel.strict: "yes" is not one of true, false (from annotation)'],
    ['syscall list', { annotations: { 'io.vkernel.syscall.deny': 'mkdir;reboot' } },
      'io.vkernel.syscall.deny: "mkdir;reboot" is not comma-separated syscall names (e.g. mkdir,unshare) (from annotation)'],
    ['empty value', { annotations: { 'io.vkernel.mm.overcommit_memory': '' } },
      'io.vkernel.mm.overcommit_memory: "" is not one of 0, 1, 2 (from annotation)'],
    ['thresholds crossed', { annotations: { 'io.vkernel.sched.adaptive.cpu_low': '90', 'io.vkernel.sched.adaptive.cpu_high': '50' } },
      'io.vkernel.sched.adaptive.cpu_low (90, from annotation) must be below io.vkernel.sched.adaptive.cpu_high (50, from annotation)'],
    ['cpu thresholds equal', { annotations: { 'io.vkernel.sched.adaptive.cpu_low': '50', 'io.vkernel.sched.adaptive.cpu_high': '50' } },
      'io.vkernel.sched.adaptive.cpu_low (50, from annotation) must be below io.vkernel.sched.adaptive.cpu_high (50, from annotation)'],
    ['ctx thresholds crossed against a default', { env: ['VKERNEL_SCHED_ADAPTIVE_CTX_LOW=5000'] },
      'io.vkernel.sched.adaptive.ctx_low (5000, from env VKERNEL_SCHED_ADAPTIVE_CTX_LOW) must be below io.vkernel.sched.adaptive.ctx_high (1000, default)'],
    ['ctx thresholds equal', { annotations: { 'io.vkernel.sched.adaptive.ctx_low': '10', 'io.vkernel.sched.adaptive.ctx_high': '10' } },
      'io.vkernel.sched.adaptive.ctx_low (10, from annotation) must be below io.vkernel.sched.adaptive.ctx_high (10, from annotation)'],
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

describe('operator policy (config.yaml): sources, tenant keys, values, limits', () => {
  const operator = (doc: unknown) => parseConfig('/etc/vkernel-runtime/config.yaml', doc).operator;
  const refused = (inputs: Parameters<typeof resolvePolicy>[0]) => {
    try {
      resolvePolicy(inputs);
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      return (e as PolicyError).problems;
    }
    throw new Error('accepted');
  };

  test('a source switched off is ignored (with a line saying so); the others still count', () => {
    const op = operator({ sources: { env: false } });
    const r = resolvePolicy({ operator: op, env: ['VKERNEL_SCHED_POLICY=fifo', 'VKERNEL_NOT_A_KEY=1'], annotations: { 'io.vkernel.mm.thp': 'never' } });
    expect(r.policy).toEqual({ 'mm.thp': 'never' });
    expect(r.ignored).toEqual([
      'VKERNEL_SCHED_POLICY (process.env): ignored, not a policy source on this node (sources.env: false in /etc/vkernel-runtime/config.yaml)',
      'VKERNEL_NOT_A_KEY (process.env): ignored, not a policy source on this node (sources.env: false in /etc/vkernel-runtime/config.yaml)',
    ]);
    const a = resolvePolicy({ operator: operator({ sources: { annotations: false, runtime_args: false } }), annotations: { 'io.vkernel.sched.policy': 'fifo' }, sets: ['sched.policy=cfs'], env: ['VKERNEL_MM_THP=never'] });
    expect(a.policy).toEqual({ 'mm.thp': 'never' });
    expect(a.ignored).toEqual([
      '--vkernel-set sched.policy=cfs: ignored, not a policy source on this node (sources.runtime_args: false in /etc/vkernel-runtime/config.yaml)',
      'annotation io.vkernel.sched.policy: ignored, not a policy source on this node (sources.annotations: false in /etc/vkernel-runtime/config.yaml)',
    ]);
    // nothing off: nothing ignored
    expect(resolvePolicy({ env: ['VKERNEL_SCHED_POLICY=fifo'] }).ignored).toBeUndefined();
  });

  test('a key tenants may not set is refused from annotations and env, but the operator\'s own sources may set it', () => {
    const op = operator({ keys: { module: { tenant: false } } });
    expect(refused({ operator: op, annotations: { 'io.vkernel.module': 'true' } })).toEqual([
      'io.vkernel.module=true (from annotation): tenants may not set io.vkernel.module on this node (keys.module.tenant: false in /etc/vkernel-runtime/config.yaml)',
    ]);
    expect(refused({ operator: op, env: ['VKERNEL_MODULE=false'] })[0]).toMatch(/^io\.vkernel\.module=false \(from env VKERNEL_MODULE\): tenants may not set/);
    expect(resolvePolicy({ operator: op, sets: ['module=true'] }).policy.module).toBe(true);
    expect(resolvePolicy({ operator: op, config: { path: '/c', defaults: { module: true } } }).policy.module).toBe(true);
  });

  test('tenant_keys: listed — only keys with tenant: true', () => {
    const op = operator({ tenant_keys: 'listed', keys: { 'sched.policy': { tenant: true }, 'mm.thp': { values: ['never'] } } });
    expect(resolvePolicy({ operator: op, annotations: { 'io.vkernel.sched.policy': 'fifo' } }).policy['sched.policy']).toBe('fifo');
    expect(refused({ operator: op, annotations: { 'io.vkernel.mm.thp': 'never', 'io.vkernel.strict': 'false' } })).toEqual([
      'io.vkernel.mm.thp=never (from annotation): tenants may not set io.vkernel.mm.thp on this node (tenant_keys: listed, and keys.mm.thp does not say tenant: true in /etc/vkernel-runtime/config.yaml)',
      'io.vkernel.strict=false (from annotation): tenants may not set io.vkernel.strict on this node (tenant_keys: listed, and keys.strict does not say tenant: true in /etc/vkernel-runtime/config.yaml)',
    ]);
  });

  test('allowed values and ranges; strict=false does not bypass them', () => {
    const op = operator({ keys: { 'sched.policy': { values: ['cfs', 'adaptive'] }, 'sched.adaptive.interval_ms': { min: 500, max: 5000 }, strict: { values: [true] } } });
    expect(refused({ operator: op, annotations: { 'io.vkernel.sched.policy': 'fifo', 'io.vkernel.strict': 'false' } })).toEqual([
      'io.vkernel.sched.policy=fifo (from annotation): not allowed on this node; allowed: cfs, adaptive (keys.sched.policy.values in /etc/vkernel-runtime/config.yaml)',
      'io.vkernel.strict=false (from annotation): not allowed on this node; allowed: true (keys.strict.values in /etc/vkernel-runtime/config.yaml)',
    ]);
    expect(refused({ operator: op, annotations: { 'io.vkernel.sched.adaptive.interval_ms': '200' } })).toEqual([
      'io.vkernel.sched.adaptive.interval_ms=200 (from annotation): below this node\'s minimum 500 (keys.sched.adaptive.interval_ms.min in /etc/vkernel-runtime/config.yaml)',
    ]);
    expect(refused({ operator: op, env: ['VKERNEL_SCHED_ADAPTIVE_INTERVAL_MS=6000'] })[0]).toContain('above this node\'s maximum 5000');
    expect(resolvePolicy({ operator: op, annotations: { 'io.vkernel.sched.policy': 'adaptive', 'io.vkernel.sched.adaptive.interval_ms': '500' } }).policy)
      .toEqual({ 'sched.policy': 'adaptive', 'sched.adaptive.interval_ms': 500 });
  });

  test('limits apply to every source: modules, the adaptive interval floor', () => {
    const op = operator({ limits: { modules: false, adaptive_interval_min_ms: 300 } });
    expect(refused({ operator: op, sets: ['module=true', 'syscall.deny=mkdir'] })).toEqual([
      'io.vkernel.module=true (from --vkernel-set): per-container kernel modules are not allowed on this node (limits.modules: false in /etc/vkernel-runtime/config.yaml)',
      'io.vkernel.syscall.deny=mkdir (from --vkernel-set): per-container kernel modules are not allowed on this node (limits.modules: false in /etc/vkernel-runtime/config.yaml)',
    ]);
    expect(resolvePolicy({ operator: op, annotations: { 'io.vkernel.module': 'false' } }).policy.module).toBe(false);
    expect(refused({ operator: op, config: { path: '/c', defaults: { 'sched.adaptive.interval_ms': 200 } } })).toEqual([
      'io.vkernel.sched.adaptive.interval_ms=200 (from config /c): below this node\'s minimum adaptive interval 300 ms (limits.adaptive_interval_min_ms in /etc/vkernel-runtime/config.yaml)',
    ]);
  });

  test('an adaptive container without its own interval runs at the default, raised to the floor', () => {
    const r = resolvePolicy({ operator: operator({ limits: { adaptive_interval_min_ms: 2000 } }), annotations: { 'io.vkernel.sched.policy': 'adaptive' } });
    expect(r.policy['sched.adaptive.interval_ms']).toBe(2000);
    expect(r.sources['sched.adaptive.interval_ms']).toBe('limits.adaptive_interval_min_ms in /etc/vkernel-runtime/config.yaml');
    expect(resolvePolicy({ annotations: { 'io.vkernel.sched.policy': 'adaptive' } }).policy['sched.adaptive.interval_ms']).toBeUndefined();
  });
});
