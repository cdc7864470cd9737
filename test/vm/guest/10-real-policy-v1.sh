# cpu.real_policy: FIFO groups run their tasks in arrival order (cgroup v1).
# vkvm-smp: 4
. /tests/lib.sh
N=4
MS=150
mkdir -p /sys/fs/cgroup
mount -t tmpfs cg /sys/fs/cgroup

# --- cgroup v1 ---
cg=/sys/fs/cgroup/cpu
mkdir -p $cg
mount -t cgroup -o cpu cpu $cg || echo "VKTEST real_policy.v1_mount FAIL cgroup v1 cpu"
mkdir -p $cg/fifo $cg/cfs

if [ ! -e $cg/cpu.real_policy ] || echo 1 >$cg/cpu.real_policy 2>/dev/null; then r=1; else r=0; fi
result real_policy.root_rejected $r "root=$(cat $cg/cpu.real_policy 2>&1)"

# values other than 0 and 1 are refused
if [ ! -e $cg/fifo/cpu.real_policy ] || echo 2 >$cg/fifo/cpu.real_policy 2>/dev/null; then r=1; else r=0; fi
result real_policy.value_rejected $r "wrote 2"

echo 1 >$cg/fifo/cpu.real_policy
v=$(cat $cg/fifo/cpu.real_policy 2>&1)
[ "$v" = 1 ]; result real_policy.set $? "fifo=$v cfs=$(cat $cg/cfs/cpu.real_policy 2>&1)"

# N CPU-bound tasks pinned to CPU 1: FIFO runs them one after the other in
# the order they were forked; CFS interleaves them.
out=$(vkt fifo $N $MS $cg/fifo/cgroup.procs)
echo "$out"
echo "$out" | grep -q "result inorder=1 overlaps=0"
result real_policy.fifo_arrival_order $? "$(echo "$out" | tail -1)"

out=$(vkt fifo $N $MS $cg/cfs/cgroup.procs)
echo "$out"
o=$(echo "$out" | sed -n 's/.*overlaps=\([0-9]*\).*/\1/p')
[ "${o:-0}" -gt 0 ]
result real_policy.cfs_interleaves $? "$(echo "$out" | tail -1)"

# switching back to CFS
echo 0 >$cg/fifo/cpu.real_policy
out=$(vkt fifo $N $MS $cg/fifo/cgroup.procs)
o=$(echo "$out" | sed -n 's/.*overlaps=\([0-9]*\).*/\1/p')
[ "${o:-0}" -gt 0 ]
result real_policy.back_to_cfs $? "$(echo "$out" | tail -1)"
vkend
