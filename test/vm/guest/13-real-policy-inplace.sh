# cpu.real_policy: a task keeps or takes its place in a FIFO group's queue (cgroup v2), on CPU 1 of
# a 4-vCPU guest, with 3 CPU-bound tasks queued in the group (task 0 runs, 1 and 2 wait):
#  - a task moved into the group while it runs arrives at the tail: it runs again only after the
#    queued tasks ended (before the fix it became the running head and overtook them);
#  - a change in place of a queued task keeps its place (0, 1, 2 still run in that order): a nice
#    change, an affinity change that keeps its CPU, a PI boost by a nice -5 FUTEX_LOCK_PI waiter
#    outside the group (before the fix each sent task 1 to the tail: 0, 2, 1).
# vkvm-smp: 4
. /tests/lib.sh
cgroup2_setup
names="real_policy.move_running_to_tail real_policy.inplace_nice real_policy.inplace_affinity real_policy.inplace_pi"
mkdir -p $u/mv $u/nice $u/aff $u/pi

if [ ! -e $u/mv/cpu.real_policy ]; then
	# shellcheck disable=SC2086
	fail_all "no cpu.real_policy on this kernel" $names
	vkend
	exit 0
fi

echo 1 >$u/mv/cpu.real_policy
out=$(vkt move-running 3 300 $u/mv/cgroup.procs)
echo "$out"
echo "$out" | grep -q '^result mover_after_old=1'
result real_policy.move_running_to_tail $? "$(echo "$out" | grep '^move-running')"

for how in nice:nice affinity:aff pi:pi; do
	h=${how%%:*}
	g=$u/${how##*:}
	echo 1 >$g/cpu.real_policy
	out=$(vkt inplace $h 600 $g/cgroup.procs)
	echo "$out"
	echo "$out" | grep -q '^result inorder=1'
	result real_policy.inplace_$h $? "$(echo "$out" | grep -v '^result' | tr '\n' ' ')"
done
vkend
