// cpu.real_policy (patch 0002): FIFO inside a task group, cgroup v1 and v2.
import { vmFeature } from './lib/feature.js';

vmFeature('cpu.real_policy (cgroup v1)', ['10-real-policy-v1.sh'], [
  { name: 'real_policy.root_rejected', title: 'the root group has the file and refuses 1 (EINVAL)' },
  { name: 'real_policy.value_rejected', title: 'values other than 0 and 1 are refused' },
  { name: 'real_policy.set', title: 'a child group reads back 1 after writing 1 (default 0)' },
  { name: 'real_policy.fifo_arrival_order', title: 'policy 1: N CPU-bound tasks on one CPU finish in arrival order, no interleaving' },
  { name: 'real_policy.cfs_interleaves', title: 'policy 0: the same tasks interleave (control)', failsUnpatched: false },
  { name: 'real_policy.back_to_cfs', title: 'switching a group back to 0 restores interleaving', failsUnpatched: false },
]);

vmFeature('cpu.real_policy (cgroup v2)', ['11-real-policy-v2.sh'], [
  { name: 'real_policy.v2_root_rejected', title: 'v2 root group refuses 1' },
  { name: 'real_policy.v2_set', title: 'v2 child group accepts 1' },
  { name: 'real_policy.v2_fifo_arrival_order', title: 'v2 policy 1: arrival order' },
]);

// Policy changes with queued CPU-bound tasks, 4 vCPUs (12-real-policy-flip.sh): each check prints
// FAIL with a reason on the unpatched kernel (no cpu.real_policy).
vmFeature('cpu.real_policy flips and yield (cgroup v2, 4 vCPUs)', ['12-real-policy-flip.sh'], [
  { name: 'real_policy.flip_to_cfs_progress', title: 'FIFO -> CFS with 3 tasks queued on one CPU: every task progresses within 2 s' },
  { name: 'real_policy.flip_to_cfs_fair', title: 'FIFO -> CFS: each of the 3 tasks gets 33 % +- 10 % of the CPU over the 2 s after the flip' },
  { name: 'real_policy.flip_to_fifo_order', title: 'CFS -> FIFO: the tasks queued before the flip end before a task arriving after it first runs' },
  { name: 'real_policy.fifo_yield', title: 'sched_yield() in a FIFO group moves the caller to the tail (a yield-spin waiter and its lock holder on one CPU both finish)' },
]);
