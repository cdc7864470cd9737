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
