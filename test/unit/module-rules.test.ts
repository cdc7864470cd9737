// io.vkernel.syscall.namespaces, io.vkernel.syscall.personality and io.vkernel.caps.max (issue 14 §2, §3):
// validation before any side effect, the module parameters they become, the kernel features they need.
import { resolvePolicy } from '../../src/policy/resolve.js';
import { parseConfig } from '../../src/policy/config-parse.js';
import { KEY_BY_NAME } from '../../src/policy/keys.js';
import { CAPABILITIES, parseCapsMax, parseNamespaces, parsePersonality, parseRules, rulesParams } from '../../src/module/rules.js';
import { moduleParams } from '../../src/module/deny.js';
import { moduleApplier } from '../../src/lifecycle/appliers/module.js';
import { plan } from '../../src/lifecycle/plan.js';
import { checkContext as check, problems, vkernelProbe as probe } from './lib/module-rules.js';

describe('validation (schema): a clear error for a bad value', () => {
  test.each([
    ['io.vkernel.syscall.namespaces', 'nett', /io\.vkernel\.syscall\.namespaces: "nett" is not allow, deny \(every namespace type\) or the comma-separated types .*cgroup, ipc, mnt, net, pid, time, user, uts/],
    ['io.vkernel.syscall.namespaces', 'net;user', /"net;user" is not allow, deny/],
    ['io.vkernel.syscall.personality', 'linux64', /io\.vkernel\.syscall\.personality: "linux64" is not the comma-separated values personality\(2\) may set/],
    ['io.vkernel.caps.max', 'CAP_NET_RAW,CAP_FLY', /io\.vkernel\.caps\.max: "CAP_NET_RAW,CAP_FLY" is not none or comma-separated capability names of Linux 6\.1 \(CAP_CHOWN … CAP_CHECKPOINT_RESTORE, as in the OCI spec\)/],
    ['io.vkernel.caps.max', 'net_raw', /"net_raw" is not none or comma-separated capability names/],
  ])('%s=%s', (key, value, message) => {
    const p = problems({ [key]: value });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(message);
  });

  test('good values pass, typed as strings', () => {
    expect(resolvePolicy({ annotations: {
      'io.vkernel.syscall.namespaces': 'net,user', 'io.vkernel.syscall.personality': 'linux,0x20008', 'io.vkernel.caps.max': 'CAP_CHOWN,CAP_NET_BIND_SERVICE',
    } }).policy).toEqual({ 'syscall.namespaces': 'net,user', 'syscall.personality': 'linux,0x20008', 'caps.max': 'CAP_CHOWN,CAP_NET_BIND_SERVICE' });
    expect(resolvePolicy({ env: ['VKERNEL_CAPS_MAX=none', 'VKERNEL_SYSCALL_NAMESPACES=deny'] }).policy).toEqual({ 'caps.max': 'none', 'syscall.namespaces': 'deny' });
  });

  test('the operator can forbid tenants the keys and the module', () => {
    const op = parseConfig('/etc/vkernel-runtime/config.yaml', { keys: { 'caps.max': { tenant: false } }, limits: { modules: false } }).operator;
    expect(problems({ 'io.vkernel.caps.max': 'CAP_SYS_ADMIN', 'io.vkernel.syscall.namespaces': 'deny' }, op)).toEqual([
      'io.vkernel.caps.max=CAP_SYS_ADMIN (from annotation): tenants may not set io.vkernel.caps.max on this node (keys.caps.max.tenant: false in /etc/vkernel-runtime/config.yaml)',
      'io.vkernel.syscall.namespaces=deny (from annotation): per-container kernel modules are not allowed on this node (limits.modules: false in /etc/vkernel-runtime/config.yaml)',
      'io.vkernel.caps.max=CAP_SYS_ADMIN (from annotation): per-container kernel modules are not allowed on this node (limits.modules: false in /etc/vkernel-runtime/config.yaml)',
    ]);
    // allow asks for nothing
    expect(resolvePolicy({ operator: op, annotations: { 'io.vkernel.syscall.namespaces': 'allow' } }).policy).toEqual({ 'syscall.namespaces': 'allow' });
  });
});

describe('parsing into module parameters', () => {
  test('namespaces: allow, deny, a list of types', () => {
    expect(parseNamespaces(undefined)).toBe(0);
    expect(parseNamespaces('allow')).toBe(0);
    expect(parseNamespaces('deny')).toBe(0x7e020080);
    expect(parseNamespaces('net')).toBe(0x40000000);
    expect(parseNamespaces('net,user')).toBe(0x50000000);
    expect(() => parseNamespaces('net,ipcx')).toThrow('io.vkernel.syscall.namespaces: "ipcx" is not a namespace type');
  });

  test('personality: names and numbers, the query refused, at most 16', () => {
    expect(parsePersonality('linux,linux32,uname26,0x20008,8')).toEqual([0, 8, 0x20000, 0x20008]);
    expect(() => parsePersonality('0xffffffff')).toThrow('0xffffffff is the query, always allowed');
    expect(() => parsePersonality(Array.from({ length: 17 }, (_, i) => String(i)).join(','))).toThrow('17 values; at most 16');
  });

  test('caps.max: names of Linux 6.1, none = empty ceiling', () => {
    expect(CAPABILITIES).toHaveLength(41);
    expect(CAPABILITIES[13]).toBe('CAP_NET_RAW');
    expect(CAPABILITIES[40]).toBe('CAP_CHECKPOINT_RESTORE');
    expect(parseCapsMax('CAP_NET_BIND_SERVICE,CAP_CHOWN,CAP_CHOWN')).toEqual([0, 10]);
    expect(parseCapsMax('none')).toEqual([]);
    expect(() => parseCapsMax('CAP_FLY')).toThrow('io.vkernel.caps.max: "CAP_FLY" is not a capability of Linux 6.1');
  });

  test('parameters: ns_deny, personality, caps_max (hex masks); nothing for absent rules', () => {
    expect(rulesParams(parseRules({}))).toEqual([]);
    expect(rulesParams(parseRules({ 'syscall.namespaces': 'deny', 'syscall.personality': 'linux', 'caps.max': 'CAP_CHOWN,CAP_CHECKPOINT_RESTORE' })))
      .toEqual(['ns_deny=0x7e020080', 'personality=0x0', 'caps_max=0x10000000001']);
    expect(rulesParams(parseRules({ 'caps.max': 'none' }))).toEqual(['caps_max=0x0']);
    expect(moduleParams({ pid: 7, id: 'a', deny: [], futexBuckets: 16, rules: parseRules({ 'syscall.namespaces': 'net' }) }))
      .toEqual(['init_pid=7', 'container_id=a', 'futex_buckets=16', 'ns_deny=0x40000000']);
  });

  test('every key is listed by features with its allowed values', () => {
    for (const k of ['syscall.namespaces', 'syscall.personality', 'caps.max']) expect(KEY_BY_NAME.get(k)?.allowed).toBeTruthy();
  });
});

describe('the module applier and the kernel features', () => {
  const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } as unknown as Parameters<typeof plan>[3];

  test('each rule requests the module; namespaces=allow does not', () => {
    expect(moduleApplier.requested({ 'syscall.namespaces': 'deny' })).toBe(true);
    expect(moduleApplier.requested({ 'syscall.personality': 'linux' })).toBe(true);
    expect(moduleApplier.requested({ 'caps.max': 'none' })).toBe(true);
    expect(moduleApplier.requested({ 'syscall.namespaces': 'allow' })).toBe(false);
    expect(plan({ 'syscall.namespaces': 'allow' }, {}, probe([]), log, check)).toEqual([]);
  });

  test('a kernel without the feature word refuses the request before any side effect, naming it', () => {
    const base = ['syscall_table', 'futex_table'];
    expect(moduleApplier.unsupported({ 'syscall.namespaces': 'deny' }, probe(base))).toMatch(/lacks the syscall_args feature .*io\.vkernel\.syscall\.namespaces\/personality/);
    expect(moduleApplier.unsupported({ 'syscall.personality': 'linux' }, probe(base))).toMatch(/lacks the syscall_args feature/);
    expect(moduleApplier.unsupported({ 'caps.max': 'CAP_CHOWN' }, probe([...base, 'syscall_args']))).toMatch(/lacks the caps_max feature .*io\.vkernel\.caps\.max/);
    expect(moduleApplier.unsupported({ 'caps.max': 'CAP_CHOWN', 'syscall.namespaces': 'net' }, probe([...base, 'syscall_args', 'caps_max']))).toBeUndefined();
    expect(() => plan({ 'caps.max': 'CAP_CHOWN' }, { 'caps.max': 'annotation' }, probe(base), log, check))
      .toThrow('io.vkernel.caps.max=CAP_CHOWN (from annotation): this vkernel kernel lacks the caps_max feature');
  });

  test('check refuses a bad value (e.g. from the config file, past the schema) before any side effect', () => {
    expect(() => moduleApplier.check?.({ ...check, policy: { 'syscall.personality': '0xffffffff' } })).toThrow('the query, always allowed');
    expect(() => moduleApplier.check?.({ ...check, spec: {}, policy: { 'caps.max': 'CAP_CHOWN' } })).toThrow('it has no pid namespace of its own');
  });
});
