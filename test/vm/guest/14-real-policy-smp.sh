# cpu.real_policy under load (cgroup v2, 4 vCPUs):
#  - several CPUs: 8 CPU-bound tasks of a FIFO group on 4 CPUs all complete; on each CPU no two of
#    them interleave, and the ones that stayed where fork placed them began in fork order;
#  - nesting: CFS child groups inside a FIFO group are entities in its arrival order (each runs,
#    its tasks sharing by CFS, until it has nothing left on the CPU); a FIFO child inside a CFS parent keeps its order while
#    its CFS sibling task progresses beside it;
#  - bandwidth: a FIFO group throttled by cpu.max (30 %) completes its tasks in arrival order, and
#    flipping it back and forth while it is throttled leaves every task running;
#  - a FIFO group never starves its CFS siblings: weights 100 vs 300, the sibling gets ~75 %;
#  - CPU hotplug: a CPU with queued FIFO tasks goes offline (they move and complete), the group
#    flips while it is offline, and its queue on the CPU is FIFO again when it is back.
# vkvm-smp: 4
. /tests/lib.sh
cgroup2_setup
names="real_policy.smp_per_cpu_order real_policy.smp_cfs_control real_policy.nest_cfs_child real_policy.nest_fifo_child real_policy.bandwidth_order real_policy.bandwidth_flip real_policy.sibling_share real_policy.hotplug"
mkdir -p $u/smp $u/smpcfs

if [ ! -e $u/smp/cpu.real_policy ]; then
	# shellcheck disable=SC2086
	fail_all "no cpu.real_policy on this kernel" $names
	vkend
	exit 0
fi

# ran LINES -> "first end" of task I
first() { echo "$1" | awk -v i="$2" '$1 == "ran" && $2 == i { print $3 }'; }
end() { echo "$1" | awk -v i="$2" '$1 == "ran" && $2 == i { print $4 }'; }
oneline() { echo "$1" | tr '\n' ' '; }

# --- several CPUs ---
echo 1 >$u/smp/cpu.real_policy
out=$(vkt smp 8 300 $u/smp/cgroup.procs)
echo "$out"
echo "$out" | grep -q '^result done=8/8 interleaved=0 order_violations=0 '
result real_policy.smp_per_cpu_order $? "$(echo "$out" | grep '^result'); $(oneline "$(echo "$out" | grep -E '^(cpu [0-9]+:|migrations:)')")"
# control: the same in a CFS group interleaves on some CPU
out=$(vkt smp 8 300 $u/smpcfs/cgroup.procs)
echo "$out"
i=$(echo "$out" | sed -n 's/.*interleaved=\([0-9]*\).*/\1/p')
echo "$out" | grep -q '^result done=8/8 ' && [ "${i:-0}" -gt 0 ]
result real_policy.smp_cfs_control $? "CFS group: $(echo "$out" | grep '^result')"

# --- nesting: CFS child groups A and B inside a FIFO group F (v2: F's tasks are in its children).
# A arrives first (A1, A2), then B (B1), then A3 joins A: each child group is one entity in F's
# arrival order and runs until it has nothing left on the CPU (A1, A2, A3 share it by CFS), then B.
mkdir -p $u/f1
echo 1 >$u/f1/cpu.real_policy
echo +cpu >$u/f1/cgroup.subtree_control
mkdir -p $u/f1/a $u/f1/b
out=$(vkt order 200 $u/f1/a/cgroup.procs $u/f1/a/cgroup.procs $u/f1/b/cgroup.procs $u/f1/a/cgroup.procs)
echo "$out"
e0=$(end "$out" 0); f1=$(first "$out" 1); e1=$(end "$out" 1); f2=$(first "$out" 2); e2=$(end "$out" 2); e3=$(end "$out" 3)
[ "${e2:--1}" -ge 0 ] && [ "${e3:--1}" -ge 0 ] && [ "$f1" -lt "$e0" ] &&
	[ "$f2" -ge "$e0" ] && [ "$f2" -ge "$e1" ] && [ "$f2" -ge "$e3" ]
result real_policy.nest_cfs_child $? "A1 A2 interleaved, A3, then B1 (task 2): $(oneline "$out")"

# --- nesting: a FIFO child F inside a CFS parent P, beside a CFS sibling task S of P ---
mkdir -p $u/p
echo +cpu >$u/p/cgroup.subtree_control
mkdir -p $u/p/f $u/p/s
echo 1 >$u/p/f/cpu.real_policy
out=$(vkt order 200 $u/p/f/cgroup.procs $u/p/s/cgroup.procs $u/p/f/cgroup.procs $u/p/f/cgroup.procs)
echo "$out"
e0=$(end "$out" 0); f1=$(first "$out" 1); f2=$(first "$out" 2); e2=$(end "$out" 2); f3=$(first "$out" 3); e3=$(end "$out" 3)
[ "${e3:--1}" -ge 0 ] && [ "$f2" -ge "$e0" ] && [ "$f3" -ge "$e2" ] && [ "$f1" -lt "$e0" ]
result real_policy.nest_fifo_child $? "F0 F2 F3 in order, S1 beside: $(oneline "$out")"

# --- bandwidth: cpu.max 30 ms per 100 ms ---
mkdir -p $u/bw
echo 1 >$u/bw/cpu.real_policy
echo "30000 100000" >$u/bw/cpu.max
out=$(vkt order 150 $u/bw/cgroup.procs $u/bw/cgroup.procs $u/bw/cgroup.procs)
echo "$out"
thr=$(sed -n 's/^nr_throttled //p' $u/bw/cpu.stat)
e0=$(end "$out" 0); f1=$(first "$out" 1); e1=$(end "$out" 1); f2=$(first "$out" 2); e2=$(end "$out" 2)
[ "${e2:--1}" -ge 0 ] && [ "$f1" -ge "$e0" ] && [ "$f2" -ge "$e1" ] && [ "${thr:-0}" -gt 0 ]
result real_policy.bandwidth_order $? "nr_throttled=$thr: $(oneline "$out")"

# flipping a throttled group: 3 spinners in it while its policy flips every 50 ms (40 times),
# then CFS: every spinner got CPU over the window, nothing hung
mkdir -p $u/bwf
echo "30000 100000" >$u/bwf/cpu.max
echo 1 >$u/bwf/cpu.real_policy
(
	k=0
	while [ $k -lt 40 ]; do
		echo $(((k + 1) % 2)) >$u/bwf/cpu.real_policy
		usleep 50000
		k=$((k + 1))
	done
	echo 0 >$u/bwf/cpu.real_policy
) &
flipper=$!
out=$(vkt share 4000 $u/bwf/cgroup.procs $u/bwf/cgroup.procs $u/bwf/cgroup.procs)
wait $flipper
echo "$out"
thr=$(sed -n 's/^nr_throttled //p' $u/bwf/cpu.stat)
low=$(echo "$out" | awk '$1 == "share" && $4 < 5 { n++ } END { print n + 0 }')
[ "$(echo "$out" | grep -c '^share')" = 3 ] && [ "$low" = 0 ] && [ "${thr:-0}" -gt 0 ]
result real_policy.bandwidth_flip $? "40 flips while throttled (nr_throttled=$thr), each spinner >= 5 %: $(oneline "$out")"

# --- a FIFO group (weight 100, 3 spinners) beside a CFS sibling (weight 300, 1 spinner) ---
mkdir -p $u/sf $u/ss
echo 1 >$u/sf/cpu.real_policy
echo 100 >$u/sf/cpu.weight
echo 300 >$u/ss/cpu.weight
out=$(vkt share 2000 $u/sf/cgroup.procs $u/sf/cgroup.procs $u/sf/cgroup.procs $u/ss/cgroup.procs)
echo "$out"
sib=$(echo "$out" | awk '$1 == "share" && $2 == 3 { print $4 }')
[ "${sib:-0}" -ge 65 ] && [ "${sib:-100}" -le 85 ]
result real_policy.sibling_share $? "sibling ${sib}% (expected 75 +- 10): $(oneline "$out")"

# --- CPU hotplug: CPU 1 goes offline 300 ms after 3 tasks of 400 ms were queued there in a FIFO
# group (their affinity is broken, they move to other CPUs and complete); the group flips to CFS
# and back while CPU 1 is offline (its run queue there switches too); CPU 1 comes back and 3 new
# tasks queued there run in arrival order.
mkdir -p $u/hp
echo 1 >$u/hp/cpu.real_policy
cpu1=/sys/devices/system/cpu/cpu1/online
vkt order 400 $u/hp/cgroup.procs $u/hp/cgroup.procs $u/hp/cgroup.procs >/tmp/hp.1 2>&1 &
hpbg=$!
sleep 0.3
offw=$(vkt write $cpu1 0)
fl="$(vkt write $u/hp/cpu.real_policy 0),$(vkt write $u/hp/cpu.real_policy 1)"
wait $hpbg
hp1=$(cat /tmp/hp.1)
onw=$(vkt write $cpu1 1)
out=$(vkt order 150 $u/hp/cgroup.procs $u/hp/cgroup.procs $u/hp/cgroup.procs)
echo "$hp1"
echo "$out"
done1=$(echo "$hp1" | awk '$1 == "ran" && $4 >= 0 { n++ } END { print n + 0 }')
e0=$(end "$out" 0); f1=$(first "$out" 1); e1=$(end "$out" 1); f2=$(first "$out" 2); e2=$(end "$out" 2)
[ "$offw" = ok ] && [ "$onw" = ok ] && [ "$fl" = ok,ok ] && [ "$done1" = 3 ] &&
	[ "${e2:--1}" -ge 0 ] && [ "$f1" -ge "$e0" ] && [ "$f2" -ge "$e1" ]
result real_policy.hotplug $? "offline $offw, flips $fl, done $done1/3: $(oneline "$hp1")| online $onw, then: $(oneline "$out")"
vkend
