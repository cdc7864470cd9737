# cpu.real_policy stress (cgroup v2, 4 vCPUs), for the debug-kernel tier (test/vm/debug/stress.test.ts,
# run by kernel/debug-tier.sh on the kernel built with kernel/config/variants/debug.config; it runs on
# any patched kernel):
# for 60 s a message-passing load (vkt hackload: hackbench rounds) runs in a FIFO group's two child
# groups and in a CFS sibling, with two CPU-bound spinners in the FIFO group, the group limited by
# cpu.max (50 %), while the group's and a child's policies flip every 10 ms, tasks move between the
# children and get renice'd every 50 ms (arrivals, in-place changes, throttling, flips at once).
#  - real_policy.stress_progress: every load made progress (rounds > 0), the flips happened;
#  - real_policy.stress_no_report: no BUG, WARNING, lockdep, KFENCE, Oops or list corruption report
#    in the kernel log.
# vkvm-smp: 4
. /tests/lib.sh
S=60
cgroup2_setup
mkdir -p $u/f $u/s
if [ ! -e $u/f/cpu.real_policy ]; then
	fail_all "no cpu.real_policy on this kernel" real_policy.stress_progress real_policy.stress_no_report
	vkend
	exit 0
fi
echo +cpu >$u/f/cgroup.subtree_control
mkdir -p $u/f/a $u/f/b
echo 1 >$u/f/cpu.real_policy
echo "50000 100000" >$u/f/cpu.max
# the kernel log is left as it is (/init reads the whole boot's for the harness): this check reads
# what came after this line count
log0=$(dmesg | wc -l)

(echo 0 >$u/f/a/cgroup.procs && exec vkt hackload $S 1) >/tmp/st.a &
(echo 0 >$u/f/b/cgroup.procs && exec vkt hackload $S 1) >/tmp/st.b &
(echo 0 >$u/s/cgroup.procs && exec vkt hackload $S 1) >/tmp/st.s &
spin=""
for i in 1 2; do
	(echo 0 >$u/f/a/cgroup.procs && exec sh -c 'while :; do :; done') &
	spin="$spin $!"
done

# the flips come from vkt flipper (C, nanosleep, no fork per flip) at nice -20: a shell loop
# under TCG is far slower than 10 ms per round. Moves run in a shell loop of their own: each takes
# the cgroup threadgroup rwsem (an RCU grace period).
vkt flipper 10 $S $u/f/cpu.real_policy $u/f/a/cpu.real_policy >/tmp/st.flips &
renice -n -20 -p $! >/dev/null
read -r up _ </proc/uptime
end=$((${up%.*} + S))
moves=0
k=0
while :; do
	read -r up _ </proc/uptime
	[ "${up%.*}" -lt $end ] || break
	# a few tasks of a to b and back (errors: the task is gone)
	n=0
	while [ $n -lt 3 ] && read -r p; do
		echo "$p" >$u/f/b/cgroup.procs 2>/dev/null && moves=$((moves + 1))
		n=$((n + 1))
	done <$u/f/a/cgroup.procs
	n=0
	while [ $n -lt 2 ] && read -r p; do
		echo "$p" >$u/f/a/cgroup.procs 2>/dev/null && moves=$((moves + 1))
		n=$((n + 1))
	done <$u/f/b/cgroup.procs
	if [ $((k % 10)) = 0 ] && read -r p <$u/f/a/cgroup.procs; then
		renice -n $((k % 7)) -p "$p" >/dev/null 2>&1	# a nice change in place
	fi
	usleep 50000
	k=$((k + 1))
done
# shellcheck disable=SC2086
kill $spin
wait
echo 0 >$u/f/cpu.real_policy
ra=$(sed -n 's/^hackload rounds=//p' /tmp/st.a)
rb=$(sed -n 's/^hackload rounds=//p' /tmp/st.b)
rs=$(sed -n 's/^hackload rounds=//p' /tmp/st.s)
fl=$(cat /tmp/st.flips)
w=$(echo "$fl" | sed -n 's/.*writes=\([0-9]*\).*/\1/p')
[ "${ra:-0}" -gt 0 ] && [ "${rb:-0}" -gt 0 ] && [ "${rs:-0}" -gt 0 ] && [ "${w:-0}" -ge 600 ]
result real_policy.stress_progress $? "${S} s: hackbench rounds a=$ra b=$rb sibling=$rs (a and b share the FIFO group with 2 spinners), $fl (>= 600 writes; the goal is a round every 10 ms, a loaded TCG host stretches it), $moves moves, throttled $(sed -n 's/^nr_throttled //p' $u/f/cpu.stat) times"
rep=$(dmesg | tail -n +$((log0 + 1)) | grep -E 'BUG|WARNING|lockdep is turned off|lockdep:|circular locking|possible recursive locking|inconsistent lock state|suspicious RCU|KFENCE|Oops|general protection|list_add corruption|list_del corruption|sleeping function called' | head -n 3 | tr '\n' ' ')
[ -z "$rep" ]
result real_policy.stress_no_report $? "${rep:-no report in the kernel log}"
vkend
