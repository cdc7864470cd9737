# kernel.sched_wakeup_granularity_ns per pid namespace, in namespaces the host enabled with
# sched_params (and sysctl_write, so that they set their own values).
. /tests/lib.sh
SP="sched_params sysctl_write"
f=/proc/sys/kernel/sched_wakeup_granularity_ns
host0=$(cat $f 2>&1)
[ -e $f ]; result sched_params.present $? "init=$host0"

# Two namespaces at the same time, each with its own value; a namespace
# created inside A inherits A's value.
rm -f /tmp/a.* /tmp/b.*
ns_start "$SP" "
	echo 3000000 >$f; cat $f >/tmp/a.1
	while [ ! -e /tmp/b.done ]; do sleep 0.1; done
	cat $f >/tmp/a.2
	unshare -p -f --mount-proc cat $f >/tmp/a.child
	touch /tmp/a.done" 2>/dev/null
a_en=$NS_ENABLE
ns_run "$SP" "
	cat $f >/tmp/b.0
	while [ ! -e /tmp/a.1 ]; do sleep 0.1; done
	echo 7000000 >$f; cat $f >/tmp/b.1
	touch /tmp/b.done" 2>/dev/null
b_en=$NS_ENABLE
wait
a1=$(cat /tmp/a.1 2>&1); a2=$(cat /tmp/a.2 2>&1); b0=$(cat /tmp/b.0 2>&1)
b1=$(cat /tmp/b.1 2>&1); ac=$(cat /tmp/a.child 2>&1); host1=$(cat $f 2>&1)
[ "$a1" = 3000000 ] && [ "$a2" = 3000000 ] && [ "$b1" = 7000000 ]
result sched_params.per_namespace $? "enable A: $a_en, B: $b_en; A=$a1,$a2 B=$b1"
[ "$b0" = "$host0" ]
result sched_params.inherit_from_init $? "B at creation=$b0 init=$host0"
[ "$ac" = 3000000 ]
result sched_params.inherit_from_parent $? "child of A=$ac"
[ "$host1" = "$host0" ] && [ -e $f ]
result sched_params.init_unchanged $? "init before=$host0 after=$host1"

# Bounds: 0..1000000000, in a namespace and in the initial namespace.
out=$(ns_run "$SP" "
	for v in 0 1000000000 1000000001 -1 4294967296; do
		if echo \$v >$f 2>/dev/null; then echo \"\$v:ok:\$(cat $f)\"; else echo \"\$v:rejected\"; fi
	done" 2>&1 | tr '\n' ' ')
exp="0:ok:0 1000000000:ok:1000000000 1000000001:rejected -1:rejected 4294967296:rejected "
[ "$out" = "$exp" ]
result sched_params.bounds_ns $? "$out"
if echo 1000000001 >$f 2>/dev/null; then r=1; else r=0; fi
[ -e $f ] && [ "$(cat $f)" = "$host0" ] && [ $r = 0 ]
result sched_params.bounds_init $? "init after 1000000001: $(cat $f 2>&1)"

# wakeup_gran() uses the woken task's namespace value: a sleeper pinned beside
# a nice -10 CPU hog on CPU 1, woken from CPU 0 2 ms after it blocked (vkt
# wakelat), preempts the hog at once with granularity 0 (namespace A) and
# waits for the end of the hog's slice with 1 s (namespace B), in the
# same boot. With the global value (2 ms) in both, both would preempt at once.
# The slice is made ~90 ms (debugfs sched/latency_ns 100 ms, restored after
# the group checks below): on a loaded host TCG alone stretches a wakeup to
# ~6 ms, as long as the default ~11 ms slice, and the two would not differ.
mkdir -p /sys/kernel/debug
grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug
lat=/sys/kernel/debug/sched/latency_ns
lat0=$(cat $lat 2>/dev/null)
[ -z "$lat0" ] || echo 100000000 >$lat
la=$(ns_run "$SP" "echo 0 >$f && vkt wakelat 80" 2>&1)
lb=$(ns_run "$SP" "echo 1000000000 >$f && vkt wakelat 80" 2>&1)
li=$(vkt wakelat 80 2>&1)
ma=$(echo "$la" | sed -n 's/^median_us=\([0-9]*\) .*/\1/p')
mb=$(echo "$lb" | sed -n 's/^median_us=\([0-9]*\) .*/\1/p')
[ -n "$ma" ] && [ -n "$mb" ] && [ "$mb" -ge 4000 ] && [ $((ma * 3)) -le "$mb" ]
result sched_params.wakeup_gran_used $? "A (0): $la | B (1e9): $lb | initial ($host0): $li"

# At group level: the sleeper in a container's cgroup (c1) and pid namespace, the hog a host task
# of the root cgroup. Wakeup preemption then compares the container's group entity with the hog,
# and the woken task's namespace value decides there too (kernel/README.md sched_params): 0
# preempts at once, 1 s waits for the end of the hog's (~90 ms) slice. With the global value (2 ms)
# at group level, the two namespaces' values would change nothing.
if [ -e $VK_ENABLE ]; then
	cgroup2_setup
	mkdir -p $u/c1
	# gl_run G: vkt wakelat with the sleeper in c1 and a namespace the host gave the value G
	gl_run() {
		rm -f /tmp/gl.done
		ns_start "sched_params kernel.sched_wakeup_granularity_ns=$1" \
			"while [ ! -e /tmp/gl.done ]; do sleep 0.1; done" 2>/dev/null
		vkt wakelat 80 "$NS_PID" $u/c1/cgroup.procs 2>&1
		echo "enable=$NS_ENABLE"
		touch /tmp/gl.done
		wait $NS_BG
	}
	ga=$(gl_run 0 | tr '\n' ' ')
	gb=$(gl_run 1000000000 | tr '\n' ' ')
	ma=$(echo "$ga" | sed -n 's/^median_us=\([0-9]*\) .*/\1/p')
	mb=$(echo "$gb" | sed -n 's/^median_us=\([0-9]*\) .*/\1/p')
	[ -n "$ma" ] && [ -n "$mb" ] && [ "$mb" -ge 4000 ] && [ $((ma * 3)) -le "$mb" ]
	result sched_params.wakeup_gran_group $? "sleeper in cgroup c1 + namespace, hog on the host: 0: $ga| 1e9: $gb"
else
	fail_all "no $VK_ENABLE on this kernel" sched_params.wakeup_gran_group
fi
[ -z "$lat0" ] || echo "$lat0" >$lat

# A host write survives CPU hotplug: update_sysctl() (rq_online/offline_fair) resets the scaled
# defaults for the new number of CPUs and must keep a value the host wrote; namespace values are
# the namespaces' own.
on=/sys/devices/system/cpu/cpu1/online
if [ -e $f ] && [ -e $on ] && [ -e $VK_ENABLE ]; then
	w=$(vkt write $f 3500000)
	rm -f /tmp/hp.go /tmp/hp.ns
	ns_start "sched_params kernel.sched_wakeup_granularity_ns=4500000" \
		"while [ ! -e /tmp/hp.go ]; do sleep 0.1; done; cat $f >/tmp/hp.ns" 2>/dev/null
	offw=$(vkt write $on 0)
	off=$(cat $f)
	onw=$(vkt write $on 1)
	onv=$(cat $f)
	touch /tmp/hp.go
	wait $NS_BG
	nsv=$(cat /tmp/hp.ns 2>&1)
	vkt write $f "$host0" >/dev/null
	[ "$w" = ok ] && [ "$offw" = ok ] && [ "$onw" = ok ] && [ "$off" = 3500000 ] && [ "$onv" = 3500000 ] && [ "$nsv" = 4500000 ]
	result sched_params.hotplug_keeps_host_value $? "host wrote 3500000 ($w): cpu1 offline ($offw) $off, online again ($onw) $onv; namespace of 4500000 ($NS_ENABLE) reads $nsv"
else
	fail_all "no $f, $on or $VK_ENABLE on this kernel" sched_params.hotplug_keeps_host_value
fi
vkend
