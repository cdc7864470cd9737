# The rt v2 backend under the systemd cgroup driver (issue 16 §1: "also works with the systemd
# cgroup driver"), on the same kernel as 80-rt-v2.sh. A real systemd (Debian 12's) runs as PID 1 of a
# sandbox in this guest (test/helpers/systemd-sandbox.sh, as the host tier uses it: private pid,
# mount, cgroup, uts and ipc namespaces, cgroup v2 with the sandbox's group as its root); the runtime
# and runc run inside it with --systemd-cgroup, so the container is a transient scope
# system.slice/vk-<name>.scope made through systemd's bus. fifo: the scope's tasks are SCHED_FIFO,
# the supervisor runs beside the scope, a busy container is held to its budget, and delete leaves no
# unit, group, state, supervisor or ledger holder. On a kernel with RT group scheduling every check
# FAILs with the runtime's reason (rt v2 is not chosen, fifo is refused there).
# Needs rt-v2.test.ts's payload: systemd, systemctl, util-linux's unshare/mount/umount, the sandbox
# script at /opt/vkr/systemd-sandbox.sh, bundles sdidle and sdburn (cgroupsPath system.slice:vk:NAME).
. /tests/lib.sh
CHECKS="rtv2sd.scope_fifo rtv2sd.budget_held rtv2sd.delete_clean"
if [ ! -x /usr/bin/systemd ] || [ ! -e /opt/vkr/systemd-sandbox.sh ] || [ ! -e /opt/bundles/sdburn/config.json ]; then
	fail_all "no systemd, sandbox script or bundles in the initramfs (rt-v2.test.ts payload)" $CHECKS
	vkend
	exit 0
fi
export PATH=/usr/sbin:/usr/bin:/bin
CG=/sys/fs/cgroup
mkdir -p $CG /etc/vkernel-runtime
grep -q " $CG " /proc/mounts || mount -t cgroup2 cgroup2 $CG
echo "+cpu +cpuset +memory +pids" >$CG/cgroup.subtree_control 2>/dev/null
# the supervisor's CPU limit in this emulated guest, as in 80-rt-v2.sh
[ -e /etc/vkernel-runtime/config.yaml ] || printf 'rt:\n  supervisor_cpu_percent: 50\n' >/etc/vkernel-runtime/config.yaml
SB=$CG/vk-sd
mkdir -p $SB
# the sandbox as a whole at weight 1 against the host load: a demoted container gets next to nothing
echo 1 >$SB/cpu.weight 2>/dev/null
sh /opt/vkr/systemd-sandbox.sh outer $SB/cgroup.procs -- cgroup2::$CG >/tmp/sd.log 2>&1 &
bg=$!
sd=""
n=0
while [ -z "$sd" ] && [ $n -lt 100 ]; do
	sleep 0.2
	k=$(cut -d' ' -f1 /proc/$bg/task/$bg/children 2>/dev/null)
	[ -n "$k" ] && [ "$(cat /proc/$k/comm 2>/dev/null)" = systemd ] && sd=$k
	n=$((n + 1))
done
state=""
n=0
while [ -n "$sd" ] && [ $n -lt 150 ]; do
	state=$(/usr/bin/nsenter -t "$sd" -a -- systemctl is-system-running 2>&1)
	case $state in running* | degraded*) break ;; esac
	sleep 0.2
	n=$((n + 1))
done
# stop_sandbox: systemd and everything in its pid namespace, then its groups, deepest first
stop_sandbox() {
	[ -n "$sd" ] && kill -9 "$sd" 2>/dev/null
	wait $bg 2>/dev/null
	find $SB -depth -type d -exec rmdir {} \; 2>/dev/null
}
case $state in
running* | degraded*) ;;
*)
	fail_all "systemd did not come up in its sandbox on $(uname -r) (pid '${sd}', state '${state}'; its own messages go to the console): $(tail -n 5 /tmp/sd.log | tr '\n' ' ')" $CHECKS
	stop_sandbox
	vkend
	exit 0
	;;
esac
IN="/usr/bin/nsenter -t $sd -a --"
RT="$VKR --systemd-cgroup --root /run/runc"
# sdcreate NAME: create + start of bundle NAME as container NAME inside the sandbox
sdcreate() { $IN $RT create --no-pivot --bundle "/opt/bundles/$1" "$1" </dev/null >"/tmp/sd-$1.out" 2>&1 && $IN $RT start "$1" >>"/tmp/sd-$1.out" 2>&1; }
scope() { echo "$SB/system.slice/vk-$1.scope"; }
unit_state() { $IN systemctl show -p ActiveState --value "vk-$1.scope" 2>&1; }
ROOT=/proc/$sd/root
# the rt v2 helpers of lib.sh: the sandbox's lock directory, the supervisors' groups beside the scopes
RTV2_LOCKS=$ROOT/run/vkernel-runtime/locks
RTV2_GROUPS=$SB/system.slice
leftovers() {
	_l=""
	for f in "$ROOT"/run/runc/vkernel@"$1".* "$ROOT/run/runc/$1"; do [ -e "$f" ] && _l="$_l state:${f##*/}"; done
	[ -d "$(scope "$1")" ] && _l="$_l scope-group"
	[ -d "$SB/system.slice/vkernel-rt-$1" ] && _l="$_l supervisor-group"
	[ -n "$(supervisors "$1")" ] && _l="$_l supervisor:$(supervisors "$1" | tr '\n' ' ')"
	case $(unit_state "$1") in inactive | '') ;; *) _l="$_l unit:$(unit_state "$1")" ;; esac
	holders | grep -q "vk-$1.scope\"" && _l="$_l ledger-holder"
	echo "${_l# }"
}

# a fifo container in systemd's scope: its init SCHED_FIFO 1, the supervisor SCHED_FIFO 99 beside it
if ! sdcreate sdidle; then
	fail_all "create in systemd's sandbox refused: $(tail -n 1 /tmp/sd-sdidle.out)" $CHECKS
	$IN $RT delete --force sdidle >/dev/null 2>&1
	stop_sandbox
	vkend
	exit 0
fi
sleep 0.3
init=$(sed -n 1p "$(scope sdidle)/cgroup.procs" 2>/dev/null)
ip=$(policy "$init")
sup=$(supervisor sdidle)
sp=$(policy "$sup")
b=$(grep -o '"backend": "[a-z0-9-]*"' "$ROOT/run/runc/vkernel@sdidle.json" 2>/dev/null | head -n 1)
us=$(unit_state sdidle)
# (read from outside the sandbox's cgroup namespace: its root is /vk-sd)
cgl=$(sed -n 's/^0:://p' "/proc/$init/cgroup" 2>/dev/null)
[ "$ip" = 1/1 ] && [ "$sp" = 1/99 ] && [ "$us" = active ] && [ "$cgl" = /vk-sd/system.slice/vk-sdidle.scope ] && [ "$b" = '"backend": "rt-v2"' ]
result rtv2sd.scope_fifo $? "unit vk-sdidle.scope $us, init $init in '$cgl' policy/prio $ip; supervisor ${sup:-none} $sp in system.slice/vkernel-rt-sdidle; state: $b; systemd $($IN systemctl --version | sed -n 1p)"
$IN $RT delete --force sdidle >/dev/null 2>&1
l1=$(leftovers sdidle)

# budget: 2 CPU-bound FIFO tasks against 2 CPU-bound host tasks over 4 s (the sandbox at weight 1):
# the container's CPU time is its RT time, 25 % of 2 CPUs by the default budget
mkdir -p $CG/hostload
sdcreate sdburn || echo "create sdburn: $(tail -n 1 /tmp/sd-sdburn.out)"
sh -c "echo \$\$ >$CG/hostload/cgroup.procs; exec rtload burn 2" &
hl=$!
sleep 1
bp=$(policy "$(sed -n 1p "$(scope sdburn)/cgroup.procs" 2>/dev/null)")
st0=$(supstats sdburn)
n0=$(loglines sdburn)
m=$(fifospan /tmp/sd-sdburn.out "$(scope sdburn)" $CG/hostload)
kill $hl
for p in $(cat $CG/hostload/cgroup.procs); do kill "$p"; done
wall=$(field wall_us "$m")
fu=$(field fifo_us "$m")
cu=$(field "$(scope sdburn)" "$m")
fshare=$(pct2 "$fu" "$wall")
share=$(pct2 "$cu" "$wall")
st=$(supstats sdburn)
early=$(echo "$st" | sed -n 's/.*demotions (\([0-9]*\) early).*/\1/p')
b=$(fifobounds "$st0" "$(suplog sdburn "$n0")" "$wall")
lo=${b% *}
hi=${b#* }
# its tasks' FIFO time (their own count, as rtv2.budget_held's): at most the budget (31: the span's
# ends cut windows; more for a wider window), at least 20 % (less one window and what its
# self-limit's waits cost: fifobounds) unless the supervisor demoted early
[ -n "$wall" ] && [ "$(field reporters "$m")" = 2 ] && [ "$fshare" -le "$hi" ] && { [ "$fshare" -ge "$lo" ] || [ "${early:-0}" -gt 0 ]; }
result rtv2sd.budget_held $? "container (init policy $bp) FIFO ${fshare} % of 2 CPUs over ${wall:-?} us by its tasks' own count against 2 host tasks (budget 25 %, accepted at most $hi, at least $lo unless the supervisor demoted early: ${early:-?}), all its CPU ${share} %; $m; $st"
$IN $RT delete --force sdburn >/dev/null 2>&1
l2=$(leftovers sdburn)
rmdir $CG/hostload 2>/dev/null

# delete leaves nothing: no unit, scope group, supervisor group or process, state, ledger holder
left=$(ls "$SB/system.slice" 2>/dev/null | grep -E '^(vk-|vkernel-rt-)' | tr '\n' ' ')
[ -z "$l1" ] && [ -z "$l2" ] && [ -z "$left" ]
result rtv2sd.delete_clean $? "after delete --force: sdidle '$l1', sdburn '$l2'; left in system.slice: '$left'; ledger holders '$(holders)'"
stop_sandbox
vkend
