# The runtime SIGKILLed in the middle of a create of a container with per-container kernel
# parameters (issue 10 §1, the ns-sysctl rows of the crash matrix): `start` must refuse a container
# whose create was killed before its values were in force and recorded (its process would read the
# host's values), run one whose create got that far, and `delete --force` alone must leave nothing
# (no state, lock file, runc container, cgroup) with the host's values untouched. `ns-enabled` is the
# window between the enable write and its read-back: the namespace already has its values there.
# Needs the payload of test/vm/lib/runtime-payload.mjs (bundle sysro: wakeup 3000000, ratio 40).
. /tests/lib.sh
CHECKS="sysctl_crash.unfinished_start_refused sysctl_crash.enabled_window_real sysctl_crash.finished_start_runs"
runtime_required $CHECKS
g=/proc/sys/kernel/sched_wakeup_granularity_ns
r=/proc/sys/vm/overcommit_ratio
host() { echo "$(cat $g 2>/dev/null),$(cat $r)"; }
h0=$(host)

# what is left of container $1
leftovers() { runtime_leftovers "$1"; }
status() { runc --root /run/runc state "$1" 2>/dev/null | grep '"status"' | sed 's/.*: *"\([a-z]*\)".*/\1/'; }
initpid() { runc --root /run/runc state "$1" 2>/dev/null | grep '"pid"' | sed 's/[^0-9]//g'; }

# killed ID POINT: create of sysro SIGKILLed at POINT, then start; sets rc, hit, st (status after
# start), src (start's exit code), serr (start's last line), ran (what the container printed)
killed() {
	rm -f /tmp/trace
	VKERNEL_RUNTIME_TEST_FAULT="kill-at=create/$2,trace=/tmp/trace" \
		$RT create --no-pivot --bundle /opt/bundles/sysro "$1" </dev/null >"/tmp/$1.out" 2>&1
	rc=$?
	hit=$(cut -d' ' -f2,3 /tmp/trace 2>/dev/null)
	[ "$2" = ns-enabled ] && [ "$rc" = 137 ] && window="$(nsenter -t "$(initpid "$1")" -p -- cat $g $r 2>&1 | tr '\n' ',')"
	$RT start "$1" >"/tmp/$1.start" 2>&1
	src=$?
	serr=$(tail -n 1 "/tmp/$1.start")
	sleep 0.5
	st=$(status "$1")
	ran=$(grep -o 'read=.*' "/tmp/$1.out")
}
# delete ID: delete --force, then what is left (sets drc, after)
delete() {
	$RT delete --force "$1" >"/tmp/$1.del" 2>&1
	drc=$?
	sleep 0.3
	after=$(leftovers "$1")
}

out=""
bad=""
window=""
n=0
for point in runc-created applying:ns-sysctls ns-enabled applied:ns-sysctls mid-state-write; do
	n=$((n + 1))
	id=sc$n
	killed $id $point
	delete $id
	out="$out $point: create rc=$rc (trace '$hit'), start rc=$src ('$serr') status '$st' ran '$ran', delete --force rc=$drc after '$after', host $(host);"
	[ "$rc" = 137 ] && [ -n "$hit" ] && [ "$src" = 1 ] && [ "$st" = created ] && [ -z "$ran" ] &&
		[ "$drc" = 0 ] && [ -z "$after" ] && [ "$(host)" = "$h0" ] || bad=1
	[ "$rc" = 137 ] || break
done
[ -z "$bad" ]
result sysctl_crash.unfinished_start_refused $? "host was $h0;${out}"

# the kill at ns-enabled hit the window: the namespace read its own values before any record of it
[ "$window" = "3000000,40," ]
result sysctl_crash.enabled_window_real $? "killed at ns-enabled, the container's pid namespace read '${window:-nothing (create never got there)}' (asked 3000000,40)"

out=""
bad=""
n=0
for point in applied-all created; do
	n=$((n + 1))
	id=sf$n
	killed $id $point
	delete $id
	out="$out $point: create rc=$rc (trace '$hit'), start rc=$src, ran '$ran', delete --force rc=$drc after '$after', host $(host);"
	[ "$rc" = 137 ] && [ -n "$hit" ] && [ "$src" = 0 ] && [ "$ran" = "read=3000000,40 write=EROFS,EROFS after=3000000,40" ] &&
		[ "$drc" = 0 ] && [ -z "$after" ] && [ "$(host)" = "$h0" ] || bad=1
	[ "$rc" = 137 ] || break
done
[ -z "$bad" ]
result sysctl_crash.finished_start_runs $? "${out# }"
vkend
