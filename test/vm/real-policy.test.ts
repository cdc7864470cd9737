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

// A task's place in a FIFO group's queue (13-real-policy-inplace.sh, 4 vCPUs, 3 CPU-bound tasks
// queued on one CPU): arriving while running, and changes in place of a queued task.
vmFeature('cpu.real_policy: arrival while running, changes in place (cgroup v2, 4 vCPUs)', ['13-real-policy-inplace.sh'], [
  { name: 'real_policy.move_running_to_tail', title: 'a task moved into a FIFO group while it runs arrives at the tail: it runs again only after the queued tasks ended' },
  { name: 'real_policy.inplace_nice', title: 'a nice change of a queued task keeps its place (0, 1, 2 still run in order)' },
  { name: 'real_policy.inplace_affinity', title: 'an affinity change that keeps a queued task on its CPU keeps its place' },
  { name: 'real_policy.inplace_pi', title: 'a PI boost (a nice -5 FUTEX_LOCK_PI waiter outside the group) of a queued lock holder keeps its place' },
]);

// Under load (14-real-policy-smp.sh, 4 vCPUs): several CPUs, nesting, cpu.max, siblings.
vmFeature('cpu.real_policy: several CPUs, nesting, bandwidth, siblings (cgroup v2, 4 vCPUs)', ['14-real-policy-smp.sh'], [
  { name: 'real_policy.smp_per_cpu_order', title: '8 tasks of a FIFO group on 4 CPUs complete; per CPU none interleave, the unmigrated ones began in fork order' },
  { name: 'real_policy.smp_cfs_control', title: 'control: the same 8 tasks in a CFS group interleave on some CPU' },
  { name: 'real_policy.nest_cfs_child', title: 'CFS child groups of a FIFO group run in arrival order, each until it has nothing left, its tasks sharing by CFS' },
  { name: 'real_policy.nest_fifo_child', title: 'a FIFO child of a CFS parent keeps its order while its CFS sibling progresses beside it' },
  { name: 'real_policy.bandwidth_order', title: 'a FIFO group throttled by cpu.max (30 %) completes its tasks in arrival order (nr_throttled > 0)' },
  { name: 'real_policy.bandwidth_flip', title: '40 policy flips of a throttled FIFO group with 3 spinners: every spinner runs, nothing hangs' },
  { name: 'real_policy.sibling_share', title: 'a FIFO group (weight 100, 3 spinners) never starves its CFS sibling (weight 300): the sibling gets 75 % +- 10 %' },
  { name: 'real_policy.hotplug', title: 'CPU hotplug: queued FIFO tasks of an offlined CPU complete elsewhere, the group flips while it is offline, and its queue there is FIFO again once it is back' },
]);
