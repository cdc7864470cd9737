import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/policy/config.js';

const file = (text: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'vk-cfg-')), 'config.yaml');
  writeFileSync(f, text);
  return f;
};

describe('runtime config file', () => {
  test('runc, defaults and rt settings', async () => {
    const c = await loadConfig(file('runc: /usr/sbin/runc\ndefaults:\n  io.vkernel.sched.policy: fifo\n  strict: false\nrt:\n  priority: 10\n  budget_percent: 40\n'));
    expect(c).toMatchObject({ runc: '/usr/sbin/runc', defaults: { 'io.vkernel.sched.policy': 'fifo', strict: false }, rt: { priority: 10, budgetPercent: 40 } });
  });

  test('no operator section: every source counts, tenants may set every key, built-in limits (RT 50 %, interval ≥ 100 ms)', async () => {
    const c = await loadConfig(file('runc: /usr/sbin/runc\n'));
    expect(c?.operator).toEqual({
      path: expect.stringMatching(/config\.yaml$/),
      sources: { annotations: true, env: true, runtimeArgs: true },
      tenantKeys: 'all', keys: {},
      limits: { rtBudgetPercent: 50, adaptiveIntervalMinMs: 100, modules: true, futexBucketsMax: undefined },
    });
    expect(c?.rt).toEqual({ priority: 1, budgetPercent: 25 });
  });

  test('an operator policy for a multi-tenant node', async () => {
    const c = await loadConfig(file([
      'sources:', '  env: false',
      'tenant_keys: listed',
      'keys:',
      '  sched.policy: {tenant: true, values: [cfs, adaptive]}',
      '  sched.adaptive.interval_ms: {tenant: true, min: 500}',
      '  module: {tenant: false}',
      'limits:', '  rt_budget_percent: 30', '  futex_buckets_max: 1024', '  adaptive_interval_min_ms: 250', '  modules: false', '',
    ].join('\n')));
    expect(c?.operator).toMatchObject({
      sources: { annotations: true, env: false, runtimeArgs: true },
      tenantKeys: 'listed',
      keys: { 'sched.policy': { tenant: true, values: ['cfs', 'adaptive'] }, 'sched.adaptive.interval_ms': { tenant: true, min: 500 }, module: { tenant: false } },
      limits: { rtBudgetPercent: 30, adaptiveIntervalMinMs: 250, modules: false, futexBucketsMax: 1024 },
    });
  });

  test('every problem of the file in one message, nothing half-read', async () => {
    await expect(loadConfig(file('limits:\n  modules: 1\n  rt_budget_percent: -1\nsources: []\n')))
      .rejects.toThrow(/: sources must be a mapping.*; limits\.rt_budget_percent must be .*; limits\.modules must be true or false/);
  });

  test('absent default file: no config; absent explicit file: error', async () => {
    const prev = process.env.VKERNEL_RUNTIME_CONFIG;
    delete process.env.VKERNEL_RUNTIME_CONFIG;
    try {
      await expect(loadConfig('/nonexistent/config.yaml')).rejects.toThrow('cannot read vkernel-runtime config /nonexistent/config.yaml');
    } finally {
      if (prev !== undefined) process.env.VKERNEL_RUNTIME_CONFIG = prev;
    }
  });

  test.each([
    ['runc: [a]\n', 'runc must be a path'],
    ['defaults: 3\n', 'defaults must be a mapping of io.vkernel.* keys to values'],
    ['colour: red\n', 'unknown key colour; allowed: runc, defaults, rt, sources, tenant_keys, keys, limits'],
    ['rt:\n  priority: 0\n', 'rt.priority must be an integer from 1 to 99'],
    ['rt:\n  budget_percent: 99\n', 'rt.budget_percent must be a number above 0 and at most 95'],
    ['rt:\n  burst: 1\n', 'rt: unknown key burst; allowed: priority, budget_percent'],
    ['runc: "unterminated\n', 'invalid YAML'],
    ['- a\n- b\n', 'the document must be a mapping with runc, defaults, rt, sources, tenant_keys, keys, limits'],
    // the operator policy
    ['sources:\n  env: off\n', 'sources.env must be true or false'],
    ['sources:\n  labels: true\n', 'sources: unknown key labels; allowed: annotations, env, runtime_args'],
    ['tenant_keys: some\n', 'tenant_keys must be all (tenants may set every key'],
    ['keys:\n  sched.polcy: {tenant: false}\n', 'keys: unknown key sched.polcy; allowed: sched.policy, '],
    ['keys:\n  sched.policy: {values: [cfs, fast]}\n', 'keys.sched.policy.values.1 must be one of a non-empty list of cfs, fifo, adaptive'],
    ['keys:\n  sched.policy: {values: []}\n', 'keys.sched.policy.values must be a non-empty list of cfs, fifo, adaptive'],
    ['keys:\n  sched.policy: {min: 1}\n', 'keys.sched.policy: unknown key min; allowed: tenant, values'],
    ['keys:\n  module: {values: [yes]}\n', 'keys.module.values.0 must be one of a non-empty list of true, false'],
    ['keys:\n  sched.adaptive.interval_ms: {min: 50}\n', 'keys.sched.adaptive.interval_ms.min must be an integer from 100 to 60000 (ms)'],
    ['keys:\n  sched.adaptive.cpu_high: {min: 90, max: 50}\n', 'keys.sched.adaptive.cpu_high: min (90) must not exceed max (50)'],
    ['limits:\n  rt_budget_percent: 120\n', 'limits.rt_budget_percent must be a number from 0 to 95 (percent of each CPU)'],
    ['limits:\n  adaptive_interval_min_ms: 10\n', 'limits.adaptive_interval_min_ms must be an integer from 100 to 60000'],
    ['limits:\n  futex_buckets_max: 8\n', 'limits.futex_buckets_max must be an integer from 16 to 65536'],
    ['limits:\n  modules: 1\n', 'limits.modules must be true or false'],
    ['limits:\n  cpus: 1\n', 'limits: unknown key cpus; allowed: rt_budget_percent, futex_buckets_max, adaptive_interval_min_ms, modules'],
    ['rt:\n  budget_percent: 40\nlimits:\n  rt_budget_percent: 30\n', 'rt.budget_percent (40) must not exceed limits.rt_budget_percent (30)'],
  ])('%j → %s', async (text, message) => {
    await expect(loadConfig(file(text))).rejects.toThrow(message);
  });
});

describe('parsed-config cache (issue 15: no YAML parser per engine call)', () => {
  const CACHE = 'config-cache.json';
  test('the first load parses and caches; a load of the same text reads the cache; any edit parses again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vk-cfgcache-'));
    const f = file('limits:\n  rt_budget_percent: 40\n');
    expect((await loadConfig(f, undefined, dir))?.operator.limits.rtBudgetPercent).toBe(40);
    const cached = JSON.parse(readFileSync(join(dir, CACHE), 'utf8'));
    expect(cached).toEqual({ version: 1, text: 'limits:\n  rt_budget_percent: 40\n', doc: { limits: { rt_budget_percent: 40 } } });
    // the cache is what counts for the same text (a doctored doc shows it was used, not the YAML)
    cached.doc.limits.rt_budget_percent = 30;
    writeFileSync(join(dir, CACHE), JSON.stringify(cached));
    expect((await loadConfig(f, undefined, dir))?.operator.limits.rtBudgetPercent).toBe(30);
    // an edit (same length even) is parsed from the file
    writeFileSync(f, 'limits:\n  rt_budget_percent: 45\n');
    expect((await loadConfig(f, undefined, dir))?.operator.limits.rtBudgetPercent).toBe(45);
    expect(JSON.parse(readFileSync(join(dir, CACHE), 'utf8')).doc).toEqual({ limits: { rt_budget_percent: 45 } });
  });

  test('a cached document is validated like a parsed one; garbage in the cache is ignored; .inf is not cached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vk-cfgcache-'));
    const text = 'limits:\n  rt_budget_percent: 40\n';
    writeFileSync(join(dir, CACHE), JSON.stringify({ version: 1, text, doc: { limits: { rt_budget_percent: -1 } } }));
    await expect(loadConfig(file(text), undefined, dir)).rejects.toThrow(/rt_budget_percent/);
    writeFileSync(join(dir, CACHE), '{not json');
    expect((await loadConfig(file(text), undefined, dir))?.operator.limits.rtBudgetPercent).toBe(40);
    const dir2 = mkdtempSync(join(tmpdir(), 'vk-cfgcache-'));
    await loadConfig(file('defaults:\n  io.vkernel.sched.adaptive.cpu_high: .inf\n'), undefined, dir2).catch(() => undefined);
    expect(existsSync(join(dir2, CACHE))).toBe(false);
  });
});
