// The per-container module (modules/vkernel) loaded by the real runtime in the guest: on the patched
// kernel through vkernel_attach() (patches 0008, 0009); on the unpatched one the runtime refuses the request.
import { vmFeature } from './lib/feature.js';
import { withModulePayload } from './lib/payload.js';

withModulePayload();

vmFeature('the per-container vkernel module through vkernel-runtime', ['70-module.sh', '72-module-crash.sh'], [
  { name: 'module.refuses_cleanly', title: 'the module built for each kernel refuses a bad load with a dmesg line saying why', failsUnpatched: false },
  { name: 'module.create', title: 'create loads the module for two containers (ids of 5 and 64 characters)' },
  { name: 'module.lsmod', title: 'lsmod shows vkernel_<id12> for each' },
  { name: 'module.sysfs', title: '/sys/kernel/vkernel/containers/<name>/ shows the id, the pid namespace and the deny list' },
  { name: 'module.sysfs_root_only', title: "the module's sysfs files and parameters are root's alone (0400) (issue 12 §5)" },
  { name: 'module.deny_eperm_first_only', title: 'mkdir fails with EPERM in the container that denies it and works in the other' },
  { name: 'module.no_escape_newpid', title: 'mkdir from a child in a new pid namespace (unshare -p -f, clone(CLONE_NEWPID)) fails with EPERM in the first only' },
  { name: 'module.io_uring_denied', title: 'IORING_OP_MKDIRAT fails with EPERM in the first only' },
  { name: 'module.denied_counter', title: 'the denied-call counter counts the four mkdirs' },
  { name: 'module.futex_private_tables', title: 'futex-heavy workloads run in both; each has its own futex hash table' },
  { name: 'module.futex_buckets_capped', title: 'the operator\'s limits.futex_buckets_max (64) gives the container created under it a 64-bucket futex table; the other keeps the kernel\'s sizing' },
  { name: 'module.pinned_while_running', title: 'rmmod fails while the container runs (module pinned)' },
  { name: 'module.futex_waiters', title: 'the containers\' threads sleep in FUTEX_WAIT, queued in their private tables (futex_waiters 2 each)' },
  { name: 'module.unloaded_after_delete', title: 'delete --force while they sleep removes the module, its sysfs directory and the state' },
  { name: 'module.launcher_delete', title: 'a module-only container\'s state is in runc\'s directory with its module named beside it, and its delete --force needs no engine (none reachable): runc, then rmmod (issue 15)' },
  { name: 'module.no_oops', title: 'the kernel log has the load and unload lines and no oops' },
  { name: 'module_crash.create_killed_clean', title: 'create SIGKILLed at applying:module, module-loaded, applied:module, created: delete --force leaves no module, sysfs entry, state, runc container or cgroup' },
  { name: 'module_crash.loaded_window_real', title: 'the kill at module-loaded hit the window: module loaded and runc container there, state written before insmod only' },
  { name: 'module_crash.delete_killed_clean', title: 'a module-only container\'s delete (the launcher\'s: runc, then rmmod) SIGKILLed between the two: the module is left with no state, a second delete --force exits 0, gc unloads it' },
  { name: 'module_crash.gc_after_kill', title: 'create SIGKILLed at module-loaded, the container then deleted with runc alone (our delete never called): `vkernel-runtime gc` (the engine\'s, no Node.js in the guest) removes the module, sysfs entry, state and cgroup' },
], ['modules/vkernel']);
