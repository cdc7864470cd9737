# The per-container module (modules/vkernel) through the real runtime in the guest: vkernel_<id12>
# loaded between create and start, a syscall deny list for one container only, the denied-call
# counter, private futex tables, unload on delete while tasks sleep in FUTEX_WAIT, no oops; ids
# of 5 and 64 characters. Needs the payload of test/vm/lib/runtime-payload.mjs with
# VKVM_PAYLOAD_MODULE_KDIR (kmod, the module source, a pre-built module in the cache).
. /tests/lib.sh
if [ ! -x /opt/vkr/bin/vkernel-runtime ]; then
	fail_all "no runtime in the initramfs (VKVM_EXTRA_LIST of test/vm/lib/runtime-payload.mjs)" \
		module.refuses_cleanly module.create module.lsmod module.sysfs module.sysfs_root_only module.deny_eperm_first_only \
		module.no_escape_newpid module.io_uring_denied \
		module.denied_counter module.futex_private_tables module.futex_buckets_capped module.pinned_while_running module.futex_waiters \
		module.unloaded_after_delete module.launcher_delete module.no_oops
	vkend
	exit 0
fi
runtime_setup
sys=/sys/kernel/vkernel/containers
now() { cut -d' ' -f1 /proc/uptime; }
since() { echo "$1 $(now)" | awk '{printf "%.2f", $2-$1}'; }
# wait_for FILE PATTERN: up to 60 s (TCG) for the container's output
wait_for() {
	_i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $_i -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	grep -q "$2" "$1" 2>/dev/null
}
initpid() { $RT state "$1" 2>/dev/null | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }
# the sysfs files print the futex table as a hashed pointer, hashed only once the rng is ready
head -c 1 /dev/random >/dev/null

# the module as built against this kernel's own tree (VKVM_MODULES): it refuses a bad request
# cleanly, with a line saying why: on the patched kernel init_pid=1 (the host's namespace), on the
# unpatched one anything (no vkernel interface)
ko=/lib/modules/vkernel_placeholder____________________________________.ko
out=$(/usr/sbin/insmod "$ko" init_pid=1 container_id=host 2>&1)
r=$?
why=$(dmesg | grep 'vkernel_placeholder_*: ' | tail -1)
[ -e "$ko" ] && [ $r != 0 ] && ! grep -q '^vkernel_placeholder' /proc/modules &&
	echo "$why" | grep -qE 'is not the init of a container pid namespace|boot the vkernel kernel'
result module.refuses_cleanly $? "insmod init_pid=1: rc=$r ($out); dmesg: $why"

A=vkm05
B=vkm64abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvw
MA=vkernel_$A
MB=vkernel_$(echo "$B" | cut -c1-12)

# A denies mkdir (and so loads the module), B only asks for the module
t0=$(now)
$RT create --no-pivot --bundle /opt/bundles/moddeny "$A" </dev/null >"/tmp/$A.out" 2>&1
ra=$?
ta=$(since "$t0")
# B under an operator config that caps a module's futex table (limits.futex_buckets_max, issue 13)
printf 'limits:\n  futex_buckets_max: 64\n' >/tmp/futex64.yaml
t0=$(now)
VKERNEL_RUNTIME_CONFIG=/tmp/futex64.yaml $RT create --no-pivot --bundle /opt/bundles/modon "$B" </dev/null >"/tmp/$B.out" 2>&1
rb=$?
tb=$(since "$t0")
[ $ra = 0 ] && [ $rb = 0 ] && [ ${#A} = 5 ] && [ ${#B} = 64 ]
result module.create $? "create $A (${#A} chars): rc=$ra in ${ta} s; $B (${#B} chars): rc=$rb in ${tb} s (TCG); $(tail -1 "/tmp/$A.out")"

# kmod's tools by path (busybox sh would run its own applets of the same names)
lsm=$(/usr/sbin/lsmod 2>&1)
echo "$lsm" | grep -q "^$MA " && echo "$lsm" | grep -q "^$MB "
result module.lsmod $? "$(/bin/kmod --version 2>&1 | head -1): $(echo "$lsm" | grep vkernel_ | tr -s ' ' | tr '\n' ';')"

pa=$(initpid "$A")
pb=$(initpid "$B")
nsa=$(readlink "/proc/$pa/ns/pid" 2>&1)
ida=$(cat "$sys/$MA/container_id" 2>&1)
idb=$(cat "$sys/$MB/container_id" 2>&1)
pnsa=$(cat "$sys/$MA/pidns" 2>&1)
den=$(cat "$sys/$MA/denied" 2>&1 | tr '\n' ';')
denb=$(cat "$sys/$MB/denied" 2>&1 | tr '\n' ';')
[ "$ida" = "$A" ] && [ "$idb" = "$B" ] && [ "$nsa" = "pid:[$pnsa]" ] &&
	[ "$den" = "x64: 83;x32: 83;ia32: 39;" ] && [ "$denb" = "x64:;x32:;ia32:;" ]
result module.sysfs "$?" "$MA: container_id=$ida pidns=$pnsa (init $pa: $nsa) denied='$den'; $MB: container_id=$idb denied='$denb'"
# a container's id, host pid, rules and counters are root's to read (issue 12 §5)
modes=$(for f in "$sys/$MA"/* "/sys/module/$MA/parameters"/*; do stat -c '%a' "$f"; done | sort -u | tr '\n' ' ')
[ "$modes" = "400 " ]
result module.sysfs_root_only $? "modes of $sys/$MA/* and /sys/module/$MA/parameters/*: $modes"

c0=$(cat "$sys/$MA/denied_count" 2>&1 | tr '\n' ';')
t0=$(now)
if [ $ra = 0 ] && [ $rb = 0 ]; then
	$RT start "$A"
	$RT start "$B"
	wait_for "/tmp/$A.out" '^sleeping' && wait_for "/tmp/$B.out" '^sleeping'
fi
tw=$(since "$t0")
c1=$(cat "$sys/$MA/denied_count" 2>&1 | tr '\n' ';')
oa=$(grep -v '^time=' "/tmp/$A.out" | tr '\n' ';')
ob=$(grep -v '^time=' "/tmp/$B.out" | tr '\n' ';')

grep -q '^mkdir rc=1' "/tmp/$A.out" && grep -q 'Operation not permitted' "/tmp/$A.out" &&
	grep -q '^mkdir rc=0' "/tmp/$B.out"
result module.deny_eperm_first_only $? "A: $oa B: $ob"

# a child in a new pid namespace (the containers have CAP_SYS_ADMIN): denied in A, allowed in B
grep -q '^unshare mkdir rc=1' "/tmp/$A.out" && grep -q '^clone newpid mkdir: EPERM' "/tmp/$A.out" &&
	grep -q '^unshare mkdir rc=0' "/tmp/$B.out" && grep -q '^clone newpid mkdir: 0' "/tmp/$B.out"
result module.no_escape_newpid $? "A: $(grep -E '^(unshare|clone)' "/tmp/$A.out" | tr '\n' ';') B: $(grep -E '^(unshare|clone)' "/tmp/$B.out" | tr '\n' ';')"

grep -q '^io_uring mkdirat: res=EPERM' "/tmp/$A.out" && grep -q '^io_uring mkdirat: res=0' "/tmp/$B.out"
result module.io_uring_denied $? "IORING_OP_MKDIRAT: A: $(grep '^io_uring' "/tmp/$A.out") B: $(grep '^io_uring' "/tmp/$B.out")"

# the mkdir, the two from new pid namespaces and the io_uring one
[ "$c0" = "x64 83 0;x32 83 0;ia32 39 0;" ] && [ "$c1" = "x64 83 4;x32 83 0;ia32 39 0;" ]
result module.denied_counter $? "denied_count before start '$c0', after the four mkdirs '$c1'"

# %p hashes only once the kernel's pointer key is set (polled every 2 s after the rng is ready)
i=0
while fa=$(cat "$sys/$MA/futex_table" 2>&1) && echo "$fa" | grep -q ptrval && [ $i -lt 20 ]; do
	sleep 0.5
	i=$((i + 1))
done
fb=$(cat "$sys/$MB/futex_table" 2>&1)
ba=$(cat "$sys/$MA/futex_buckets" 2>&1)
bb=$(cat "$sys/$MB/futex_buckets" 2>&1)
grep -q '^ok 40000' "/tmp/$A.out" && grep -q '^ok 40000' "/tmp/$B.out" &&
	[ -n "$fa" ] && [ "$fa" != none ] && [ "$fb" != none ] && [ "$fa" != "$fb" ] &&
	! echo "$fa$fb" | grep -q ptrval && [ "$ba" -ge 16 ] && [ "$bb" -ge 16 ]
result module.futex_private_tables $? "20000 ping-pongs each (start to both asleep: ${tw} s); futex_table A=$fa ($ba buckets) B=$fb ($bb buckets)"
# the node's cap: B (created under limits.futex_buckets_max: 64) got a 64-bucket table from the
# kernel, A (no config) the kernel's own sizing (256 per CPU), both as the module's sysfs reports them
[ "$bb" = 64 ] && [ "$ba" -gt 64 ] && [ "$(cat /sys/module/$MB/parameters/futex_buckets 2>&1)" = 64 ]
result module.futex_buckets_capped $? "A: $ba buckets (no config, $(grep -c ^processor /proc/cpuinfo) CPUs); B: $bb buckets (limits.futex_buckets_max: 64; module parameter $(cat /sys/module/$MB/parameters/futex_buckets 2>&1))"

rm1=$(/usr/sbin/rmmod "$MA" 2>&1)
r1=$?
att=$(cat "$sys/$MA/attached" 2>&1)
[ $r1 != 0 ] && [ "$att" = 1 ] && grep -q "^$MA " /proc/modules
result module.pinned_while_running $? "rmmod $MA: rc=$r1 ($rm1); attached=$att"

# both threads of each container's process asleep in futex(2) (202), on the private tables
sl=
for p in $pa $pb; do
	for t in /proc/$p/task/*; do
		sl="$sl $(cut -d' ' -f1 "$t/syscall" 2>/dev/null)/$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "$t/status")"
	done
done
wa=$(cat "$sys/$MA/futex_waiters" 2>&1)
wb=$(cat "$sys/$MB/futex_waiters" 2>&1)
[ "$(echo "$sl" | tr ' ' '\n' | grep -c '^202/S$')" = 4 ] && [ "$wa" = 2 ] && [ "$wb" = 2 ]
result module.futex_waiters "$?" "syscall/state of the threads of $pa and $pb:$sl; waiters queued in the private tables: $MA $wa, $MB $wb"

# delete while they sleep: the runtime kills, runc deletes, rmmod succeeds once the namespace is gone.
# Both are module-only containers: their state is in runc's directory with the module named beside
# it (StateStore.markModule), and the launcher deletes them alone; A's with no engine reachable
before=$(grep -cE "^($MA|$MB) " /proc/modules)
mark=$(cat "/run/runc/$A/vkernel.module" 2>&1)
st=$(for f in /run/runc/vkernel@"$A".* "/run/runc/$A/vkernel.json"; do [ -e "$f" ] && echo "$f"; done | tr '\n' ' ')
t0=$(now)
VKERNEL_RUNTIME_HOME=/nonexistent VKERNEL_ENGINE=node $RT delete --force "$A" >/tmp/del.out 2>&1
rda=$?
tda=$(since "$t0")
t0=$(now)
$RT delete --force "$B" >>/tmp/del.out 2>&1
rdb=$?
tdb=$(since "$t0")
left=$(grep -E "^($MA|$MB) " /proc/modules)
[ "$before" = 2 ] && [ $rda = 0 ] && [ $rdb = 0 ] && [ -z "$left" ] && [ ! -e "$sys/$MA" ] && [ ! -e "$sys/$MB" ] &&
	[ ! -e "/run/runc/vkernel@$A.json" ]
result module.unloaded_after_delete $? "$before modules loaded; delete --force $A: rc=$rda in ${tda} s, $B: rc=$rdb in ${tdb} s; left: '${left}'; $(tr '\n' ';' </tmp/del.out)"
echo "$mark" | grep -qx "$MA $pa" && [ "$st" = "/run/runc/$A/vkernel.json " ] && [ $rda = 0 ] && ! grep -q "^$MA " /proc/modules
result module.launcher_delete $? "before: $A's marker '$mark' (init $pa), state files '$st'; delete --force with VKERNEL_RUNTIME_HOME=/nonexistent VKERNEL_ENGINE=node: rc=$rda in ${tda} s, $MA $(grep -q "^$MA " /proc/modules && echo still loaded || echo unloaded)"

dmesg >/tmp/dmesg.txt
grep -q "$MA: success to init" /tmp/dmesg.txt && grep -q "$MA: exit" /tmp/dmesg.txt &&
	grep -q "$MB: exit" /tmp/dmesg.txt &&
	! grep -qE 'Oops|BUG:|WARNING:|general protection|Call Trace|refcount_t|sysfs: cannot create' /tmp/dmesg.txt
result module.no_oops $? "load lines of $MA: $(grep -c "$MA: success to init" /tmp/dmesg.txt), exit lines of $MA/$MB: $(grep -c "$MA: exit" /tmp/dmesg.txt)/$(grep -c "$MB: exit" /tmp/dmesg.txt), oops lines: $(grep -cE 'Oops|BUG:|WARNING:|general protection|Call Trace|refcount_t|sysfs: cannot create' /tmp/dmesg.txt); $(grep -E "vkernel|Oops|BUG:|WARNING:|Call Trace" /tmp/dmesg.txt | tail -12 | tr '\n' ';')"
vkend
