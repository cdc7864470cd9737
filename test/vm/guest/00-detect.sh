# /sys/kernel/vkernel detection files.
. /tests/lib.sh
v=$(cat /sys/kernel/vkernel/abi_version 2>&1)
[ "$v" = 1 ]; result detect.abi_version $? "abi_version=$v"
f=$(cat /sys/kernel/vkernel/features 2>&1)
r=0
for w in real_policy sched_params sysctl_write printk_ns mm_policy; do
	case " $f " in *" $w "*) ;; *) r=1 ;; esac
done
result detect.features $r "features=[$f]"
