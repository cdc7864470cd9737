// kernel.sched_wakeup_granularity_ns per pid namespace (patch 0003) and its
// writability through a read-only /proc/sys (patch 0004).
import { vmFeature } from './lib/feature.js';

vmFeature('per-pid-namespace sched_wakeup_granularity_ns', ['20-sched-params.sh'], [
  { name: 'sched_params.present', title: '/proc/sys/kernel/sched_wakeup_granularity_ns exists' },
  { name: 'sched_params.per_namespace', title: 'two namespaces hold different values at the same time' },
  { name: 'sched_params.inherit_from_init', title: 'a new namespace starts with the global value' },
  { name: 'sched_params.inherit_from_parent', title: 'a nested namespace starts with its parent value' },
  { name: 'sched_params.init_unchanged', title: 'the initial namespace value is unchanged' },
  { name: 'sched_params.bounds_ns', title: 'bounds 0..1000000000 in a namespace' },
  { name: 'sched_params.bounds_init', title: 'bounds in the initial namespace' },
  {
    name: 'sched_params.wakeup_gran_used',
    title: "wakeup preemption follows the woken task's namespace value (median wakeup latency beside a CPU hog: 0 ns vs 1 s)",
  },
]);

vmFeature('vkernel sysctls through a read-only /proc/sys', ['30-sysctl-write.sh'], [
  { name: 'sysctl_write.proc_sys_readonly', title: '/proc/sys is a read-only bind mount in the container', failsUnpatched: false },
  { name: 'sysctl_write.listed_writable', title: 'the listed file is writable (shell > and open(O_TRUNC))' },
  { name: 'sysctl_write.others_erofs', title: 'kernel/hostname and kernel/pid_max stay EROFS', failsUnpatched: false },
  { name: 'sysctl_write.init_unchanged', title: 'the initial namespace values are untouched', failsUnpatched: false },
  { name: 'sysctl_write.init_ns_readonly', title: 'in the initial pid namespace a read-only /proc/sys protects the global value' },
]);
