// io.vkernel.fs.rules (issue 14 §4): the grammar, validation before any side effect, the module
// parameter it becomes, and the kernel feature it needs (fs_rules, kernel patch 0015).
import { resolvePolicy } from '../../src/policy/resolve.js';
import { parseConfig } from '../../src/policy/config-parse.js';
import { KEY_BY_NAME } from '../../src/policy/keys.js';
import { FS_FEATURE, MAX_FS_RULES, parseFsRules, parseRules, rulesFeatures, rulesParams } from '../../src/module/rules.js';
import { moduleApplier } from '../../src/lifecycle/appliers/module.js';
import { checkContext as check, problems, vkernelProbe as probe } from './lib/module-rules.js';

describe('io.vkernel.fs.rules: grammar and validation', () => {
  test.each([
    ['deny-read:etc/shadow'],
    ['read:/etc/shadow'],
    ['deny-write:/proc/sys kernel'],
    ['deny-write:/a;/b'],
    ['deny-read:/etc/shadow,'],
    ['deny-read:'],
  ])('%s is refused by the schema, naming the key and the grammar', (value) => {
    const p = problems({ 'io.vkernel.fs.rules': value });
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(`io.vkernel.fs.rules: ${JSON.stringify(value)} is not comma-separated rules deny-read:PATH, deny-write:PATH or deny-rw:PATH`);
  });

  test('good values pass, from annotations and env', () => {
    expect(resolvePolicy({ annotations: { 'io.vkernel.fs.rules': 'deny-write:/proc/sys/kernel,deny-read:/etc/shadow' } }).policy)
      .toEqual({ 'fs.rules': 'deny-write:/proc/sys/kernel,deny-read:/etc/shadow' });
    expect(resolvePolicy({ env: ['VKERNEL_FS_RULES=deny-rw:/'] }).policy).toEqual({ 'fs.rules': 'deny-rw:/' });
  });

  test('parsing: the kinds, . and .. refused, duplicates merged, at most 32 rules', () => {
    expect(parseFsRules(undefined)).toBeUndefined();
    expect(parseFsRules('deny-write:/proc/sys/kernel,deny-read:/etc/shadow,deny-rw:/srv/x,deny-write:/etc/shadow')).toEqual([
      { path: '/proc/sys/kernel', deny: 'w' },
      { path: '/etc/shadow', deny: 'rw' },
      { path: '/srv/x', deny: 'rw' },
    ]);
    expect(() => parseFsRules('deny-read:/etc/../etc/shadow')).toThrow('io.vkernel.fs.rules: "/etc/../etc/shadow" has a . or .. component');
    expect(() => parseFsRules('deny-read:/etc/./shadow')).toThrow('has a . or .. component');
    expect(() => parseFsRules('deny-read://etc')).toThrow('"//etc" is not an absolute path without empty components');
    expect(() => parseFsRules('deny-read:/etc/')).toThrow('is not an absolute path without empty components');
    expect(() => parseFsRules(Array.from({ length: MAX_FS_RULES + 1 }, (_, i) => `deny-read:/r${i}`).join(','))).toThrow(`${MAX_FS_RULES + 1} rules; at most ${MAX_FS_RULES}`);
    expect(() => parseFsRules(`deny-read:/${'a'.repeat(256)}`)).toThrow('longer than 255 characters');
  });

  test('module parameter fs_rules (r:, w:, rw:), within the kernel\'s 1024-character limit of a string parameter', () => {
    expect(rulesParams(parseRules({ 'fs.rules': 'deny-write:/proc/sys/kernel,deny-read:/etc/shadow' }))).toEqual(['fs_rules=w:/proc/sys/kernel,r:/etc/shadow']);
    expect(rulesParams(parseRules({}))).toEqual([]);
    const long = Array.from({ length: 8 }, (_, i) => `deny-read:/${String(i).repeat(150)}`).join(',');
    expect(() => parseFsRules(long)).toThrow('the rules take more than 1000 characters');
  });

  test('the feature word and the key in features', () => {
    expect(FS_FEATURE).toBe('fs_rules');
    expect(rulesFeatures(parseRules({ 'fs.rules': 'deny-read:/etc/shadow' }))).toEqual([FS_FEATURE]);
    expect(KEY_BY_NAME.get('fs.rules')?.allowed).toContain('deny-read:PATH');
  });

  test('the operator: limits.modules: false refuses it, keys.fs.rules.tenant: false keeps it the operator\'s', () => {
    const op = parseConfig('/etc/vkernel-runtime/config.yaml', { keys: { 'fs.rules': { tenant: false } }, limits: { modules: false } }).operator;
    expect(problems({ 'io.vkernel.fs.rules': 'deny-read:/etc/shadow' }, op)).toEqual([
      'io.vkernel.fs.rules=deny-read:/etc/shadow (from annotation): tenants may not set io.vkernel.fs.rules on this node (keys.fs.rules.tenant: false in /etc/vkernel-runtime/config.yaml)',
      'io.vkernel.fs.rules=deny-read:/etc/shadow (from annotation): per-container kernel modules are not allowed on this node (limits.modules: false in /etc/vkernel-runtime/config.yaml)',
    ]);
  });
});

describe('io.vkernel.fs.rules: the module applier', () => {
  test('requests the module; a kernel without fs_rules refuses it before any side effect, naming the key', () => {
    expect(moduleApplier.keys).toContain('fs.rules');
    expect(moduleApplier.requested({ 'fs.rules': 'deny-read:/etc/shadow' })).toBe(true);
    const base = ['syscall_table', 'futex_table', 'syscall_args', 'caps_max'];
    expect(moduleApplier.unsupported({ 'fs.rules': 'deny-read:/etc/shadow' }, probe(base)))
      .toMatch(/lacks the fs_rules feature .*io\.vkernel\.fs\.rules \(kernel-enforced file and directory rules\)/);
    expect(moduleApplier.unsupported({ 'fs.rules': 'deny-read:/etc/shadow' }, probe([...base, 'fs_rules']))).toBeUndefined();
  });

  test('check refuses a bad value past the schema (config file) and a container without its own pid namespace', () => {
    expect(() => moduleApplier.check?.({ ...check, policy: { 'fs.rules': 'deny-read:/a/../b' } })).toThrow('has a . or .. component');
    expect(() => moduleApplier.check?.({ ...check, spec: {}, policy: { 'fs.rules': 'deny-read:/etc/shadow' } })).toThrow('it has no pid namespace of its own');
  });
});
