// Kernel log isolation per pid namespace (patch 0005).
import { vmFeature } from './lib/feature.js';

vmFeature('kernel log isolation', ['40-printk.sh'], [
  { name: 'printk.visible_in_writer_ns', title: 'a record written to /dev/kmsg in A is read back in A (dmesg, /dev/kmsg, syslog)', failsUnpatched: false },
  { name: 'printk.visible_in_init_ns', title: 'the initial namespace sees it', failsUnpatched: false },
  { name: 'printk.hidden_from_other_ns', title: 'namespace B does not see it (dmesg, /dev/kmsg, /proc/kmsg)' },
  { name: 'printk.ns_sees_only_own', title: 'B sees its own record and no boot messages' },
]);
