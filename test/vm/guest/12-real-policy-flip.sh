# cpu.real_policy under a policy change with queued CPU-bound tasks (cgroup v2),
# on one CPU of a 4-vCPU guest:
#  - FIFO -> CFS: every queued task runs again within 2 s, and each of the 3
#    gets its fair share (33 % +- 10 %) over those 2 s (the tasks that waited
#    on the FIFO list re-enter the tree where a new arrival would);
#  - CFS -> FIFO: the tasks queued before the flip all end before a task that
#    arrives after it first runs;
#  - sched_yield() in a FIFO group moves the caller to the tail.
# vkvm-smp: 4
. /tests/lib.sh
cgroup2_setup
mkdir -p $u/flip $u/order

if [ ! -e $u/flip/cpu.real_policy ]; then
	fail_all "no cpu.real_policy on this kernel" real_policy.flip_to_cfs_progress \
		real_policy.flip_to_cfs_fair real_policy.flip_to_fifo_order real_policy.fifo_yield
	vkend
	exit 0
fi

echo 1 >$u/flip/cpu.real_policy
out=$(vkt flip-share 3 $u/flip/cgroup.procs $u/flip/cpu.real_policy 1500 2000)
echo "$out"
r=$(echo "$out" | sed -n 's/^result //p')
detail="$(echo "$out" | grep '^after flip') ($r)"
echo "$r" | grep -q '^progressed=3/3 '
result real_policy.flip_to_cfs_progress $? "$detail"
min=$(echo "$r" | sed -n 's/.*minshare=\([0-9]*\).*/\1/p')
max=$(echo "$r" | sed -n 's/.*maxshare=\([0-9]*\).*/\1/p')
[ "${min:-0}" -ge 23 ] && [ "${max:-100}" -le 43 ]
result real_policy.flip_to_cfs_fair $? "$detail"

echo 0 >$u/order/cpu.real_policy
out=$(vkt flip-order 3 400 $u/order/cgroup.procs $u/order/cpu.real_policy)
echo "$out"
echo "$out" | grep -q '^result new_after_old=1'
result real_policy.flip_to_fifo_order $? "$(echo "$out" | grep '^flip-order')"

# sched_yield() in a FIFO group moves the caller to the tail: a waiter spinning on sched_yield()
# for a lock whose holder is queued behind it on the same CPU does not livelock.
mkdir -p $u/yield
echo 1 >$u/yield/cpu.real_policy
out=$(vkt yield-lock $u/yield/cgroup.procs 5)
echo "$out"
echo "$out" | grep -q '^holder_done=1 waiter_done=1'
result real_policy.fifo_yield $? "$out"
vkend
