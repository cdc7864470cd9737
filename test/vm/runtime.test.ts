// The real runtime in the VM: vkernel-runtime (bun engine) + runc inside the guest, on the patched
// kernel (kernel backend) and, for contrast, on the unpatched one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmFeature } from './lib/feature.js';

// the initramfs carries the runtime, runc and bundles (see lib/runtime-payload.mjs); the bun-built
// engine needs SSE4.2/POPCNT, which TCG's default CPU model lacks
process.env.VKVM_CPU = 'max';
process.env.VKVM_EXTRA_LIST = execFileSync('node', ['test/vm/lib/runtime-payload.mjs', mkdtempSync(join(tmpdir(), 'vk-payload-'))], { encoding: 'utf8' }).trim();

vmFeature('vkernel-runtime on real containers in the guest', ['60-runtime.sh'], [
  { name: 'runtime.plain_run', title: 'a container without a request runs as under runc', failsUnpatched: false },
  { name: 'runtime.create_fifo', title: 'create with io.vkernel.sched.policy=fifo succeeds (kernel backend; rt backend on the stock kernel)', failsUnpatched: false },
  { name: 'runtime.fifo_kernel_backend', title: 'the fifo container\'s cgroup has cpu.real_policy=1, state says backend kernel' },
  { name: 'runtime.fifo_arrival_order', title: 'tasks in the fifo container\'s group complete in arrival order' },
  { name: 'runtime.fifo_delete_clean', title: 'delete removes state and cgroup', failsUnpatched: false },
  { name: 'runtime.cfs_real_policy_0', title: 'a cfs container\'s group stays at cpu.real_policy=0' },
  { name: 'runtime.wakeup_granularity_per_container', title: 'two containers read their own sched_wakeup_granularity_ns; the host\'s is unchanged' },
  { name: 'runtime.overcommit_per_container', title: 'overcommit mode 2 in one container denies a large allocation that succeeds in another (mode 1)' },
  { name: 'runtime.thp_per_container', title: 'THP mode differs per container: always gets huge pages, never does not' },
]);

// its own boot: with 60-runtime.sh the loaded host's guest passed qemu's 240 s
vmFeature('per-container values through the runtime (/sys/kernel/vkernel/enable, issue 12 §1)', ['62-runtime-sysctl.sh'], [
  { name: 'runtime_sysctl.value_readonly', title: 'values set by the runtime are read in the container and not writable by it (EROFS); the host keeps its own' },
  { name: 'runtime_sysctl.value_writable', title: 'with io.vkernel.sysctl.writable=true the container changes its own values through its read-only /proc/sys' },
  { name: 'runtime_sysctl.writable_alone', title: 'io.vkernel.sysctl.writable=true alone: own writable copies starting at the host values' },
  { name: 'runtime_sysctl.no_request_host_values', title: 'a container that asked for nothing reads the host values and cannot write them', failsUnpatched: false },
]);

// issue 16: the kernel backend's figure of the three-way hackbench comparison (rtv2.hackbench,
// scx.hackbench measure the same load on their kernels)
vmFeature('the same message-passing load in a fifo and a cfs container (kernel backend)', ['66-runtime-hackbench.sh'], [
  { name: 'runtime.hackbench', title: 'measured: `vkt bench hackbench 10` in a fifo container (cpu.real_policy=1, init SCHED_OTHER) and a cfs container, 3 rounds each; every run gives a figure' },
]);

// the container's own kernel log through the runtime (io.vkernel.log=private → printk_ns at create;
// deck claim 1, issue 12 opt-in per namespace)
vmFeature('own kernel log through the runtime (io.vkernel.log=private)', ['64-runtime-log.sh'], [
  { name: 'runtime_log.private_sees_only_own', title: 'a container with io.vkernel.log=private sees in dmesg only the record it wrote to /dev/kmsg (no host record, no boot lines)' },
  { name: 'runtime_log.private_not_other_private', title: 'a second private container sees only its own record, not the first one\'s' },
  { name: 'runtime_log.host_sees_container_records', title: 'the host reads both private containers\' records' },
  { name: 'runtime_log.shared_reads_host_log', title: 'a container that asked for nothing reads exactly the host\'s log (as on the unpatched kernel), its own record included', failsUnpatched: false },
]);

// the commands an operator runs on a node, in a guest without Node.js (issue 13): the engine alone
vmFeature('doctor, ps, gc, install without Node.js (the compiled engine in the guest)', ['65-runtime-admin.sh'], [
  { name: 'runtime_admin.no_node', title: 'the guest has no node', failsUnpatched: false },
  { name: 'runtime_admin.doctor', title: 'doctor reports runc and this kernel and says ready', failsUnpatched: false },
  { name: 'runtime_admin.ps', title: 'ps lists a created cfs container with its policy', failsUnpatched: false },
  { name: 'runtime_admin.gc', title: 'gc after delete --force: no leftovers', failsUnpatched: false },
  { name: 'runtime_admin.install', title: 'install docker writes the runtime into daemon.json, uninstall takes it out', failsUnpatched: false },
]);

// the ns-sysctl rows of the crash matrix (issue 10 §1): the runtime SIGKILLed during create
vmFeature('per-container values: create SIGKILLed, then start and delete --force (issue 10 §1)', ['73-runtime-sysctl-crash.sh'], [
  { name: 'sysctl_crash.unfinished_start_refused', title: 'create killed at runc-created, applying:ns-sysctls, ns-enabled, applied:ns-sysctls, mid-state-write (the write that records the applier): start refused (the process never runs with the host\'s values), delete --force leaves no state, lock, runc container or cgroup; host values unchanged' },
  { name: 'sysctl_crash.enabled_window_real', title: 'the kill at ns-enabled hit the window: the container\'s pid namespace already read its own values' },
  { name: 'sysctl_crash.finished_start_runs', title: 'create killed at applied-all, created: start runs the container with its values in force, delete --force leaves nothing' },
]);
