// vkernel_attach(): private syscall table and futex hash table for one pid
// namespace, provided by modules/testattach (patch 0007).
import { vmFeature } from './lib/feature.js';

vmFeature('vkernel attach/detach (modules/testattach)', ['60-attach.sh'], [
  { name: 'attach.module_loads', title: 'the test module builds against the tree and attaches to namespace A' },
  { name: 'attach.denied_in_ns', title: 'its table makes getppid() fail with EPERM in A' },
  { name: 'attach.other_ns_unaffected', title: 'getppid() works in namespace B and in the initial namespace' },
  { name: 'attach.futex_private_table', title: 'process-private futexes (private hash table) work in A' },
  { name: 'attach.rmmod_refused_while_ns_lives', title: 'rmmod fails while A lives (module pinned)' },
  { name: 'attach.rmmod_after_ns_gone', title: 'rmmod succeeds once A is gone' },
], ['modules/testattach']);
