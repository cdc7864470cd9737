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
  {
    name: 'sched_params.wakeup_gran_group',
    title: "at group level too: a sleeper in a container's cgroup and namespace woken beside a host hog (0 ns vs 1 s)",
  },
  {
    name: 'sched_params.hotplug_keeps_host_value',
    title: 'a host write of kernel.sched_wakeup_granularity_ns survives CPU hotplug (offline and online again); namespace values too',
  },
]);

vmFeature('vkernel sysctls through a read-only /proc/sys', ['30-sysctl-write.sh'], [
  { name: 'sysctl_write.proc_sys_readonly', title: '/proc/sys is a read-only bind mount in the container', failsUnpatched: false },
  { name: 'sysctl_write.listed_writable', title: 'the listed file is writable (shell > and open(O_TRUNC))' },
  { name: 'sysctl_write.others_erofs', title: 'kernel/hostname and kernel/pid_max stay EROFS', failsUnpatched: false },
  { name: 'sysctl_write.init_unchanged', title: 'the initial namespace values are untouched', failsUnpatched: false },
  { name: 'sysctl_write.init_ns_readonly', title: 'in the initial pid namespace a read-only /proc/sys protects the global value' },
]);

vmFeature('per-namespace features only where the host enabled them (/sys/kernel/vkernel/enable)', ['32-sysctl-optin.sh'], [
  { name: 'sysctl_write.plain_ns_erofs', title: 'a namespace the host did not enable cannot write any sysctl through its read-only /proc/sys', failsUnpatched: false },
  { name: 'sysctl_write.plain_ns_reads_host', title: 'a namespace the host did not enable reads the host values, also after the host changed them', failsUnpatched: false },
  { name: 'sched_params.plain_ns_global', title: 'kernel.sched_wakeup_granularity_ns written in a plain namespace (writable /proc/sys) is the global value' },
  { name: 'overcommit.plain_ns_global', title: 'a plain namespace follows the global overcommit mode set after its creation, and writes the global ratio', failsUnpatched: false },
  { name: 'thp.plain_ns_global', title: 'a plain namespace follows the global THP mode set after its creation (both ways)', failsUnpatched: false },
  { name: 'sched_params.host_value_readonly', title: 'a namespace given a value by the host (no sysctl_write) reads it and cannot change it (EPERM, EROFS); the host value is unchanged' },
  { name: 'sysctl_write.not_writable_erofs', title: 'sched_params + mm_policy without sysctl_write: every per-namespace file stays EROFS through a read-only /proc/sys' },
  { name: 'enable.bad_line_changes_nothing', title: 'bad enable lines (unknown word or sysctl, bad value, missing feature, bad or unknown pid, the initial namespace) fail and leave the namespace plain' },
  { name: 'enable.host_only', title: 'a non-root writer, root of a new user namespace and root of a new pid namespace are refused' },
  { name: 'enable.inherited_by_nested', title: 'a namespace created inside an enabled one inherits its features and value' },
  { name: 'enable.never_removed', title: 'a later line adds features and removes none' },
]);
