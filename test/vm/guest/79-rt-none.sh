# sched.policy=fifo on a host that can bound it neither way: cgroup v1 hierarchies (as Debian 12
# could be booted with systemd.unified_cgroup_hierarchy=0) on a kernel without RT group scheduling
# (Debian's stock kernel): no rt v1 (no cpu.rt_runtime_us), no rt v2 (no cgroup v2). create must
# refuse with the reason before runc creates anything, and leave nothing. On a kernel with RT group
# scheduling rt v1 applies instead: the check FAILs there (the create succeeds), with that detail.
# Runs before 80-rt-v2.sh in the same boot and unmounts its hierarchies at the end.
. /tests/lib.sh
CHECKS="rtnone.refused_clean"
if [ ! -x /opt/vkr/bin/vkernel-runtime ] || [ ! -e /opt/bundles/rtidle/config.json ]; then
	fail_all "no runtime or rt v2 bundles in the initramfs (rt-v2.test.ts payload)" $CHECKS
	vkend
	exit 0
fi
if grep -q ' /sys/fs/cgroup ' /proc/mounts; then
	fail_all "a cgroup filesystem is mounted already: $(grep cgroup /proc/mounts | tr '\n' ';')" $CHECKS
	vkend
	exit 0
fi
runtime_setup
$RT create --no-pivot --bundle /opt/bundles/rtidle n1 </dev/null >/tmp/n1.out 2>&1
rc=$?
left=""
for f in /run/runc/vkernel@n1.*; do [ -e "$f" ] && left="$left state:${f##*/}"; done
runc --root /run/runc state n1 >/dev/null 2>&1 && left="$left runc-container"
for d in /sys/fs/cgroup/*/n1 /sys/fs/cgroup/*/vkernel-rt-n1; do [ -d "$d" ] && left="$left $d"; done
grep -q '/n1"' /run/vkernel-runtime/locks/rt-ledger.json 2>/dev/null && left="$left ledger-holder"
e=$(tail -n 1 /tmp/n1.out)
[ "$rc" = 0 ] && $RT delete --force n1 >/dev/null 2>&1
[ "$rc" = 1 ] && [ -z "$left" ] && echo "$e" | grep -q 'no RT group scheduling'
result rtnone.refused_clean $? "cgroup v1, release $(uname -r), cpu.rt_runtime_us $([ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ] && echo present || echo absent): create rc=$rc '$e'; left: '${left# }'"
# back to no cgroup filesystem, for 80-rt-v2.sh (cgroup v2 as Debian boots)
for c in cpu cpuacct cpuset memory pids devices freezer; do umount /sys/fs/cgroup/$c 2>/dev/null; done
umount /sys/fs/cgroup
vkend
