import { existsSync } from 'node:fs';
import type { RuntimeEnv } from '../../env.js';
import { failure, run } from '../../host/spawn.js';
import { hostCgroups } from '../../kernel/cgroups/index.js';
import { probeHost } from '../../kernel/probe.js';
import { ARGS_FEATURE, CAPS_FEATURE, FS_FEATURE } from '../../module/rules.js';
import { nsEnableUnsupported } from '../../kernel/ns-enable.js';

export interface Check { name: string; ok: boolean; detail: string; consequence?: string }


/** What this host supports, as `doctor` shows it. `required` checks decide the exit status. */
export async function hostChecks(runc: string, env: RuntimeEnv): Promise<{ checks: Check[]; required: string[] }> {
  const probe = probeHost('/sys', '/proc', env.cgroupRoot);
  const checks: Check[] = [];
  const v = await run(runc, ['--version']);
  checks.push({
    name: 'runc', ok: v.code === 0,
    detail: v.code === 0 ? `${runc}: ${v.stdout.split('\n')[0]}` : `${runc}: not runnable (${failure(v)})`,
    consequence: v.code === 0 ? undefined : 'no container can run: install runc or pass --runc PATH',
  });
  const systemd = existsSync('/run/systemd/system');
  checks.push({
    name: 'cgroup', ok: existsSync(env.cgroupRoot),
    detail: `${probe.cgroup === 'hybrid' ? 'v1 (hybrid, cgroup2 at /sys/fs/cgroup/unified)' : probe.cgroup}, driver ${systemd ? 'systemd available (--systemd-cgroup)' : 'cgroupfs (no systemd)'}`,
  });
  checks.push({
    name: 'kernel', ok: probe.vkernelAbi !== undefined,
    detail: probe.vkernelAbi !== undefined
      ? `${probe.release}, vkernel ABI ${probe.vkernelAbi} (features: ${probe.vkernelFeatures.join(' ') || 'none'})`
      : `${probe.release}, stock (no /sys/kernel/vkernel)`,
    consequence: probe.vkernelAbi !== undefined ? 'kernel backend available' : 'kernel-only keys (wakeup_granularity_ns, mm.*, sysctl.writable, log, syscall.deny, module) are refused (strict) or skipped',
  });
  if (probe.vkernelAbi !== undefined) {
    const why = nsEnableUnsupported(probe, ['sched_params', 'mm_policy', 'sysctl_write']);
    checks.push({
      name: 'per-container values', ok: why === undefined,
      detail: why === undefined ? `enabled per container through /sys/kernel/vkernel/enable (ABI ${probe.vkernelAbi})` : why,
      consequence: why === undefined ? 'io.vkernel.sched.wakeup_granularity_ns, io.vkernel.mm.*, io.vkernel.sysctl.writable available; other containers keep the host values'
        : 'io.vkernel.sched.wakeup_granularity_ns, io.vkernel.mm.* and io.vkernel.sysctl.writable are refused (strict) or skipped',
    });
  }
  // io.vkernel.log=private: the container's own kernel log (printk_ns through /sys/kernel/vkernel/enable);
  // on a stock kernel the kernel line above says it
  const logWhy = nsEnableUnsupported(probe, ['printk_ns']);
  if (probe.vkernelAbi !== undefined) checks.push({
    name: 'kernel log', ok: logWhy === undefined,
    detail: logWhy === undefined ? 'own kernel log per container (feature printk_ns, enabled per container through /sys/kernel/vkernel/enable)' : logWhy,
    consequence: logWhy === undefined ? 'io.vkernel.log=private available; other containers read the whole log, as under runc'
      : 'io.vkernel.log=private is refused (strict) or skipped: containers read the whole kernel log, as under runc',
  });
  checks.push({
    name: 'modules', ok: probe.modules,
    detail: probe.modules ? 'loadable modules supported (/proc/modules)' : 'no loadable module support (CONFIG_MODULES off)',
    consequence: probe.modules ? undefined : 'io.vkernel.module and io.vkernel.syscall.deny unavailable',
  });
  // the per-container module's argument rules and capability ceiling, enforced by the kernel (patches 0012, 0013)
  for (const [name, word, keys] of [
    ['argument rules', ARGS_FEATURE, 'io.vkernel.syscall.namespaces, io.vkernel.syscall.personality'],
    ['caps ceiling', CAPS_FEATURE, 'io.vkernel.caps.max'],
    ['file rules', FS_FEATURE, 'io.vkernel.fs.rules'],
  ] as const) {
    const has = probe.vkernelFeatures.includes(word);
    checks.push({
      name, ok: has && probe.modules,
      detail: has ? `the kernel enforces ${keys} (feature ${word})${probe.modules ? '' : ', but has no module support'}` : `no ${word} in /sys/kernel/vkernel/features`,
      consequence: has && probe.modules ? undefined : `${keys} refused (strict) or skipped`,
    });
  }
  const build = `/lib/modules/${probe.release}/build`;
  checks.push({ name: 'headers', ok: existsSync(build), detail: existsSync(build) ? build : `${build} missing`, consequence: existsSync(build) ? undefined : 'the per-container module cannot be built here' });
  const cpuRoot = hostCgroups(probe, false, env.cgroupRoot).root;
  const read = (file: string) => { try { return cpuRoot.read(file); } catch { return undefined; } };
  checks.push({
    name: 'rt group sched', ok: probe.rtGroupSched,
    detail: probe.rtGroupSched ? `yes (root budget ${read('cpu.rt_runtime_us')} of ${read('cpu.rt_period_us')} µs)`
      : probe.rtGroupSchedKernel ? `in the kernel (CONFIG_RT_GROUP_SCHED=y), but cgroup ${probe.cgroup} has no RT budget files`
        : `no (${probe.cgroup === 'v2' ? `cgroup v2, kernel config ${probe.rtGroupSchedKernel === false ? 'without CONFIG_RT_GROUP_SCHED' : 'not found'}` : 'CONFIG_RT_GROUP_SCHED off'})`,
    consequence: probe.rtGroupSched ? 'rt v1 backend available: sched.policy=fifo|adaptive on this kernel' : undefined,
  });
  if (probe.schedExt) {
    const { scxText } = await import('../../kernel/backends/scx.js');
    const { linuxScx } = await import('../../kernel/backends/scx-control.js');
    let groups = '';
    try { groups = `, ${(await linuxScx(env.scxLoader).list()).length} group(s) in its map`; } catch { /* no pinned map: never started */ }
    checks.push({
      name: 'sched_ext', ok: true,
      detail: `${scxText(probe.schedExt)}${groups}`,
      consequence: 'scx backend available with io.vkernel.backend=scx (sched.policy=fifo|adaptive through the BPF scheduler scx_vkernel)',
    });
  }
  const { schedVariant } = await import('../../kernel/backends/index.js');
  const sv = schedVariant(probe);
  checks.push({
    name: 'fifo backend', ok: sv.variant !== 'none',
    detail: `${sv.variant}: ${sv.why}`,
    consequence: sv.variant === 'none' ? 'sched.policy=fifo is refused (strict) or skipped on this host' : sv.variant === 'rt v2' ? 'the budget is enforced per 100 ms window by a supervisor process per fifo container; adaptive is not available' : undefined,
  });
  return { checks, required: ['runc', 'cgroup'] };
}
