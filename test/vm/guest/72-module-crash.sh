# The runtime SIGKILLed in the middle of a create (and of a delete) of a container with the
# per-container module: `delete --force` alone must leave nothing — no module, no sysfs entry, no
# state, no runc container, no cgroup (issue 10 §1). The window that matters is `module-loaded`:
# insmod done, the module attached, our state not yet saying so; the applier journals the name
# before insmod, so delete finds it. Needs the payload of test/vm/lib/runtime-payload.mjs with
# VKVM_PAYLOAD_MODULE_KDIR (as 70-module.sh).
. /tests/lib.sh
CHECKS="module_crash.create_killed_clean module_crash.loaded_window_real module_crash.delete_killed_clean module_crash.gc_after_kill"
if [ ! -x /opt/vkr/bin/vkernel-runtime ]; then
	fail_all "no runtime in the initramfs (VKVM_EXTRA_LIST of test/vm/lib/runtime-payload.mjs)" $CHECKS
	vkend
	exit 0
fi
runtime_setup

# what is left of container $1 (its module is vkernel_$1: ids here are short and unique)
leftovers() {
	_l=""
	grep -q "^vkernel_$1 " /proc/modules && _l="$_l module"
	[ -e "/sys/kernel/vkernel/containers/vkernel_$1" ] && _l="$_l sysfs"
	for _f in /run/runc/vkernel@"$1".* /run/vkernel-runtime/locks/*"$1"*; do
		[ -e "$_f" ] && _l="$_l file:${_f##*/}"
	done
	[ -e "/run/runc/$1" ] && _l="$_l runc-container"
	for _c in /sys/fs/cgroup/*/"$1"; do
		[ -d "$_c" ] && _l="$_l cgroup:${_c#/sys/fs/cgroup/}"
	done
	echo "${_l# }"
}
# create_killed ID POINT: create with the module, SIGKILLed at POINT; prints the exit code
create_killed() {
	rm -f /tmp/trace
	VKERNEL_RUNTIME_TEST_FAULT="kill-at=create/$2,trace=/tmp/trace" \
		$RT create --no-pivot --bundle /opt/bundles/modon "$1" </dev/null >"/tmp/$1.out" 2>&1
	echo $?
}

r=""
bad=""
window=""
n=0
for point in applying:module module-loaded applied:module created; do
	n=$((n + 1))
	id=mc$n
	rc=$(create_killed $id $point)
	hit=$(cat /tmp/trace 2>/dev/null)
	before=$(leftovers $id)
	[ $point = module-loaded ] && window="killed at $point: left before delete '$before'"
	$RT delete --force $id >/tmp/$id.del 2>&1
	drc=$?
	sleep 0.3
	after=$(leftovers $id)
	r="$r $point: create rc=$rc (trace '$hit'), left '$before', delete --force rc=$drc, after '$after' ($(tail -n 1 /tmp/$id.del));"
	[ "$rc" = 137 ] && [ -n "$hit" ] && [ -z "$after" ] || bad=1
	[ "$rc" = 137 ] || break
done
[ -z "$bad" ]
result module_crash.create_killed_clean $? "${r# }"

# the kill at module-loaded really hit the window: the module was loaded and attached, the runc
# container existed (without the journaled name, delete --force would have left the module)
echo "$window" | grep -q "'.*module.*'" && echo "$window" | grep -q runc-container
result module_crash.loaded_window_real $? "${window:-create never reached module-loaded (see create_killed_clean)}"

# delete SIGKILLed just before it removes the module, runc having deleted the container: a module-only
# container's delete is the launcher's (runc's delete, then rmmod: StateStore.markModule), so the kill
# comes from the runc it calls (VKERNEL_RUNC): runc's delete, then SIGKILL to its caller if that is the
# launcher (an rmmod early in PATH would not do: busybox's sh runs its own applet; a launcher that
# execs runc, as where create failed, leaves this script as runc's parent). The module stays with no state
# naming it; a second delete --force changes nothing and does not fail, gc unloads it
id=md1
$RT create --no-pivot --bundle /opt/bundles/modon $id </dev/null >/tmp/$id.out 2>&1
crc=$?
mark=$(cat /run/runc/$id/vkernel.module 2>&1)
printf '#!/bin/sh\nrunc "$@"\ntr "\\0" " " </proc/$PPID/cmdline | grep -q vkernel-runtime && kill -KILL $PPID\n' >/tmp/runc-then-kill
chmod 755 /tmp/runc-then-kill
VKERNEL_RUNC=/tmp/runc-then-kill $RT delete --force $id >/tmp/$id.del 2>&1
drc=$?
mid=$(leftovers $id)
$RT delete --force $id >/tmp/$id.del2 2>&1
d2=$?
$RT gc >/tmp/$id.gc 2>&1
grc=$?
sleep 0.3
after=$(leftovers $id)
[ $crc = 0 ] && echo "$mark" | grep -qx "vkernel_$id [0-9][0-9]*" && [ $drc = 137 ] && echo "$mid" | grep -q module && ! echo "$mid" | grep -q -e runc-container -e file: && [ $d2 = 0 ] && [ $grc = 0 ] && [ -z "$after" ]
result module_crash.delete_killed_clean $? "create rc=$crc ($(tail -n 1 /tmp/$id.out)), module marker '$mark'; delete killed after runc's delete rc=$drc, left '$mid'; second delete --force rc=$d2; gc rc=$grc: $(tr '\n' ';' </tmp/$id.gc); after '$after'"

# create SIGKILLed at module-loaded, then the caller removes the container with runc alone (a
# containerd that lost track of us): only gc can find the module; the guest has no Node.js, so this
# is the engine's gc
id=mg1
rc=$(create_killed $id module-loaded)
runc delete --force $id >/dev/null 2>&1
mid=$(leftovers $id)
$RT gc >/tmp/$id.gc 2>&1
grc=$?
sleep 0.3
after=$(leftovers $id)
[ "$rc" = 137 ] && echo "$mid" | grep -q module && [ $grc = 0 ] && [ -z "$after" ]
result module_crash.gc_after_kill $? "create rc=$rc (trace '$(cat /tmp/trace 2>/dev/null)'); after runc delete: '$mid'; gc rc=$grc: $(tr '\n' ';' </tmp/$id.gc); after '$after'"
vkend
