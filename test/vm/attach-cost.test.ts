// What a system call costs around a vkernel attachment (issue 18), as path length: the boot runs
// under qemu -icount (64-attach-cost.sh's `# vkvm-icount: 0` header; 1 vCPU), where the guest's
// clock counts executed instructions, so the figures do not depend on the host's load and the
// thresholds can be tight. modules/testattach provides the attachment (patch 0008, 0014).
import { vmFeature } from './lib/feature.js';

vmFeature('vkernel syscall cost around an attachment (qemu -icount)', ['64-attach-cost.sh'], [
  { name: 'attach_cost.table_in_use', title: 'the attachment measured is in use: mkdir fails with EPERM in A' },
  { name: 'attach_cost.unattached_unchanged', title: 'getppid() of a task without a table costs the same (at most +0.1 %) after an attach elsewhere as before any' },
  { name: 'attach_cost.attached_within_5pct', title: 'getppid() of a task of the attached namespace costs at most 5 % more than outside' },
], ['modules/testattach']);
