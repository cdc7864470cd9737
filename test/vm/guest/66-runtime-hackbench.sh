# Issue 16's comparison of the ways to a FIFO group, the kernel backend's part: the same
# message-passing load as rtv2.hackbench and scx.hackbench (guest/lib.sh hackbench_pair) in a fifo
# container (cpu.real_policy=1: its tasks stay SCHED_OTHER) and a cfs container through the real
# runtime. On the unpatched kernel `auto` picks rt v1 (SCHED_FIFO): the check FAILs, naming it.
. /tests/lib.sh
runtime_required runtime.hackbench
hackbench_pair runtime.hackbench 0
vkend
