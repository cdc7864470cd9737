// Kernel log isolation per pid namespace, only where the host enabled printk_ns (patch 0005,
// issue 12 §4).
import { vmFeature } from './lib/feature.js';

vmFeature('kernel log isolation', ['40-printk.sh', '42-printk-ids.sh'], [
  { name: 'printk.visible_in_writer_ns', title: 'a record written to /dev/kmsg in A is read back in A (dmesg, /dev/kmsg, syslog)', failsUnpatched: false },
  { name: 'printk.visible_in_init_ns', title: 'the initial namespace sees it', failsUnpatched: false },
  { name: 'printk.hidden_from_other_ns', title: 'namespace B does not see it (dmesg, /dev/kmsg, /proc/kmsg)' },
  { name: 'printk.ns_sees_only_own', title: 'B sees its own record and no boot messages' },
  { name: 'printk.plain_ns_sees_all', title: 'a namespace the host did not enable reads the whole log, as on a stock kernel', failsUnpatched: false },
  { name: 'printk.id_not_reused', title: 'a namespace that gets the inode number of a dead isolated one sees none of its records' },
  { name: 'printk.clear_per_namespace', title: 'dmesg -c in an isolated namespace clears only its own view; the host still reads everything' },
  { name: 'printk.console_level_refused', title: 'dmesg -n in an isolated namespace fails; the console level is unchanged' },
  { name: 'printk.proc_kmsg_own_position', title: "an isolated namespace reads /proc/kmsg from its own position; the host's unread records stay unread" },
  { name: 'printk.system_reports_host', title: "a memcg OOM in an isolated namespace: the kernel's report is a host record (the namespace sees none of it)" },
]);
