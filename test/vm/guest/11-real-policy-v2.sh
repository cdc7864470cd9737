# cpu.real_policy: FIFO groups run their tasks in arrival order (cgroup v2).
# vkvm-smp: 4
. /tests/lib.sh
N=4
MS=150
# --- cgroup v2 ---
cgroup2_setup
mkdir -p $u/g
# writing on the root group is refused (the file exists there, reads 0)
if [ ! -e $u/cpu.real_policy ] || echo 1 >$u/cpu.real_policy 2>/dev/null; then r=1; else r=0; fi
result real_policy.v2_root_rejected $r "root=$(cat $u/cpu.real_policy 2>&1)"
echo 1 >$u/g/cpu.real_policy 2>/dev/null
v=$(cat $u/g/cpu.real_policy 2>&1)
[ "$v" = 1 ]; result real_policy.v2_set $? "v2=$v"
out=$(vkt fifo $N $MS $u/g/cgroup.procs)
echo "$out" | grep -q "result inorder=1 overlaps=0"
result real_policy.v2_fifo_arrival_order $? "$(echo "$out" | tail -1)"
vkend
