import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostProbe } from '../probe.js';
import type { Mode, SchedBackend } from './backend.js';

const VALUE: Record<Mode, string> = { cfs: '0', fifo: '1' };

function write(dir: string, mode: Mode): void {
  const file = join(dir, 'cpu.real_policy');
  writeFileSync(file, VALUE[mode]);
  const back = readFileSync(file, 'utf8').trim();
  if (back !== VALUE[mode]) throw new Error(`${file}: wrote ${VALUE[mode]}, reads back ${back}`);
}

/** The patched kernel: `cpu.real_policy` of the container's cpu cgroup (kernel/README.md). */
export const kernelBackend: SchedBackend = {
  name: 'kernel',
  unsupported(_mode, probe: HostProbe) {
    if (probe.vkernelAbi === undefined) return 'needs the vkernel kernel (no /sys/kernel/vkernel/abi_version)';
    if (!probe.vkernelFeatures.includes('real_policy')) return 'this vkernel kernel lacks the real_policy feature';
    return undefined;
  },
  async setup(group, _pid, mode) {
    write(group.dir, mode);
    return undefined;
  },
  async switchTo(group, mode) {
    write(group.dir, mode);
  },
  async teardown() {
    // the group, and its policy with it, goes away with the container's cgroup
  },
};
