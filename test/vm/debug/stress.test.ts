// The debug-kernel tier's stress (issue 11), run only with VKVM_KERNEL_CONFIG=debug
// (`npm run test:kernel-debug`; jest.config.cjs leaves test/vm/debug/ out of the ordinary VM tier):
// 90-real-policy-stress.sh on 4 vCPUs flips cpu.real_policy every 10 ms for 60 s under a
// message-passing load, moves and renices tasks, throttles the group with cpu.max. The harness
// fails the run on any kernel report of the boot (lib/vm.ts kernelReports).
import { vmFeature } from '../lib/feature.js';

vmFeature('cpu.real_policy stress: 60 s of flips under load (cgroup v2, 4 vCPUs)', ['90-real-policy-stress.sh'], [
  { name: 'real_policy.stress_progress', title: 'every load progresses and the group flips at least 600 times in 60 s' },
  { name: 'real_policy.stress_no_report', title: 'no BUG, WARNING, lockdep, KFENCE, Oops or list corruption report in the kernel log during the stress' },
]);
