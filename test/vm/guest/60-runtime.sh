# The real vkernel-runtime (bun engine) driving runc inside the guest, on real containers.
# Needs the payload of test/vm/lib/runtime-payload.mjs (VKVM_EXTRA_LIST).
. /tests/lib.sh
if [ ! -x /opt/vkr/bin/vkernel-runtime ]; then
	fail_all "no runtime in the initramfs (VKVM_EXTRA_LIST of test/vm/lib/runtime-payload.mjs)" \
		runtime.plain_run runtime.create_fifo runtime.fifo_kernel_backend runtime.fifo_arrival_order \
		runtime.fifo_delete_clean runtime.cfs_real_policy_0 runtime.wakeup_granularity_per_container \
		runtime.overcommit_per_container runtime.thp_per_container
	vkend
	exit 0
fi
runtime_setup
# the initramfs is a ramfs: runc cannot pivot_root out of it
create() { $RT create --no-pivot --bundle "/opt/bundles/$1" "$2" </dev/null >"/tmp/$2.out" 2>&1; }
runit() { $RT run --no-pivot --bundle "/opt/bundles/$1" "$2" </dev/null 2>&1; }

# a container with no request runs as under runc: same output and status as runc itself gives
# for the same bundle, and it reads the host's values (nothing of ours applied)
out=$(runit plain p1)
rc=$?
ref=$(runc --root /run/runc-ref run --no-pivot --bundle /opt/bundles/plain p0 </dev/null 2>&1)
rrc=$?
host=$(cat /proc/sys/kernel/sched_wakeup_granularity_ns 2>/dev/null; cat /proc/sys/vm/overcommit_memory)
[ $rc = 0 ] && [ $rrc = 0 ] && [ "$out" = "$ref" ] && [ "$out" = "$host" ]
result runtime.plain_run $? "vkernel-runtime: rc=$rc '$(echo $out)'; runc: rc=$rrc '$(echo $ref)'; host: '$(echo $host)'"

# fifo through the kernel backend: cpu.real_policy of the container's own group
t0=$(cut -d' ' -f1 /proc/uptime)
create fifo f1
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
result runtime.create_fifo $rc "create took $(echo "$t0 $t1" | awk '{printf "%.2f", $2-$1}') s (TCG); $(tail -1 /tmp/f1.out)"
v=$(cat /sys/fs/cgroup/cpu/f1/cpu.real_policy 2>&1)
# our state: beside runc's (vkernel@<id>.json), or inside runc's own container directory when
# delete has nothing to undo after runc's (src/store/state.ts, RUNC_OWNED)
st=/run/runc/vkernel@f1.json
[ -e $st ] || st=/run/runc/f1/vkernel.json
b=$(grep -o '"backend": "[a-z]*"' $st 2>&1 | head -1)
[ "$v" = 1 ] && [ "$b" = '"backend": "kernel"' ]
result runtime.fifo_kernel_backend $? "cpu.real_policy=$v $b"
out=$(vkt fifo 4 150 /sys/fs/cgroup/cpu/f1/cgroup.procs)
echo "$out" | grep -q "result inorder=1 overlaps=0"
result runtime.fifo_arrival_order $? "$(echo "$out" | tail -1)"
$RT start f1
$RT delete --force f1
[ ! -e /run/runc/vkernel@f1.json ] && [ ! -e /run/runc/f1 ] && [ ! -d /sys/fs/cgroup/cpu/f1 ]
result runtime.fifo_delete_clean $? "state and cgroup gone"

# cfs leaves the group at 0
create cfs c1
v=$(cat /sys/fs/cgroup/cpu/c1/cpu.real_policy 2>&1)
[ "$v" = 0 ]; result runtime.cfs_real_policy_0 $? "cpu.real_policy=$v"
$RT delete --force c1

# per-container wakeup granularity: each container reads its own, the host's is unchanged
host=$(cat /proc/sys/kernel/sched_wakeup_granularity_ns 2>&1)
a=$(runit wakeup w1 | head -1)
b=$(runit wakeup2 w2 | head -1)
after=$(cat /proc/sys/kernel/sched_wakeup_granularity_ns 2>&1)
[ "$a" = 3000000 ] && [ "$b" = 7000000 ] && [ "$host" = "$after" ]
result runtime.wakeup_granularity_per_container $? "w1=$a w2=$b host=$host→$after"

# per-container overcommit: strict accounting refuses in one container what "always" grants in another
a=$(runit oc2 m1)
b=$(runit oc1 m2)
[ "$a" = ENOMEM ] && [ "$b" = ok ]
result runtime.overcommit_per_container $? "mode 2 ratio 50: mmap 600 MiB=$a; mode 1: mmap 64 GiB=$b; host: mode=$(cat /proc/sys/vm/overcommit_memory) mmap 600 MiB=$(vkt mmap 600)"

# per-container THP mode
al=$(runit thpalways h1)
nv=$(runit thpnever h2)
case "$al" in *AnonHugePages:*\ 0\ kB*) r=1 ;; *AnonHugePages:*) r=0 ;; *) r=1 ;; esac
case "$nv" in *AnonHugePages:*\ 0\ kB*) ;; *) r=1 ;; esac
result runtime.thp_per_container $r "always: $al; never: $nv"
vkend
