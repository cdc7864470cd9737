# shellcheck shell=sh
# Helpers for guest test scripts.
# result NAME COND DETAIL: COND is "0" (pass) or anything else (fail).
result() {
	if [ "$2" = 0 ]; then
		echo "VKTEST $1 PASS $3"
	else
		echo "VKTEST $1 FAIL $3"
	fi
}
# vkend: the last command of every guest script. The harness fails a run in which a script did not
# print this line (it died, or left early without saying FAIL for its remaining checks).
vkend() {
	echo "VKEND ${0##*/}"
}
# fail_all REASON NAME...: FAIL for each check a script cannot run (e.g. a test module that does
# not build on the unpatched kernel), with the reason: an absent check is a harness failure.
fail_all() {
	_r=$1
	shift
	for _n in "$@"; do
		echo "VKTEST $_n FAIL $_r"
	done
}
# check NAME DETAIL CMD...: PASS when CMD succeeds.
check() {
	_n=$1
	_d=$2
	shift 2
	if "$@" >/dev/null 2>&1; then
		echo "VKTEST $_n PASS $_d"
	else
		echo "VKTEST $_n FAIL $_d"
	fi
}

# runtime_setup: what a container host has (cgroup v1 hierarchies as on Debian 12, /run) for the
# runtime payload of test/vm/lib/runtime-payload.mjs; sets RT to the runtime with its --root.
runtime_setup() {
	mkdir -p /sys/fs/cgroup
	grep -q ' /sys/fs/cgroup ' /proc/mounts || mount -t tmpfs cg /sys/fs/cgroup
	for _c in cpu cpuacct cpuset memory pids devices freezer; do
		mkdir -p /sys/fs/cgroup/$_c
		grep -q " /sys/fs/cgroup/$_c " /proc/mounts || mount -t cgroup -o $_c cgroup /sys/fs/cgroup/$_c
	done
	mkdir -p /run /var/run /etc
	export PATH=/usr/sbin:/usr/bin:/bin
	RT="/opt/vkr/bin/vkernel-runtime --root /run/runc"
}
