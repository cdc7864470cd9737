# Kernel log isolation keyed by never-reused ids, only where the host enabled printk_ns (issue 12
# §4, defect 4): a plain namespace sees the whole log as on any kernel; an isolated one sees only
# what its own tasks wrote to /dev/kmsg, under its own clear point and /proc/kmsg position, and
# cannot touch the console; a namespace that gets a dead one's inode number sees none of its records.
. /tests/lib.sh
rm -f /tmp/k.*
c() { grep -c "$1" "$2" 2>/dev/null; }

# a plain namespace reads the host's records (and the boot messages), as on a kernel without vkernel
echo "<6>VKHOST-1 from the host" >/dev/kmsg
ns_run "" "dmesg >/tmp/k.plain 2>&1; echo '<6>VKPLAIN-1 from a plain namespace' >/dev/kmsg"
dmesg >/tmp/k.host1 2>&1
p_h=$(c VKHOST-1 /tmp/k.plain); p_b=$(c "Linux version" /tmp/k.plain); h_p=$(c VKPLAIN-1 /tmp/k.host1)
[ "$p_h" -ge 1 ] && [ "$p_b" -ge 1 ] && [ "$h_p" -ge 1 ]
result printk.plain_ns_sees_all $? "plain namespace sees the host's record $p_h time(s), boot messages $p_b; the host sees its record $h_p time(s)"

# A (printk_ns) writes a record and dies; namespaces created after it (each isolated) until one gets
# A's inode number: that one sees nothing of A. Plain `unshare -p -f` (no mount namespace) so that
# the pid namespaces are the only namespaces taking inode numbers.
NS_FLAGS="-p -f"
ns_start printk_ns "echo '<6>VKDEAD-A record of a namespace that dies' >/dev/kmsg; dmesg >/tmp/k.a 2>&1
	while [ ! -e /tmp/k.adie ]; do sleep 0.02; done"
a_en=$NS_ENABLE
a_ino=$(readlink /proc/$NS_PID/ns/pid 2>&1)
touch /tmp/k.adie
wait $NS_BG
a_own=$(c VKDEAD-A /tmp/k.a)
reuse=0
seen=""
i=0
while [ $i -lt 12 ] && [ $reuse -lt 2 ]; do
	i=$((i + 1))
	ns_start printk_ns "while [ ! -e /tmp/k.look.$i ]; do sleep 0.02; done; dmesg >/tmp/k.r.$i 2>&1; vkt kmsg >/tmp/k.rk.$i 2>&1"
	ino=$(readlink /proc/$NS_PID/ns/pid 2>&1)
	touch /tmp/k.look.$i
	wait $NS_BG
	if [ "$ino" = "$a_ino" ]; then
		reuse=$((reuse + 1))
		seen="$seen ns$i($ino, enable $NS_ENABLE): dmesg $(c VKDEAD-A /tmp/k.r.$i) /dev/kmsg $(c VKDEAD-A /tmp/k.rk.$i);"
	fi
done
unset NS_FLAGS
r=0
[ "$a_en" = ok ] && [ "$a_own" -ge 1 ] && [ $reuse -ge 1 ] || r=1
case "$seen" in *"dmesg 0 /dev/kmsg 0;"*) ;; *) r=1 ;; esac
case "$seen" in *"dmesg "[1-9]*|*"/dev/kmsg "[1-9]*) r=1 ;; esac
result printk.id_not_reused $r "A ($a_ino, enable $a_en) saw its record $a_own time(s) and died; of $i namespaces created after it, $reuse got its inode number:$seen"

# CLEAR from an isolated namespace moves only its own clear point
ns_run printk_ns "echo '<6>VKCLR-A before the clear' >/dev/kmsg; dmesg -c >/tmp/k.c1 2>&1; echo rc=\$? >>/tmp/k.c1; dmesg >/tmp/k.c2 2>&1"
c_en=$NS_ENABLE
dmesg >/tmp/k.ch 2>&1
c1=$(c VKCLR-A /tmp/k.c1); c2=$(c VKCLR-A /tmp/k.c2); ch=$(c VKCLR-A /tmp/k.ch); cb=$(c "Linux version" /tmp/k.ch)
[ "$c_en" = ok ] && [ "$c1" -ge 1 ] && [ "$c2" = 0 ] && [ "$ch" -ge 1 ] && [ "$cb" -ge 1 ]
result printk.clear_per_namespace $? "enable $c_en; the namespace read-and-cleared its record ($c1), then reads it $c2 time(s); the host still reads it $ch time(s) and the boot messages $cb"

# the console belongs to the host: an isolated namespace cannot switch it off or change its level
lvl0=$(cut -f1 /proc/sys/kernel/printk)
ns_run printk_ns "dmesg -n 1 >/tmp/k.n 2>&1; echo rc=\$? >>/tmp/k.n"
l_en=$NS_ENABLE
lvl1=$(cut -f1 /proc/sys/kernel/printk)
echo "$lvl0" >/proc/sys/kernel/printk
n=$(tr '\n' ' ' </tmp/k.n)
[ "$l_en" = ok ] && [ "$lvl1" = "$lvl0" ] && case "$n" in *"rc=0"*) false ;; *) true ;; esac
result printk.console_level_refused $? "enable $l_en; dmesg -n 1 in the namespace: $n; console level before $lvl0, after $lvl1"

# /proc/kmsg: an isolated namespace reads from its own position, the host's is untouched
vkt prockmsg >/dev/null 2>&1	# the host's reader catches up
echo "<6>VKPOS-H unread host record" >/dev/kmsg
ns_run printk_ns "echo '<6>VKPOS-A the namespace record' >/dev/kmsg; vkt prockmsg >/tmp/k.pa 2>&1"
p_en=$NS_ENABLE
vkt prockmsg >/tmp/k.ph 2>&1
pa_own=$(c VKPOS-A /tmp/k.pa); pa_host=$(c VKPOS-H /tmp/k.pa); ph=$(c VKPOS-H /tmp/k.ph)
[ "$p_en" = ok ] && [ "$pa_own" -ge 1 ] && [ "$pa_host" = 0 ] && [ "$ph" -ge 1 ]
result printk.proc_kmsg_own_position $? "enable $p_en; the namespace's /proc/kmsg: own record $pa_own, host record $pa_host; then the host's /proc/kmsg still has its record: $ph"

# a memcg OOM in an isolated namespace: the kernel's report is a host record
cgroup1 memory
mkdir -p /sys/fs/cgroup/memory/vkoom
echo 32M >/sys/fs/cgroup/memory/vkoom/memory.limit_in_bytes
ns_run printk_ns "echo 0 >/sys/fs/cgroup/memory/vkoom/cgroup.procs; vkt thp 128 >/dev/null 2>&1; echo '<6>VKOOM-A after the oom' >/dev/kmsg; dmesg >/tmp/k.oa 2>&1"
o_en=$NS_ENABLE
dmesg >/tmp/k.oh 2>&1
oa=$(grep -ci "out of memory\|oom-kill\|oom_reaper\|invoked oom-killer" /tmp/k.oa)
oh=$(grep -ci "out of memory\|oom-kill\|oom_reaper\|invoked oom-killer" /tmp/k.oh)
oo=$(c VKOOM-A /tmp/k.oa)
rmdir /sys/fs/cgroup/memory/vkoom 2>/dev/null
[ "$o_en" = ok ] && [ "$oh" -ge 1 ] && [ "$oa" = 0 ] && [ "$oo" -ge 1 ]
result printk.system_reports_host $? "enable $o_en; OOM report lines: the namespace sees $oa, the host $oh; the namespace sees its own record $oo time(s)"
vkend
