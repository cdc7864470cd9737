import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { probeHost, probeKernel, probeWith } from '../../src/kernel/probe.js';

// a fake host: a parser test of the files the probe reads (the real hosts' are read by the tiers:
// the VM tier mounts cgroup v1, then v2, in one boot, with the engine server running across)
describe('host probe: the kernel\'s facts kept, the cgroup mounts and sched_ext read each time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vk-probe-'));
  const [sys, proc, cg, boot] = ['sys', 'proc', 'cgroup', 'boot'].map((d) => join(dir, d));
  const put = (file: string, text: string) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  put(join(sys, 'kernel/vkernel/abi_version'), '4\n');
  put(join(sys, 'kernel/vkernel/features'), 'real_policy futex_table\n');
  put(join(proc, 'sys/kernel/osrelease'), '6.1.192-vkernel\n');
  put(join(proc, 'modules'), '');
  put(join(boot, 'config-6.1.192-vkernel'), 'CONFIG_X=y\nCONFIG_RT_GROUP_SCHED=y\n');
  const v1 = () => {
    rmSync(cg, { recursive: true, force: true });
    put(join(cg, 'cpu/cpu.rt_runtime_us'), '950000\n');
  };
  const v2 = () => {
    rmSync(cg, { recursive: true, force: true });
    put(join(cg, 'cgroup.controllers'), 'cpu memory\n');
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the kernel\'s facts: its vkernel ABI and features, release, modules', () => {
    const k = probeKernel(sys, proc, boot);
    expect([k.vkernelAbi, k.vkernelFeatures, k.release, k.modules]).toEqual([4, ['real_policy', 'futex_table'], '6.1.192-vkernel', true]);
  });

  test('the hierarchies mounted again (v1, then v2) under kept kernel facts: each probe sees the mounts of the moment', () => {
    const k = probeKernel(sys, proc, boot);
    v1();
    expect(probeWith(k, sys, cg)).toEqual({
      vkernelAbi: 4, vkernelFeatures: ['real_policy', 'futex_table'], cgroup: 'v1', rtGroupSched: true, rtGroupSchedKernel: undefined,
      modules: true, release: '6.1.192-vkernel', schedExt: undefined,
    });
    v2();
    expect(probeWith(k, sys, cg)).toMatchObject({ cgroup: 'v2', rtGroupSched: false, rtGroupSchedKernel: true });
    v1();
    expect(probeWith(k, sys, cg)).toMatchObject({ cgroup: 'v1', rtGroupSched: true, rtGroupSchedKernel: undefined });
    expect(probeWith(k, sys, cg)).toEqual(probeHost(sys, proc, cg, boot));
  });

  test('sched_ext\'s state read each time; the kernel config once (it is the running kernel\'s)', () => {
    const k = probeKernel(sys, proc, boot);
    v2();
    expect(probeWith(k, sys, cg).schedExt).toBeUndefined(); // no sched_ext in this kernel
    put(join(sys, 'kernel/sched_ext/state'), 'enabled\n');
    put(join(sys, 'kernel/sched_ext/root/ops'), 'vkernel\n');
    expect(probeWith(k, sys, cg).schedExt).toEqual({ state: 'enabled', ops: 'vkernel' });
    put(join(sys, 'kernel/sched_ext/state'), 'disabled\n');
    put(join(sys, 'kernel/sched_ext/root/ops'), '');
    expect(probeWith(k, sys, cg).schedExt).toEqual({ state: 'disabled', ops: undefined });
    expect(probeWith(k, sys, cg).rtGroupSchedKernel).toBe(true);
    put(join(boot, 'config-6.1.192-vkernel'), 'CONFIG_X=y\n');
    expect(probeWith(k, sys, cg).rtGroupSchedKernel).toBe(true); // kept
    expect(probeWith(probeKernel(sys, proc, boot), sys, cg).rtGroupSchedKernel).toBe(false); // a new probe reads it
    rmSync(join(sys, 'kernel/sched_ext'), { recursive: true });
  });
});
