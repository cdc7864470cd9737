// vkernel_attach()/vkernel_detach(): private syscall tables (x86-64, x32,
// ia32, io_uring) and futex hash table for one pid namespace and every
// namespace below it, provided by modules/testattach (patches 0008, 0009, 0011).
import { vmFeature } from './lib/feature.js';

vmFeature('vkernel attach/detach (modules/testattach)', ['60-attach.sh'], [
  { name: 'attach.compat_entries', title: 'the guest kernels have the int $0x80 and x32 entries', failsUnpatched: false },
  { name: 'attach.module_loads', title: 'the test module builds against the tree and attaches to namespace A' },
  { name: 'attach.denied_in_ns', title: 'its table makes getppid() fail with EPERM in A' },
  { name: 'attach.other_ns_unaffected', title: 'getppid() works in namespace B and in the initial namespace' },
  { name: 'attach.denied_compat', title: 'getppid() through int $0x80 (ia32) and with an x32 number fails with EPERM in A, works in B' },
  { name: 'attach.futex_private_table', title: 'process-private futexes (private hash table) work in A' },
  { name: 'attach.futex_waiters_in_private_table', title: "A's private futex waiters are queued in A's table, the initial namespace's are not" },
  { name: 'attach.futex_clone_vm_nested_ns', title: 'a CLONE_VM child in a nested namespace and its parent in A agree on a private futex' },
  { name: 'attach.futex_shared_cross_ns', title: 'a shared futex waited on in A is woken from the initial namespace' },
  { name: 'attach.rmmod_refused_while_ns_lives', title: 'rmmod fails while A lives (module pinned)' },
  { name: 'attach.detach_restores_syscalls', title: "after vkernel_detach() A's getppid() works again on all three entries" },
  { name: 'attach.detach_keeps_pin_and_futex_table', title: 'after detach rmmod still fails and private futexes still work' },
  { name: 'attach.reattach_same_module', title: 'the same module may attach again: EPERM again on all three entries' },
  { name: 'attach.rmmod_after_ns_gone', title: 'rmmod succeeds once A is gone' },
  { name: 'attach.existing_tasks_at_attach', title: 'tasks started before the attach, in A and in a namespace below A, are denied once attached' },
  { name: 'attach.thread_denied', title: 'a new thread of a task in A is denied' },
  { name: 'attach.seccomp_task_denied', title: 'a task in A under an allow-all seccomp filter (the entry slow path) is denied' },
  { name: 'attach.traced_rewrite_denied', title: 'in A, getpid() turned into getppid() by a tracer at the entry stop is denied (the call that runs is judged)' },
  { name: 'attach.unshare_newpid_denied', title: 'unshare -p -f from A: the child in the new pid namespace is denied (x64, x32, ia32)' },
  { name: 'attach.clone_newpid_denied', title: 'a clone(CLONE_NEWPID) child of a task in A is denied, with and without CLONE_NEWUSER' },
  { name: 'attach.setns_child_denied', title: "a task that setns()es into A's pid namespace: its forked child is denied (itself keeps its namespace)" },
  { name: 'attach.nested_attach_refused', title: 'a second vkernel for a namespace below A is refused (EBUSY)' },
  { name: 'attach.table_read_only', title: "a write to A's syscall table faults (read-only after setup)" },
  { name: 'attach.io_uring_denied', title: 'IORING_OP_MKDIRAT fails with EPERM in A (mkdirat denied), works in the initial namespace' },
  { name: 'attach.denied_counted', title: "the kernel counts each denial in the module's counters (io_uring as mkdirat)" },
  { name: 'attach.attach_detach_race', title: 'attach/detach 40 times while A forks and calls getppid (and a namespace below A): both outcomes seen, no oops' },
  { name: 'attach.detach_clears_tasks', title: 'after detach, the tasks started before the attach (in A and below) and a new nested namespace get the kernel\'s calls' },
], ['modules/testattach']);
