# A container's read-only /proc/sys, in a namespace the host enabled with sysctl_write (and
# sched_params): the vkernel parameters of its features stay writable, nothing else does.
. /tests/lib.sh
f=/proc/sys/kernel/sched_wakeup_granularity_ns
host0=$(cat $f 2>&1)
hn0=$(cat /proc/sys/kernel/hostname)
ns_run "sched_params sysctl_write" "
	vkt rbind-ro /proc/sys || exit 3
	grep -q ' /proc/sys proc ro' /proc/mounts && echo RO=yes || echo RO=no
	echo 4000000 >$f 2>/dev/null && echo SHELL=ok || echo SHELL=fail
	echo VAL=\$(cat $f)
	echo WRITE=\$(vkt write $f 5000000)
	echo VAL2=\$(cat $f)
	echo HOST=\$(vkt write /proc/sys/kernel/hostname vkhacked)
	echo PID=\$(vkt write /proc/sys/kernel/pid_max 4194304)
	" >/tmp/sw.out 2>&1
out="enable=$NS_ENABLE $(tr '\n' ' ' </tmp/sw.out)"
echo "$out"
case "$out" in *RO=yes*) r=0 ;; *) r=1 ;; esac
result sysctl_write.proc_sys_readonly $r "$out"
case "$out" in *SHELL=ok*VAL=4000000*WRITE=ok*VAL2=5000000*) r=0 ;; *) r=1 ;; esac
result sysctl_write.listed_writable $r "$out"
case "$out" in *HOST=EROFS*PID=EROFS*) r=0 ;; *) r=1 ;; esac
result sysctl_write.others_erofs $r "$out"
[ "$(cat $f 2>&1)" = "$host0" ] && [ "$(cat /proc/sys/kernel/hostname)" = "$hn0" ]
result sysctl_write.init_unchanged $? "init=$(cat $f 2>&1) hostname=$(cat /proc/sys/kernel/hostname)"
# A read-only /proc/sys in the initial pid namespace (e.g. a container
# sharing the host's pid namespace) protects the global values: EROFS.
out=$(unshare -m sh -c "vkt rbind-ro /proc/sys && vkt write $f 6000000" 2>&1)
[ "$out" = EROFS ] && [ "$(cat $f)" = "$host0" ]
result sysctl_write.init_ns_readonly $? "init ns through ro /proc/sys: $out, value=$(cat $f 2>&1)"
vkend
