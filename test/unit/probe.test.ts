import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { probeBoot, probeHost, probeWith } from '../../src/kernel/probe.js';

// a fake host: a parser test of the files probeHost reads (the real host's are read by the tiers)
describe('host probe: the facts of this boot, and sched_ext\'s state read each time', () => {
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
  put(join(cg, 'cgroup.controllers'), 'cpu memory\n');
  put(join(boot, 'config-6.1.192-vkernel'), 'CONFIG_X=y\nCONFIG_RT_GROUP_SCHED=y\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('probeBoot reads the kernel, its build and the cgroup mounts; no sched_ext state', () => {
    expect(probeBoot(sys, proc, cg, boot)).toEqual({
      vkernelAbi: 4, vkernelFeatures: ['real_policy', 'futex_table'], cgroup: 'v2', rtGroupSched: false, rtGroupSchedKernel: true,
      modules: true, release: '6.1.192-vkernel',
    });
  });

  test('probeWith: the facts given, sched_ext as it is now; probeHost is both read now', () => {
    const facts = probeBoot(sys, proc, cg, boot);
    expect(probeWith(facts, sys).schedExt).toBeUndefined(); // no sched_ext in this kernel
    put(join(sys, 'kernel/sched_ext/state'), 'enabled\n');
    put(join(sys, 'kernel/sched_ext/root/ops'), 'vkernel\n');
    expect(probeWith(facts, sys)).toEqual({ ...facts, schedExt: { state: 'enabled', ops: 'vkernel' } });
    put(join(sys, 'kernel/sched_ext/state'), 'disabled\n');
    put(join(sys, 'kernel/sched_ext/root/ops'), '');
    expect(probeWith(facts, sys).schedExt).toEqual({ state: 'disabled', ops: undefined });
    expect(probeHost(sys, proc, cg, boot)).toEqual(probeWith(facts, sys));
  });
});
