# vkernel_attach(): a module's private syscall table for one pid namespace,
# private futex table, module pinned until the namespace is gone.
. /tests/lib.sh
ko=/lib/modules/testattach.ko
if [ ! -e $ko ]; then
	echo "VKTEST attach.module_loads FAIL testattach.ko absent (does not build for this kernel)"
	exit 0
fi
rm -f /tmp/t.*
unshare -p -f --mount-proc sh -c '
	readlink /proc/self/ns/pid >/tmp/t.ans
	while [ ! -e /tmp/t.go ]; do sleep 0.1; done
	echo "$(vkt getppid)" >/tmp/t.a.ppid
	vkt futex 2000 >/tmp/t.a.futex 2>&1
	touch /tmp/t.a.done
	while [ ! -e /tmp/t.end ]; do sleep 0.1; done' &
while [ ! -s /tmp/t.ans ]; do sleep 0.1; done
ans=$(cat /tmp/t.ans)
apid=
for p in /proc/[0-9]*; do
	[ "$(readlink $p/ns/pid 2>/dev/null)" = "$ans" ] && apid=${p#/proc/} && break
done
out=$(insmod $ko pid=$apid 2>&1); r=$?
result attach.module_loads $r "insmod pid=$apid ($ans): rc=$r $out"
touch /tmp/t.go
while [ ! -e /tmp/t.a.done ]; do sleep 0.1; done
a_ppid=$(cat /tmp/t.a.ppid)
b_ppid=$(unshare -p -f --mount-proc vkt getppid 2>&1)
h_ppid=$(vkt getppid)
[ "$a_ppid" = EPERM ]
result attach.denied_in_ns $? "getppid in A: $a_ppid"
[ "$b_ppid" = 0 ] && [ "$h_ppid" -gt 0 ] 2>/dev/null
result attach.other_ns_unaffected $? "getppid in B: $b_ppid, in the initial namespace: $h_ppid"
grep -q "^ok 4000" /tmp/t.a.futex
result attach.futex_private_table $? "2000 futex ping-pongs in A: $(cat /tmp/t.a.futex)"
rm1=$(rmmod testattach 2>&1); r1=$?
lsmod1=$(grep testattach /proc/modules)
[ $r1 != 0 ] && [ -n "$lsmod1" ]
result attach.rmmod_refused_while_ns_lives $? "rmmod rc=$r1 ($rm1); /proc/modules: $lsmod1"
touch /tmp/t.end
wait
i=0
while [ $i -lt 50 ]; do
	rm2=$(rmmod testattach 2>&1) && break
	i=$((i + 1)); sleep 0.1
done
lsmod2=$(grep testattach /proc/modules)
[ -z "$lsmod2" ]
result attach.rmmod_after_ns_gone $? "rmmod after A exited: tries=$i ${rm2:-ok}"
