# Per-namespace sysctls only where the host enabled them (issue 12 §1, defect 1): a pid namespace
# the host never wrote to /sys/kernel/vkernel/enable behaves as on a kernel without vkernel (global
# values, a read-only /proc/sys stays read-only), and the enable file itself is host-only, checked
# as a whole, additive and inherited.
. /tests/lib.sh
f=/proc/sys/kernel/sched_wakeup_granularity_ns
om=/proc/sys/vm/overcommit_memory
orr=/proc/sys/vm/overcommit_ratio
t=/proc/sys/vm/transparent_hugepage
g=/sys/kernel/mm/transparent_hugepage/enabled
host_f=$(cat $f 2>/dev/null || echo absent)
host_m=$(cat $om)
host_r=$(cat $orr)
global() { sed -n 's/.*\[\(.*\)\].*/\1/p' $g; }
g0=$(global)
kb() { echo "$1" | sed -n 's/.*AnonHugePages: *\([0-9]*\) kB.*/\1/p'; }
rm -f /tmp/o.*

# --- plain namespaces (the host enabled nothing): as on a kernel without vkernel -----------------
# a container's read-only /proc/sys: nothing is writable
out=$(ns_run "" "vkt rbind-ro /proc/sys || exit 3
	echo gran=\$(wr $f 5000000) om=\$(wr $om 1) ratio=\$(wr $orr 77) thp=\$(wr $t never)" 2>&1)
case "$out" in "gran="[aE]*" om=EROFS ratio=EROFS thp="[aE]*) r=0 ;; *) r=1 ;; esac
case "$out" in *=ok*) r=1 ;; esac
[ "$(cat $om) $(cat $orr) $(cat $f 2>/dev/null || echo absent)" = "$host_m $host_r $host_f" ] || r=1
result sysctl_write.plain_ns_erofs $r "plain namespace, read-only /proc/sys: $out; host after: mode=$(cat $om) ratio=$(cat $orr) gran=$(cat $f 2>/dev/null || echo absent)"

# a plain namespace reads the host's values, also after the host changed them
ns_start "" "while [ ! -e /tmp/o.changed ]; do sleep 0.05; done
	echo \"gran=\$(cat $f 2>/dev/null || echo absent) ratio=\$(cat $orr)\" >/tmp/o.reads"
echo 61 >$orr
[ -e $f ] && echo 2500000 >$f
touch /tmp/o.changed
wait $NS_BG
reads=$(cat /tmp/o.reads 2>&1)
want="gran=$(cat $f 2>/dev/null || echo absent) ratio=61"
echo "$host_r" >$orr
[ -e $f ] && echo "$host_f" >$f
[ "$reads" = "$want" ]
result sysctl_write.plain_ns_reads_host $? "plain namespace created before the host changed its values reads: $reads (host: $want)"

# a plain namespace with a writable /proc/sys writes the global value (as root can on any kernel)
out=$(ns_run "" "echo gran=\$(wr $f 4500000)" 2>&1)
after=$(cat $f 2>/dev/null || echo absent)
[ -e $f ] && echo "$host_f" >$f
[ "$out" = "gran=ok" ] && [ "$after" = 4500000 ]
result sched_params.plain_ns_global $? "plain namespace writes kernel.sched_wakeup_granularity_ns: $out; host reads $after (was $host_f)"

# overcommit: a plain namespace follows the global mode set after it was created, writes the global ratio
ns_start "" "while [ ! -e /tmp/o.oc ]; do sleep 0.05; done
	echo \"mmap64g=\$(vkt mmap 65536) ratio=\$(vkt write $orr 55)\" >/tmp/o.ocout"
echo 1 >$om
touch /tmp/o.oc
wait $NS_BG
oc=$(cat /tmp/o.ocout 2>&1)
r_after=$(cat $orr)
echo "$host_m" >$om
echo "$host_r" >$orr
[ "$oc" = "mmap64g=ok ratio=ok" ] && [ "$r_after" = 55 ]
result overcommit.plain_ns_global $? "global mode 1 set after the namespace was created: $oc; host ratio after its write: $r_after (was $host_r)"

# THP: a plain namespace follows the global mode set after it was created, both ways
echo always >$g
ns_start "" "while [ ! -e /tmp/o.thp1 ]; do sleep 0.05; done; vkt thp-self 16 >/tmp/o.thp1out 2>&1"
echo never >$g
touch /tmp/o.thp1
wait $NS_BG
ns_start "" "while [ ! -e /tmp/o.thp2 ]; do sleep 0.05; done; vkt thp-self 16 >/tmp/o.thp2out 2>&1"
echo always >$g
touch /tmp/o.thp2
wait $NS_BG
echo "$g0" >$g
n1=$(cat /tmp/o.thp1out 2>&1)
a2=$(cat /tmp/o.thp2out 2>&1)
[ "$(kb "$n1")" = 0 ] && [ "$(kb "$a2")" -ge 2048 ] 2>/dev/null
result thp.plain_ns_global $? "created under always, global then never: $n1; created under never, global then always: $a2"

# --- enabled namespaces without sysctl_write: only the host sets their values --------------------
ns_start "sched_params kernel.sched_wakeup_granularity_ns=3000000" "
	echo \"read=\$(cat $f 2>/dev/null) rw=\$(wr $f 6000000) \$(vkt rbind-ro /proc/sys && echo ro=\$(wr $f 6000000)) read2=\$(cat $f 2>/dev/null)\" >/tmp/o.hv"
wait $NS_BG
hv=$(cat /tmp/o.hv 2>&1)
[ "$NS_ENABLE" = ok ] && [ "$hv" = "read=3000000 rw=EPERM ro=EROFS read2=3000000" ] && [ "$(cat $f)" = "$host_f" ]
result sched_params.host_value_readonly $? "enable: $NS_ENABLE; in the namespace: $hv; host: $(cat $f 2>/dev/null || echo absent) (was $host_f)"

ns_run "sched_params mm_policy" "vkt rbind-ro /proc/sys || exit 3
	echo gran=\$(wr $f 5000000) om=\$(wr $om 1) ratio=\$(wr $orr 77) thp=\$(wr $t never) >/tmp/o.ne" 2>&1
out=$(cat /tmp/o.ne 2>&1)
[ "$NS_ENABLE" = ok ] && [ "$out" = "gran=EROFS om=EROFS ratio=EROFS thp=EROFS" ]
result sysctl_write.not_writable_erofs $? "enable sched_params mm_policy (no sysctl_write): $NS_ENABLE; read-only /proc/sys: $out"

# --- the enable file ---------------------------------------------------------------------------
ns_start "" "while [ ! -e /tmp/o.xdone ]; do sleep 0.05; done"
X=$NS_PID
in_x() { nsenter -t $X -p -- sh -c ". /tests/lib.sh; $1" 2>&1; }
bad=""
for l in "$X sched_params bogus" "$X sched_params kernel.sched_wakeup_granularity_ns=abc" \
	"$X sched_params kernel.sched_wakeup_granularity_ns=1000000001" "$X vm.overcommit_memory=1" \
	"$X mm_policy vm.overcommit_memory=1 kernel.sched_wakeup_granularity_ns=5" \
	"$X mm_policy vm.no_such_sysctl=1" "$X" "999999 sched_params" "1 sched_params" "x$X sched_params"; do
	bad="$bad [$l]=$(vkt write $VK_ENABLE "$l")"
done
echo 62 >$orr
x1=$(in_x "echo ratio=\$(cat $orr) gran=\$(wr $f 4400000)")
xg=$(cat $f 2>/dev/null || echo absent)
echo "$host_r" >$orr
[ -e $f ] && echo "$host_f" >$f
case "$bad" in *=ok*|*=ENOENT*) r=1 ;; *) r=0 ;; esac
case "$bad" in *"[999999 sched_params]=ESRCH"*) ;; *) r=1 ;; esac
[ "$x1" = "ratio=62 gran=ok" ] && [ "$xg" = 4400000 ] || r=1
result enable.bad_line_changes_nothing $r "refused:$bad; then the namespace reads the host's ratio and writes the global value: $x1 (host gran $xg)"

nr=$(vkt write-as 1000 $VK_ENABLE "$X sched_params" 2>&1)
nu=$(unshare -U -r vkt write $VK_ENABLE "$X sched_params" 2>&1)
np=$(unshare -p -f vkt write $VK_ENABLE "$X sched_params" 2>&1)
x2=$(in_x "echo gran=\$(wr $f 4300000)")
[ -e $f ] && echo "$host_f" >$f
[ "$nr" = EACCES ] && [ "$nu" = EPERM ] && [ "$np" = EPERM ] && [ "$x2" = gran=ok ]
result enable.host_only $? "uid 1000: $nr; root of a new user namespace: $nu; root of a new pid namespace: $np; the namespace is still plain: $x2"

e1=$(vk_enable $X sched_params kernel.sched_wakeup_granularity_ns=3300000)
x3=$(in_x "echo gran=\$(cat $f) nested=\$(unshare -p -f cat $f) nested_write=\$(unshare -p -f vkt write $f 1)")
[ "$e1" = ok ] && [ "$x3" = "gran=3300000 nested=3300000 nested_write=EPERM" ] && [ "$(cat $f)" = "$host_f" ]
result enable.inherited_by_nested $? "enable: $e1; $x3; host gran=$(cat $f 2>/dev/null || echo absent)"

e2=$(vk_enable $X mm_policy)
e3=$(vk_enable $X sched_params)
echo 63 >$orr
x4=$(in_x "echo gran=\$(cat $f) ratio=\$(cat $orr)")
echo "$host_r" >$orr
[ "$e2 $e3" = "ok ok" ] && [ "$x4" = "gran=3300000 ratio=$host_r" ]
result enable.never_removed $? "enable mm_policy: $e2, sched_params again: $e3; the namespace keeps its value and got its own ratio (host set 63): $x4"
touch /tmp/o.xdone
wait
vkend
