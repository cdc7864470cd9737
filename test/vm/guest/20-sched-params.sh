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
# waits for the end of the hog's ~11 ms slice with 1 s (namespace B), in the
# same boot. With the global value (2 ms) in both, both would preempt at once.
la=$(ns_run "$SP" "echo 0 >$f && vkt wakelat 80" 2>&1)
lb=$(ns_run "$SP" "echo 1000000000 >$f && vkt wakelat 80" 2>&1)
li=$(vkt wakelat 80 2>&1)
ma=$(echo "$la" | sed -n 's/^median_us=\([0-9]*\) .*/\1/p')
mb=$(echo "$lb" | sed -n 's/^median_us=\([0-9]*\) .*/\1/p')
[ -n "$ma" ] && [ -n "$mb" ] && [ "$mb" -ge 4000 ] && [ $((ma * 3)) -le "$mb" ]
result sched_params.wakeup_gran_used $? "A (0): $la | B (1e9): $lb | initial ($host0): $li"
vkend
