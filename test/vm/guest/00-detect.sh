# /sys/kernel/vkernel detection files.
. /tests/lib.sh
v=$(cat /sys/kernel/vkernel/abi_version 2>&1)
[ "$v" = 2 ]; result detect.abi_version $? "abi_version=$v"
f=$(cat /sys/kernel/vkernel/features 2>&1)
r=0
for w in real_policy sched_params sysctl_write printk_ns mm_policy syscall_table futex_table syscall_args caps_max fs_rules; do
	case " $f " in *" $w "*) ;; *) r=1 ;; esac
done
result detect.features $r "features=[$f]"
# the kernel's parent directory of the modules' container directories (patch 0010), empty at boot
c=$(ls -A /sys/kernel/vkernel/containers 2>&1); r=$?
[ $r = 0 ] && [ -z "$c" ] && [ -d /sys/kernel/vkernel/containers ]
result detect.containers_dir $? "ls /sys/kernel/vkernel/containers: rc=$r '$c'"
# the host's switch of per-namespace features (patch 0002a): write-only, root only
m=$(stat -c %a /sys/kernel/vkernel/enable 2>&1); r=$?
c=$(cat /sys/kernel/vkernel/enable 2>&1); rc=$?
[ $r = 0 ] && [ "$m" = 200 ] && [ $rc != 0 ]
result detect.enable_file $? "mode of /sys/kernel/vkernel/enable: $m; a read: rc=$rc $c"
vkend
