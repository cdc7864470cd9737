# The rt v2 backend (issue 16 §1) on a kernel we did not build: Debian's stock kernel, cgroup v2,
# no RT group scheduling. sched.policy=fifo through the real runtime (bun engine) and runc: the
# tasks are SCHED_FIFO, a busy container is held to its RT budget by the supervisor, the host stays
# responsive, a task started later by exec follows, and delete (also after SIGKILL of the supervisor
# or of the runtime mid-create) leaves nothing. On a kernel with RT group scheduling the backend is
# not chosen: every check FAILs with the runtime's reason.
# Needs the payload of test/vm/lib/runtime-payload.mjs plus rt-v2.test.ts's (rtload, bundles
# rtidle/rtburn, /boot/config-<release>).
. /tests/lib.sh
CHECKS="rtv2.backend_chosen rtv2.fifo_arrival_order rtv2.tasks_fifo rtv2.exec_follows rtv2.budget_held rtv2.host_responsive rtv2.delete_clean rtv2.supervisor_killed_recovers rtv2.supervisor_killed_clean rtv2.refused_at_create rtv2.killed_mid_create_clean rtv2.hackbench"
if [ ! -x /opt/vkr/bin/vkernel-runtime ] || [ ! -e /opt/bundles/rtburn/config.json ]; then
	fail_all "no runtime or rt v2 bundles in the initramfs (rt-v2.test.ts payload)" $CHECKS
	vkend
	exit 0
fi
# a container host on cgroup v2, as Debian 12 boots by default
mkdir -p /sys/fs/cgroup /run /var/run /etc
grep -q ' /sys/fs/cgroup ' /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpu +cpuset +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
export PATH=/usr/sbin:/usr/bin:/bin
RT="$VKR --root /run/runc"
# the operator's config: the supervisor may use up to 50 % of one CPU (default 20 %): a sample that
# costs ~0.4 ms on the test host costs 25-250 ms in this emulated guest (more as the machine running
# qemu gets loaded), and at 20 % it could sample only every 0.1-1.2 s. The 20 % default bound is
# proven on real CPUs (test/integration/rt-supervisor.test.ts, samples made 10 ms costlier)
mkdir -p /etc/vkernel-runtime
printf 'rt:\n  supervisor_cpu_percent: 50\n' >/etc/vkernel-runtime/config.yaml
CG=/sys/fs/cgroup
RTV2_LOCKS=/run/vkernel-runtime/locks
RTV2_GROUPS=$CG
create() { $RT create --no-pivot --bundle "/opt/bundles/$1" "$2" </dev/null >"/tmp/$2.out" 2>&1; }
uptime_ms() { read -r u _ </proc/uptime; echo $(( ${u%.*} * 1000 + 10#${u#*.} * 10 )); }
# what is left of container $1: state, cgroup, supervisor group, process, log, ledger holder
leftovers() {
	_l=""
	for f in /run/runc/vkernel@"$1".*; do [ -e "$f" ] && _l="$_l state:${f##*/}"; done
	[ -d "$CG/$1" ] && _l="$_l cgroup"
	[ -d "$CG/vkernel-rt-$1" ] && _l="$_l supervisor-group"
	[ -n "$(supervisors "$1")" ] && _l="$_l supervisor:$(supervisors "$1" | tr '\n' ' ')"
	[ -e "/run/vkernel-runtime/locks/rt-supervisor@$1.log" ] && _l="$_l log"
	holders | grep -q "/$1\"" && _l="$_l ledger-holder"
	echo "${_l# }"
}

# which backend: features says rt v2 (and why); a fifo create goes through it
v=$($RT features 2>&1 | grep -o '"org.vkernel-runtime.sched.backend[a-z.]*": "[^"]*"' | tr '\n' ' ')
if ! create rtidle i1; then
	why="create refused: $(tail -n 1 /tmp/i1.out); features: $v"
	fail_all "$why" $CHECKS
	$RT delete --force i1 >/dev/null 2>&1
	vkend
	exit 0
fi
b=$(grep -o '"backend": "[a-z0-9-]*"' /run/runc/vkernel@i1.json | head -n 1)
case "$v" in *'backend": "rt v2"'*) [ "$b" = '"backend": "rt-v2"' ] ;; *) false ;; esac
result rtv2.backend_chosen $? "$v; state: $b; release $(uname -r), $(grep -c . /proc/mounts) mounts, cgroup2 at $CG"

# the container's tasks: SCHED_FIFO 1; the supervisor SCHED_FIFO 99 in its own group beside the container's
$RT start i1
sleep 0.3
init=$(sed -n 1p $CG/i1/cgroup.procs)
sup=$(supervisors i1)
ip=$(policy "$init")
sup=$(supervisor i1)
sp=$(policy "$sup")
sg=$(sort -n $CG/vkernel-rt-i1/cgroup.procs 2>&1 | tr '\n' ' ')
all=$(supervisors i1 | sort -n | tr '\n' ' ')
[ "$ip" = 1/1 ] && [ "$sp" = 1/99 ] && [ "$sg" = "$all" ] && [ "$(echo $all | wc -w)" = 2 ]
result rtv2.tasks_fifo $? "init $init policy/prio $ip (chrt: $(chrt -p "$init" 2>&1 | tr '\n' ' ')); supervisor $sup $sp in vkernel-rt-i1 with its sentinel (procs: $sg)"

# a task started later by exec follows: it measures how long after its start it became FIFO (5 times);
# the supervisor sweeps every 20 ms while FIFO, longer where its samples are costly (its self-limit:
# a sample costs it 15-35 ms of CPU in this emulated guest), and its self-limit may make it wait
# before it samples again (it counts the waits): the bound is 150 ms + 10 of its sweeps (the wider
# of before and after) + the time it reported waiting over the 5 execs (CI 2026-12-04, a loaded
# host: 8 waits of 967 ms in all, one task FIFO after 900 ms)
s0=$(supstats i1)
lags=""
for n in 1 2 3 4 5; do
	out=$(runc --root /run/runc exec i1 rtload waitfifo 8000 2>&1)
	lag=$(echo "$out" | sed -n 's/^fifo after \([0-9]*\) us$/\1/p')
	lags="$lags ${lag:-$out}"
done
s1=$(supstats i1)
sw=$(printf '%s\n%s\n' "$s0" "$s1" | sed -n 's/.*sweep \([0-9]*\) ms.*/\1/p' | sort -n | tail -n 1)
wt=$(supwaited "$s0" "$s1")
r=0
for lag in $lags; do
	case $lag in *[!0-9]*) r=1 ;; *) [ -n "$sw" ] && [ -n "$wt" ] && [ "$lag" -lt $((150000 + 10 * sw * 1000 + wt * 1000)) ] || r=1 ;; esac
done
[ "$(echo $lags | wc -w)" -ge 5 ] || r=1
result rtv2.exec_follows $r "5 exec'd tasks became FIFO after (us):$lags (accepted: below 150 ms + 10 of the supervisor's sweeps, ${sw:-?} ms, + its self-limit's waits over them, ${wt:-?} ms: it spaces its samples out where they are costly, and a runc exec's own threads joining make them costlier); before: $s0; after: $s1"
$RT delete --force i1 >/dev/null 2>&1
l1=$(leftovers i1)

# the host's own wake-up lateness without any container (TCG on a shared host has its own)
base=$(rtload lat 2000)

# budget: 2 CPU-bound FIFO tasks (rtload fifoburn: each counts its CPU time by its own policy) on 2
# vCPUs against 2 CPU-bound host tasks (the container's group at cpu.weight 1, so that while demoted
# it gets little): their FIFO time over 4 s is at most the budget, 25 % of 2 CPUs by default, and
# (unless the supervisor demoted early) at least 20 %. Their CPU time as a whole is printed: what
# they get demoted is the fair class's (with a free CPU at times: the supervisor's sampling).
mkdir -p $CG/hostload
create rtburn b1 || echo "create b1: $(tail -n 1 /tmp/b1.out)"
echo 1 >$CG/b1/cpu.weight
$RT start b1
sh -c "echo \$\$ >$CG/hostload/cgroup.procs; exec rtload burn 2" &
hl=$!
sleep 1
s0=$(supstats b1)
n0=$(loglines b1)
m=$(fifospan /tmp/b1.out $CG/b1 $CG/hostload)
kill $hl; for p in $(cat $CG/hostload/cgroup.procs); do kill "$p"; done
wall=$(field wall_us "$m")
fu=$(field fifo_us "$m")
cu=$(field "$CG/b1" "$m")
hu=$(field "$CG/hostload" "$m")
fshare=$(pct2 "$fu" "$wall")
share=$(pct2 "$cu" "$wall")
hshare=$(pct2 "$hu" "$wall")
s1=$(supstats b1)
e1=$(echo "$s1" | sed -n 's/.*demotions (\([0-9]*\) early).*/\1/p')
b=$(fifobounds "$s0" "$(suplog b1 "$n0")" "$wall")
lo=${b% *}
hi=${b#* }
# never more than the budget (31: the span's ends cut windows; more for a wider window: fifobounds);
# as much as it only where the supervisor could afford to sample when the budget ran out (its
# self-limit: else it demotes early, counted as "early" in its log, or waits, which fifobounds takes off)
[ -n "$wall" ] && [ "$(field reporters "$m")" = 2 ] && [ "$fshare" -le "$hi" ] && { [ "$fshare" -ge "$lo" ] || [ "${e1:-0}" -gt 0 ]; }
result rtv2.budget_held $? "container FIFO ${fshare} % of 2 CPUs over ${wall:-?} us by its tasks' own count (budget 25 %, accepted at most $hi, at least $lo unless the supervisor demoted early: ${e1:-?} early demotions), all its CPU ${share} %, host load ${hshare} %; $m; $s1"

# the host stays responsive: a host task sleeping 1 ms at a time, while the busy container runs
# alone (no host load: its tasks take both CPUs while FIFO)
# latspan: hl (rtload lat over 3000 sleeps), s2 (the supervisor's counters after), l2log (what it
# logged meanwhile: its slow samples, a change of window) and l2cost (the most its samples cost in
# the span, ms CPU each, whole)
latspan() {
	n2=$(loglines b1)
	hl=$(rtload lat 3000)
	s2=$(supstats b1)
	l2log=$(suplog b1 "$n2" | grep -v 'samples,' | cut -d' ' -f2- | tail -n 8 | tr '\n' ';')
	l2cost=$(printf '%s\n%s\n' "$s2" "$l2log" | tr ';' '\n' | sed -n 's/.* \([0-9]*\)\.[0-9]* ms CPU per sample.*/\1/p; s/.*its samples cost \([0-9]*\)\.[0-9]* ms CPU.*/\1/p' | sort -n | tail -n 1)
}
sleep 0.5
latspan
# a span in which the supervisor's samples cost more than 40 ms of CPU each was one where the
# machine running qemu starved this guest (15-35 ms in a TCG guest; see below): the guest's own
# stalls are then the host task's lateness too, and the supervisor's windows are widened by its
# self-limit. Such a span is measured again, once, and the check judges the second (both printed).
again=
if [ "${l2cost:-0}" -gt 40 ]; then
	again="a first span with samples of up to $l2cost ms CPU, measured again: $hl; $s2; its log meanwhile: ${l2log:-nothing}; second span: "
	sleep 1
	latspan
fi
max=$(echo "$hl" | sed -n 's/.*max_us=\([0-9]*\).*/\1/p')
p99=$(echo "$hl" | sed -n 's/.*p99_us=\([0-9]*\).*/\1/p')
$RT delete --force b1 >/dev/null 2>&1
l2=$(leftovers b1)
# the contrast: the same two tasks SCHED_FIFO without the runtime (only the kernel's global RT limit)
mkdir -p $CG/bare
sh -c "echo \$\$ >$CG/bare/cgroup.procs; exec chrt -f 1 rtload burn 2" &
bare=$!
sleep 0.3
ctl=$(rtload lat 3000)
for p in $(cat $CG/bare/cgroup.procs); do kill -9 "$p"; done
wait $bare 2>/dev/null
# the container may hold both CPUs as FIFO for its budget of a window (25 % × 100 ms × 2 CPUs / 2
# tasks = 25 ms), the supervisor's samples (FIFO 99) hold one: on real CPUs ~0.3 ms each, in this
# TCG guest 15-35 ms (its counters below), a few per window, more when the machine running qemu is
# loaded (the guest's own jitter, printed as "no container", then reaches 60 ms). So the check is
# relative to the same two tasks without the supervisor in the same boot (the kernel's global RT
# limit only: ~1 s, up to 1.8 s on a loaded host): p99 and max both below a third of theirs
# (the supervisor's self-limit: where its samples are costly its windows are longer, and so the
# container's FIFO bursts: the max is held to half, the p99 to a third)
cmax=$(echo "$ctl" | sed -n 's/.*max_us=\([0-9]*\).*/\1/p')
[ -n "$max" ] && [ -n "$p99" ] && [ -n "$cmax" ] && [ $((p99 * 3)) -lt "$cmax" ] && [ $((max * 2)) -lt "$cmax" ]
result rtv2.host_responsive $? "host task wake-up lateness beside the busy fifo container: ${again}$hl (accepted: p99 below a third, max below half of the max without the supervisor); no container: $base; without the supervisor (chrt -f, global RT limit only): $ctl; $s2; its log meanwhile: ${l2log:-nothing}"

# delete of a created-and-started container leaves nothing (state, cgroups, supervisor, log, ledger)
[ -z "$l1" ] && [ -z "$l2" ]
result rtv2.delete_clean $? "after delete --force: i1 '${l1}', b1 '${l2}'; ledger holders '$(holders)'"

# the supervisor SIGKILLed under a busy fifo container, while its tasks are FIFO: its sentinel
# demotes them at once and starts a new supervisor, which holds the container to its budget again
# (against the same host load as rtv2.budget_held). Unsupervised, the two FIFO tasks would hold
# both vCPUs but for the kernel's global RT limit (50 ms a second left to this shell).
create rtburn r1 || echo "create r1: $(tail -n 1 /tmp/r1.out)"
echo 1 >$CG/r1/cpu.weight
$RT start r1
sleep 1
rinit=$(sed -n 1p $CG/r1/cgroup.procs)
old=$(supervisor r1)
# a watcher at FIFO 50 (above the tasks, below the supervisor and sentinel) waits until the init is
# FIFO, SIGKILLs the supervisor and times until the init is not FIFO any more
kw=$(rtload killwatch "$old" "$rinit" 5000)
dt=$(echo "$kw" | sed -n 's/^policy [0-9]* after \([0-9]*\) us$/\1/p')
# the new supervisor logs its start once its own sentinel is ready, before its first promotion (an
# engine start-up: seconds in this guest, the tasks SCHED_OTHER meanwhile): measured from then on
rlogf="$RTV2_LOCKS/rt-supervisor@r1.log"
n=0
while ! grep -q '(restart 1), sentinel' "$rlogf" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.2; n=$((n + 1)); done
sleep 1
# and once its samples are back to their usual cost: a new engine's first samples are costly here
# (JIT, 45-130 ms of CPU each under TCG), and its self-limit widens the window and sweep for them
# (up to 800 ms: the budget held per window, its overrun up to a sweep), then narrows them again
for n in 1 2 3 4 5; do
	w=$(supstats r1 | sed -n 's/.*self-limit: window \([0-9]*\) ms.*/\1/p')
	[ -n "$w" ] && [ "$w" -le 200 ] && break
done
new=$(supervisor r1)
sh -c "echo \$\$ >$CG/hostload/cgroup.procs; exec rtload burn 2" &
hl=$!
sleep 1
# the FIFO share (fifospan) over 4 s, judged by the window the supervisor had there (fifobounds:
# a span in which its samples got costly again, the host load slowing the whole guest, and its
# self-limit widened the window, cuts a wider window at its ends; seen in CI 2026-12-04: windows
# widened to 1000 ms in three spans running, FIFO 17-23 %)
sa=$(supstats r1)
na=$(loglines r1)
m=$(fifospan /tmp/r1.out $CG/r1 $CG/hostload)
sb=$(supstats r1)
wall=$(field wall_us "$m")
fu=$(field fifo_us "$m")
cu=$(field "$CG/r1" "$m")
rshare=$(pct2 "$fu" "$wall")
reporters=$(field reporters "$m")
b=$(fifobounds "$sa" "$(suplog r1 "$na")" "$wall" 15)
lo=${b% *}
hi=${b#* }
wset=$(suplog r1 "$na" | sed -n 's/.*its samples cost .* -> \([0-9]*\) ms, sweep.*/\1/p' | tr '\n' ' ')
kill $hl; for p in $(cat $CG/hostload/cgroup.procs); do kill "$p"; done
rlog=$(grep -o -e 'sentinel: .*' -e 'its samples cost .*' "$rlogf" 2>/dev/null | tr '\n' ';')
re=$(echo "$sb" | sed -n 's/.*demotions (\([0-9]*\) early).*/\1/p')
$RT delete --force r1 >/dev/null 2>&1
l4=$(leftovers r1)
[ -n "$dt" ] && [ "$dt" -lt 1000000 ] && [ -n "$new" ] && [ "$new" != "$old" ] && [ "$reporters" = 2 ] && [ "$rshare" -le "$hi" ] && { [ "$rshare" -ge "$lo" ] || [ "${re:-0}" -gt 0 ]; } && [ -z "$l4" ]
result rtv2.supervisor_killed_recovers $? "supervisor $old SIGKILLed while the init was FIFO: $kw (accepted: below 1 s); then supervisor ${new:-none}, container FIFO ${rshare} % of 2 CPUs over ${wall} us by its tasks' own count against the host load (budget 25 %, accepted at most $hi, at least $lo unless it demoted early: ${re:-?}), all its CPU $(pct2 "$cu" "$wall") %, measured once its window was ${w:-?} ms (windows set in the span: ${wset:-none}; counters before: $sa; after: $sb); log: $rlog; after delete --force: '$l4'"

# the supervisor and its sentinel SIGKILLed together: delete --force still removes everything (their group too)
create rtidle k1 && $RT start k1
s=$(supervisors k1 | tr '\n' ' ')
kill -9 $s
sleep 0.2
left_running=$(leftovers k1)
$RT delete --force k1 >/dev/null 2>&1
l3=$(leftovers k1)
[ -n "$s" ] && [ -z "$l3" ]
result rtv2.supervisor_killed_clean $? "supervisor $s killed (then: '$left_running'); after delete --force: '$l3'"

# what rt v2 cannot do is refused at create, before runc creates anything: rt.priority 99 (the
# supervisor's own priority) in the operator's config, and sched.policy=adaptive
printf 'rt:\n  priority: 99\n' >/tmp/p99.yaml
VKERNEL_RUNTIME_CONFIG=/tmp/p99.yaml $RT create --no-pivot --bundle /opt/bundles/rtidle q1 </dev/null >/tmp/q1.out 2>&1
rc1=$?
$RT create --no-pivot --bundle /opt/bundles/rtadapt q2 </dev/null >/tmp/q2.out 2>&1
rc2=$?
lq=""
for q in q1 q2; do
	runc --root /run/runc state $q >/dev/null 2>&1 && lq="$lq $q:runc-container"
	lq="$lq$(leftovers $q | sed "s/^./ $q:&/")"
done
e1=$(tail -n 1 /tmp/q1.out)
e2=$(tail -n 1 /tmp/q2.out)
[ $rc1 = 1 ] && [ $rc2 = 1 ] && [ -z "$lq" ] && echo "$e1" | grep -q 'rt.priority 99 .*rt v2 backend' && echo "$e2" | grep -q 'adaptive is not available with the rt v2 backend'
result rtv2.refused_at_create $? "priority 99: rc=$rc1 '$e1'; adaptive: rc=$rc2 '$e2'; left: '${lq# }'"

# the runtime SIGKILLed mid-create: before the supervisor starts, and right after
r=""
for point in rt-v2-held rt-v2-supervisor-started; do
	VKERNEL_RUNTIME_TEST_FAULT=kill-at=$point $RT create --no-pivot --bundle /opt/bundles/rtidle m1 </dev/null >/tmp/m1.out 2>&1
	rc=$?
	before=$(leftovers m1)
	$RT delete --force m1 >/dev/null 2>&1
	sleep 0.3
	after=$(leftovers m1)
	r="$r $point: create rc=$rc, left '$before', after delete --force '$after';"
	[ $rc = 137 ] && [ -z "$after" ] || bad=1
done
[ -z "${bad:-}" ]
result rtv2.killed_mid_create_clean $? "$r"

# arrival order (issue 16: the three ways to a FIFO group on the same check as
# real_policy.fifo_arrival_order and scx.fifo_arrival_order): a fifo container's 4 CPU-bound tasks of
# 150 ms on CPU 1 (vkt fifo 4 150 -). SCHED_FIFO keeps them in arrival order while the group is
# FIFO; rt v2 demotes the group for the rest of a window once it used its budget (SCHED_OTHER: CFS
# shares the CPU meanwhile) and promotes its threads again at the next, in the order it lists them.
# With the default budget (25 % of the 2 CPUs, 50 ms a 100 ms window) the 600 ms of work must be
# demoted (measured: spans printed). With an operator budget of 60 % (120 ms a window, more than one
# CPU can use; the container idles 1 s first, so that what runc's init used at create is paid) the
# group is not demoted unless the supervisor's self-limit makes it demote early (costly samples under
# TCG): if it was not demoted, the tasks must run in arrival order, none interleaved.
printf 'rt:\n  budget_percent: 60\n  supervisor_cpu_percent: 50\nlimits:\n  rt_budget_percent: 60\n' >/tmp/b60.yaml
# order_run ID [CONFIG]: create + start, wait for the container to end, the supervisor's last log
# line (its counters when the init was gone: demotions, early ones), delete
order_run() {
	VKERNEL_RUNTIME_CONFIG=${2:-/etc/vkernel-runtime/config.yaml} $RT create --no-pivot --bundle /opt/bundles/rtorder "$1" </dev/null >"/tmp/$1.out" 2>&1 || return 1
	$RT start "$1" || return 1
	for _i in $(seq 150); do
		grep -q '^result' "/tmp/$1.out" && grep -q 'samples,' "/run/vkernel-runtime/locks/rt-supervisor@$1.log" 2>/dev/null && break
		sleep 0.2
	done
	grep 'samples,' "/run/vkernel-runtime/locks/rt-supervisor@$1.log" 2>/dev/null | tail -n 1 | grep -o '[0-9]* demotions ([0-9]* early), [0-9]* promotions' >"/tmp/$1.sup"
	$RT delete --force "$1" >/dev/null 2>&1
}
order_run o60 /tmp/b60.yaml
rc60=$?
order_run o25
rc25=$?
said_order() { echo "rc=$1 $(grep -o '^policy=[0-9]*' "$2.out") $(grep '^fifo:' "$2.out" | tail -n 1) $(grep '^result' "$2.out" | tail -n 1 || tail -n 1 "$2.out"); supervisor: $(cat "$2.sup" 2>/dev/null)"; }
d60=$(sed -n 's/^\([0-9]*\) demotions.*/\1/p' /tmp/o60.sup 2>/dev/null)
d25=$(sed -n 's/^\([0-9]*\) demotions.*/\1/p' /tmp/o25.sup 2>/dev/null)
[ $rc60 = 0 ] && [ $rc25 = 0 ] && grep -q '^result inorder=' /tmp/o25.out && [ "${d25:-0}" -gt 0 ] &&
	[ -n "$d60" ] && { [ "$d60" -gt 0 ] || grep -q '^result inorder=1 overlaps=0$' /tmp/o60.out; }
result rtv2.fifo_arrival_order $? "budget 60 %: $(said_order $rc60 /tmp/o60); budget 25 %: $(said_order $rc25 /tmp/o25); left: '$(leftovers o60)$(leftovers o25)'"

# the same message-passing load in a fifo and a cfs container (fifo held to its 25 % budget)
hackbench_pair rtv2.hackbench 1
vkend
