# Kernel log isolation between pid namespaces the host enabled with printk_ns.
. /tests/lib.sh
rm -f /tmp/p.*
# A writes a record and keeps its namespace alive until B has looked.
ns_start printk_ns '
	echo "<6>VKMARK-A hello from A" >/dev/kmsg
	dmesg >/tmp/p.a.dmesg 2>&1
	vkt kmsg >/tmp/p.a.kmsg 2>&1
	vkt syslog >/tmp/p.a.syslog 2>&1
	touch /tmp/p.a.ready
	while [ ! -e /tmp/p.b.done ]; do sleep 0.1; done' 2>/dev/null
a_en=$NS_ENABLE
while [ ! -e /tmp/p.a.ready ]; do sleep 0.1; done
dmesg >/tmp/p.host.dmesg 2>&1
vkt kmsg >/tmp/p.host.kmsg 2>&1
ns_run printk_ns '
	echo "<6>VKMARK-B hello from B" >/dev/kmsg
	dmesg >/tmp/p.b.dmesg 2>&1; echo $? >/tmp/p.b.dmesg.rc
	vkt kmsg >/tmp/p.b.kmsg 2>&1; echo $? >/tmp/p.b.kmsg.rc
	vkt prockmsg >/tmp/p.b.prockmsg 2>&1; echo $? >/tmp/p.b.prockmsg.rc' 2>/dev/null
b_en=$NS_ENABLE
touch /tmp/p.b.done
wait
c() { grep -c "$1" "$2"; }
a_d=$(c VKMARK-A /tmp/p.a.dmesg); a_k=$(c VKMARK-A /tmp/p.a.kmsg); a_s=$(c VKMARK-A /tmp/p.a.syslog)
h_d=$(c VKMARK-A /tmp/p.host.dmesg); h_k=$(c VKMARK-A /tmp/p.host.kmsg)
b_d=$(c VKMARK-A /tmp/p.b.dmesg); b_k=$(c VKMARK-A /tmp/p.b.kmsg); b_p=$(c VKMARK-A /tmp/p.b.prockmsg)
b_own=$(c VKMARK-B /tmp/p.b.dmesg); b_boot=$(c "Linux version" /tmp/p.b.dmesg)
a_b=$(c VKMARK-B /tmp/p.a.dmesg)
[ "$a_d" -ge 1 ] && [ "$a_k" -ge 1 ] && [ "$a_s" -ge 1 ]
result printk.visible_in_writer_ns $? "A sees its record: dmesg=$a_d kmsg=$a_k syslog=$a_s"
[ "$h_d" -ge 1 ] && [ "$h_k" -ge 1 ]
result printk.visible_in_init_ns $? "host sees A's record: dmesg=$h_d kmsg=$h_k"
# hidden only counts where B could read the log: each read succeeded and shows B's own record
rc() { cat "/tmp/p.b.$1.rc" 2>/dev/null || echo none; }
own_d=$(c VKMARK-B /tmp/p.b.dmesg); own_k=$(c VKMARK-B /tmp/p.b.kmsg); own_p=$(c VKMARK-B /tmp/p.b.prockmsg)
[ "$(rc dmesg) $(rc kmsg) $(rc prockmsg)" = "0 0 0" ] && [ "$own_d" -ge 1 ] && [ "$own_k" -ge 1 ] && [ "$own_p" -ge 1 ] &&
	[ "$b_d" = 0 ] && [ "$b_k" = 0 ] && [ "$b_p" = 0 ]
result printk.hidden_from_other_ns $? "enable A: $a_en, B: $b_en; B sees A's record: dmesg=$b_d kmsg=$b_k proc_kmsg=$b_p; B's reads: rc=$(rc dmesg),$(rc kmsg),$(rc prockmsg), own record seen $own_d,$own_k,$own_p times"
[ "$b_boot" = 0 ] && [ "$b_own" -ge 1 ]
result printk.ns_sees_only_own $? "B: own=$b_own boot-messages=$b_boot lines=$(wc -l </tmp/p.b.dmesg)"
vkend
