import { enableNamespace, nsEnableUnsupported } from '../../kernel/ns-enable.js';
import type { Policy } from '../../policy/types.js';
import type { Applier } from '../applier.js';
import { requireOwnPidNamespace } from './pid-ns.js';

const asked = (p: Policy) => p.log === 'private';

/**
 * io.vkernel.log=private: the container's own kernel log (patched kernel, feature printk_ns,
 * kernel/README.md). After `runc create`, before start, one write of /sys/kernel/vkernel/enable
 * gives the container's pid namespace printk_ns: its readers (dmesg, /dev/kmsg, /proc/kmsg,
 * syslog(2)) then see only the records its own tasks wrote to /dev/kmsg, and its CLEAR and read
 * position are its own. A container that did not ask reads the whole log, as under runc. Nothing to
 * undo: the feature dies with the namespace.
 */
export const kernelLog: Applier = {
  name: 'kernel-log',
  keys: ['log'],
  requested: asked,
  check({ spec, policy }) {
    requireOwnPidNamespace(spec, policy, ['log'], 'the private kernel log (printk_ns) and its readers');
  },
  unsupported: (_p, probe) => nsEnableUnsupported(probe, ['printk_ns']),
  async apply(ctx) {
    await enableNamespace(ctx.host, ctx.pid, { features: ['printk_ns'], settings: [] });
    ctx.log.debug(`${ctx.id}: enabled printk_ns for the container's pid namespace (its own kernel log)`);
    return undefined;
  },
  async undo() {},
  diesWithContainer: () => true,
};
