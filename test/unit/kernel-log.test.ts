// io.vkernel.log=private: the container's own kernel log (deck claim 1, issue 12 "opt-in per
// namespace"). The runtime enables printk_ns for the container's pid namespace at create; only a
// container that asked gets it; a kernel without the feature is refused before any side effect.
import type { HostProbe } from '../../src/kernel/probe.js';
import { NS_ENABLE_ABI } from '../../src/kernel/ns-enable.js';
import { APPLIERS } from '../../src/lifecycle/appliers/index.js';
import { kernelLog } from '../../src/lifecycle/appliers/kernel-log.js';
import { plan } from '../../src/lifecycle/plan.js';
import type { Logger } from '../../src/log/logger.js';
import { envName, KEY_BY_NAME } from '../../src/policy/keys.js';
import { operatorProblems, OPEN_POLICY } from '../../src/policy/operator.js';
import { resolvePolicy } from '../../src/policy/resolve.js';
import { FakeHost } from '../doubles/host-ops.js';

const ALL = ['real_policy', 'sched_params', 'sysctl_write', 'printk_ns', 'mm_policy', 'syscall_table', 'futex_table'];
const probe = (p: Partial<HostProbe> = {}): HostProbe => ({
  vkernelAbi: NS_ENABLE_ABI, vkernelFeatures: ALL, cgroup: 'v1', rtGroupSched: true, modules: true, release: '6.1.192', ...p,
});
const warnings: string[] = [];
const log = { warn(m: string) { warnings.push(m); }, debug() {}, info() {}, error() {} } as unknown as Logger;
const own = { linux: { namespaces: [{ type: 'pid' }] } } as never;
const hostPid = { linux: { namespaces: [{ type: 'pid', path: '/proc/1/ns/pid' }] } } as never;
const check = (spec = own) => ({ id: 'c', spec, systemdCgroup: false });

describe('the key', () => {
  test('io.vkernel.log: shared (the default, the whole log as under runc) or private; VKERNEL_LOG for Docker 20.10', () => {
    expect(KEY_BY_NAME.get('log')).toMatchObject({ kind: 'enum', values: ['shared', 'private'], feature: true, off: 'shared' });
    expect(envName('log')).toBe('VKERNEL_LOG');
    expect(resolvePolicy({ annotations: { 'io.vkernel.log': 'private' } }).policy).toEqual({ log: 'private' });
    expect(resolvePolicy({ env: ['VKERNEL_LOG=private'] }).sources.log).toBe('env VKERNEL_LOG');
  });

  test('a bad value is refused, naming the allowed ones', () => {
    expect(() => resolvePolicy({ annotations: { 'io.vkernel.log': 'secret' } }))
      .toThrow('io.vkernel.log: "secret" is not one of shared, private (from annotation)');
  });

  test('the operator can refuse it to tenants or pin its value', () => {
    const op = { ...OPEN_POLICY, keys: { log: { values: ['shared'] } } };
    const r = resolvePolicy({ annotations: { 'io.vkernel.log': 'private' } });
    expect(operatorProblems(r.policy, r.sources, op)).toEqual([
      `io.vkernel.log=private (from annotation): not allowed on this node; allowed: shared (keys.log.values in ${OPEN_POLICY.path})`,
    ]);
    expect(operatorProblems(r.policy, r.sources, { ...OPEN_POLICY, keys: { log: { tenant: false } } })[0])
      .toMatch(/^io\.vkernel\.log=private \(from annotation\): tenants may not set io\.vkernel\.log on this node/);
  });
});

describe('plan: only a container that asked, only a kernel that can', () => {
  test('private on a kernel with printk_ns: the kernel-log applier, after the per-namespace values', () => {
    expect(plan({ log: 'private' }, {}, probe(), log, check())).toEqual([kernelLog]);
    expect(APPLIERS.indexOf(kernelLog)).toBeGreaterThan(APPLIERS.findIndex((a) => a.name === 'ns-sysctls'));
  });

  test('shared (or nothing) asks for nothing, on any kernel', () => {
    expect(plan({ log: 'shared' }, {}, probe({ vkernelAbi: undefined, vkernelFeatures: [] }), log, check())).toEqual([]);
    expect(plan({}, {}, probe(), log, check())).toEqual([]);
    expect(kernelLog.requested({ log: 'shared' })).toBe(false);
  });

  test('stock kernel: refused before any side effect, naming the key and the reason', () => {
    expect(() => plan({ log: 'private' }, { log: 'annotation' }, probe({ vkernelAbi: undefined, vkernelFeatures: [] }), log, check()))
      .toThrow(/^io\.vkernel\.log=private \(from annotation\): needs the vkernel kernel/);
  });

  test('a vkernel kernel without printk_ns, or of ABI 1: refused, naming the missing feature', () => {
    expect(() => plan({ log: 'private' }, {}, probe({ vkernelFeatures: ['real_policy', 'sched_params'] }), log, check()))
      .toThrow('io.vkernel.log=private: this vkernel kernel lacks the printk_ns feature (has: real_policy sched_params) (set io.vkernel.strict=false to run without it)');
    expect(() => plan({ log: 'private' }, {}, probe({ vkernelAbi: 1 }), log, check())).toThrow(/has ABI 1/);
  });

  test('strict=false: a warning and the container runs with the whole log', () => {
    warnings.length = 0;
    expect(plan({ log: 'private', strict: false }, {}, probe({ vkernelAbi: undefined, vkernelFeatures: [] }), log, check())).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/^io\.vkernel\.log=private: needs the vkernel kernel.*running without it/)]);
  });

  test("a shared pid namespace is refused whatever strict says (the host's log would be isolated)", () => {
    expect(() => plan({ log: 'private', strict: false }, {}, probe(), log, check(hostPid)))
      .toThrow(/^io\.vkernel\.log=private: the private kernel log \(printk_ns\) and its readers apply to the container's own pid namespace, and it joins the pid namespace "\/proc\/1\/ns\/pid"/);
  });
});

describe('apply', () => {
  test('one enable line with printk_ns for the init pid; nothing to undo, it dies with the namespace', async () => {
    const host = new FakeHost();
    const ctx = { host, pid: 321, id: 'c', policy: { log: 'private' }, log } as never;
    expect(await kernelLog.apply(ctx)).toBeUndefined();
    expect(host.enabled).toEqual(['321 printk_ns']);
    expect(kernelLog.diesWithContainer?.(undefined, { log: 'private' })).toBe(true);
  });

  test('a refused write fails create (the lifecycle rolls back)', async () => {
    const host = new FakeHost();
    host.enableError = new Error('write /sys/kernel/vkernel/enable "321 printk_ns": EINVAL');
    await expect(kernelLog.apply({ host, pid: 321, id: 'c', policy: { log: 'private' }, log } as never)).rejects.toThrow(/EINVAL/);
  });
});
