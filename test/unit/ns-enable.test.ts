// The per-namespace values through /sys/kernel/vkernel/enable (issue 12 §1): what the runtime
// enables for a policy, what it refuses on which kernel, and that the ABI the runtime expects is the
// one the kernel series defines and the VM tier checks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostProbe } from '../../src/kernel/probe.js';
import { NS_ENABLE_ABI, nsEnableUnsupported } from '../../src/kernel/ns-enable.js';
import { nsEnableFor, nsSysctls } from '../../src/lifecycle/appliers/ns-sysctls.js';
import { plan } from '../../src/lifecycle/plan.js';
import type { Logger } from '../../src/log/logger.js';
import { expectedAbi } from '../vm/lib/vm.js';

const ALL = ['real_policy', 'sched_params', 'sysctl_write', 'printk_ns', 'mm_policy', 'syscall_table', 'futex_table'];
const probe = (p: Partial<HostProbe> = {}): HostProbe => ({
  vkernelAbi: NS_ENABLE_ABI, vkernelFeatures: ALL, cgroup: 'v1', rtGroupSched: true, modules: true, release: '6.1.192', ...p,
});
const quiet = { warn() {}, debug() {}, info() {}, error() {} } as unknown as Logger;
const spec = { linux: { namespaces: [{ type: 'pid' }] } } as never;

describe('the ABI of the enable file: runtime, kernel series and VM tier agree', () => {
  test("the runtime's NS_ENABLE_ABI is the series' VKERNEL_ABI_VERSION", () => {
    expect(String(NS_ENABLE_ABI)).toBe(expectedAbi());
  });

  test("test/vm/guest/00-detect.sh expects the series' ABI", () => {
    const detect = readFileSync(join(process.cwd(), 'test/vm/guest/00-detect.sh'), 'utf8');
    const m = /\[ "\$v" = (\d+) \]; result detect\.abi_version/.exec(detect);
    expect(m?.[1]).toBe(expectedAbi());
  });
});

describe('nsEnableFor: one enable line per container', () => {
  test('the features of the values asked for, with the values; nothing writable', () => {
    expect(nsEnableFor({ 'sched.wakeup_granularity_ns': 3000000, 'mm.overcommit_memory': '2', 'mm.overcommit_ratio': 50 })).toEqual({
      features: ['sched_params', 'mm_policy'],
      settings: [['kernel.sched_wakeup_granularity_ns', '3000000'], ['vm.overcommit_memory', '2'], ['vm.overcommit_ratio', '50']],
    });
    expect(nsEnableFor({ 'mm.thp': 'never' })).toEqual({ features: ['mm_policy'], settings: [['vm.transparent_hugepage', 'never']] });
  });

  test('sysctl.writable=true adds sysctl_write; alone, it gives the container its own copies of every value', () => {
    expect(nsEnableFor({ 'mm.thp': 'never', 'sysctl.writable': true }).features).toEqual(['mm_policy', 'sysctl_write']);
    expect(nsEnableFor({ 'sysctl.writable': true })).toEqual({ features: ['sched_params', 'mm_policy', 'sysctl_write'], settings: [] });
  });

  test('requested only for values or writable=true; writable=false alone asks for nothing', () => {
    expect(nsSysctls.requested({ 'sysctl.writable': false })).toBe(false);
    expect(nsSysctls.requested({ 'sysctl.writable': true })).toBe(true);
    expect(nsSysctls.requested({ 'mm.overcommit_ratio': 10 })).toBe(true);
    expect(plan({ 'sysctl.writable': false }, {}, probe(), quiet, { id: 'c', spec, systemdCgroup: false })).toEqual([]);
  });
});

describe('which kernels can do it', () => {
  test('stock kernel: refused, naming the vkernel kernel', () => {
    expect(nsEnableUnsupported(probe({ vkernelAbi: undefined, vkernelFeatures: [] }), ['sched_params'])).toMatch(/needs the vkernel kernel/);
  });

  test('an ABI 1 kernel (every namespace had its own writable values) is refused with the reason and the fix', () => {
    const why = nsEnableUnsupported(probe({ vkernelAbi: 1 }), ['mm_policy']);
    expect(why).toMatch(/ABI 1, which gives every pid namespace its own values, writable by any root container/);
    expect(why).toMatch(/need ABI 2 \(\/sys\/kernel\/vkernel\/enable\)/);
    expect(() => plan({ 'mm.thp': 'never' }, {}, probe({ vkernelAbi: 1 }), quiet, { id: 'c', spec, systemdCgroup: false })).toThrow(/io\.vkernel\.mm\.thp=never: this vkernel kernel has ABI 1/);
  });

  test('a missing feature word is named', () => {
    expect(nsEnableUnsupported(probe({ vkernelFeatures: ['real_policy', 'sched_params'] }), ['sched_params', 'mm_policy', 'sysctl_write']))
      .toBe('this vkernel kernel lacks the mm_policy, sysctl_write features (has: real_policy sched_params)');
    expect(nsEnableUnsupported(probe(), ['sched_params', 'mm_policy', 'sysctl_write'])).toBeUndefined();
  });
});
