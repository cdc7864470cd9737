import { join } from 'node:path';
import type { CpuGroup } from '../cgroups/index.js';
import type { HostProbe } from '../probe.js';
import type { Mode, SchedBackend } from './backend.js';

const VALUE: Record<Mode, string> = { cfs: '0', fifo: '1' };
const FILE = 'cpu.real_policy';

function write(group: CpuGroup, mode: Mode): void {
  group.write(FILE, VALUE[mode]);
  const back = group.read(FILE);
  if (back !== VALUE[mode]) throw new Error(`${join(group.dir, FILE)}: wrote ${VALUE[mode]}, reads back ${back}`);
}

/** The patched kernel: `cpu.real_policy` of the container's cpu cgroup (kernel/README.md). */
export const kernelBackend: SchedBackend = {
  name: 'kernel',
  unsupported(_mode, probe: HostProbe) {
    if (probe.vkernelAbi === undefined) return 'needs the vkernel kernel (no /sys/kernel/vkernel/abi_version)';
    if (!probe.vkernelFeatures.includes('real_policy')) return 'this vkernel kernel lacks the real_policy feature';
    return undefined;
  },
  async setup(_d, group, _pid, mode) {
    write(group, mode);
    return undefined;
  },
  async switchTo(_d, group, mode) {
    write(group, mode);
  },
  async teardown() {
    // the group, and its policy with it, goes away with the container's cgroup
  },
};
