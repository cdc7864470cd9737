# The scx backend (issue 16 §2) through the real runtime: io.vkernel.backend=scx on a kernel with
# sched_ext that we did not patch (kernel/build-scx.sh: Linux 6.12; Debian's own stock kernel of a
# suite that enables it). The runtime starts the BPF scheduler
# (scx_vkernel, from PATH), puts a fifo container's cpu cgroup in its map and switches the
# container's init to SCHED_EXT (7). Needs the payload of test/vm/scx.test.ts. On a kernel without
# sched_ext every check FAILs with the reason (the runtime refuses backend=scx there).
. /tests/lib.sh
CHECKS="scx.sched_ext_present scx.fifo_arrival_order scx.cfs_interleaves scx.two_policies_at_once \
	scx.killed_tasks_keep_running scx.restarted_by_create scx.auto_chooses_scx scx.hackbench scx.delete_leaves_map_empty"
if [ ! -x /opt/vkr/bin/vkernel-runtime ] || [ ! -x /usr/bin/scx_vkernel ] || [ ! -e /opt/bundles/scxfifo/config.json ]; then
	fail_all "no runtime, scx_vkernel or scx bundles in the initramfs (scx.test.ts payload)" $CHECKS
	vkend
	exit 0
fi
# a container host on cgroup v2 (newer kernels have no cgroup v1 memory controller: Debian's
# CONFIG_MEMCG_V1 is not set); the cpu controller on, so each container's group is a task group
mkdir -p /sys/fs/cgroup /run /var/run /etc
grep -q ' /sys/fs/cgroup ' /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpu +cpuset +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
export PATH=/usr/sbin:/usr/bin:/bin
RT="$VKR --root /run/runc"
SX=/sys/kernel/sched_ext
sx_state() { echo "state=$(cat $SX/state 2>/dev/null || echo none) ops=$(cat $SX/root/ops 2>/dev/null || echo none)"; }
# the pid of the running scheduler loader (scx_vkernel run), empty when none
loader_pid() {
	for _c in /proc/[0-9]*/cmdline; do
		case "$(tr '\0' ' ' 2>/dev/null <"$_c")" in "scx_vkernel run"*) _p=${_c#/proc/}; echo "${_p%/cmdline}"; return 0 ;; esac
	done
}
# runit BUNDLE ID: run to completion (create, start, wait, delete), output in /tmp/ID.out, rc in /tmp/ID.rc
runit() { $RT run --no-pivot --bundle "/opt/bundles/$1" "$2" </dev/null >"/tmp/$2.out" 2>&1; echo $? >"/tmp/$2.rc"; }
# the detail of a run: rc, the task policy the container saw, the fifo result line or the error
said() { echo "rc=$(cat /tmp/$1.rc 2>/dev/null) $(grep -o 'policy=[0-9]*' /tmp/$1.out | head -1) $(grep 'fifo:' /tmp/$1.out | tail -1) $(grep 'result\|error\|level=' /tmp/$1.out | tail -1)"; }
inorder() { grep -q 'result inorder=1 overlaps=0' "/tmp/$1.out" && grep -q 'policy=7' "/tmp/$1.out" && [ "$(cat /tmp/$1.rc)" = 0 ]; }
overlaps() { sed -n 's/.*overlaps=\([0-9]*\).*/\1/p' "/tmp/$1.out" | tail -1; }

[ -e $SX/state ]
result scx.sched_ext_present $? "release $(uname -r): $(sx_state)"

# fifo: the container's 4 CPU-bound tasks (one CPU) end in the order they were forked, none started
# before the previous ended; the container's tasks are SCHED_EXT under our scheduler
runit scxfifo s1
st=$(sx_state)
inorder s1 && [ "$st" = "state=enabled ops=vkernel" ]
result scx.fifo_arrival_order $? "$(said s1); after: $st"

# cfs (the fair class: nothing to do) interleaves, with our scheduler loaded
runit scxcfs c1
o=$(overlaps c1)
[ "$(cat /tmp/c1.rc)" = 0 ] && [ "${o:-0}" -gt 0 ] && [ "$(sx_state)" = "state=enabled ops=vkernel" ]
result scx.cfs_interleaves $? "$(said c1); $(sx_state)"

# both at once: each keeps its own policy (the fair class runs first on the shared CPU: SCHED_EXT
# is below it in 6.12)
runit scxfifo s2 &
a=$!
runit scxcfs c2 &
b=$!
wait $a $b
o=$(overlaps c2)
inorder s2 && [ "$(cat /tmp/c2.rc)" = 0 ] && [ "${o:-0}" -gt 0 ]
result scx.two_policies_at_once $? "fifo: $(said s2); cfs: $(said c2)"

# the scheduler SIGKILLed while a fifo container's tasks run: sched_ext is disabled, the tasks go on
# in the fair class (policy still SCHED_EXT) and the container completes
runit scxlong l1 &
a=$!
# its init and 4 children in its group (cgroup v2: /sys/fs/cgroup/l1), i.e. running under us
n=0
for i in $(seq 600); do
	n=$(wc -l 2>/dev/null </sys/fs/cgroup/l1/cgroup.procs)
	[ "${n:-0}" -ge 5 ] && break
	kill -0 $a 2>/dev/null || break
	sleep 0.1
done
lp=$(loader_pid)
before=$(sx_state)
[ -n "$lp" ] && kill -9 "$lp"
for i in $(seq 50); do [ "$(cat $SX/state 2>/dev/null)" = disabled ] && break; sleep 0.1; done
after=$(sx_state)
again=$(loader_pid)
wait $a
klog=$(dmesg | grep 'sched_ext: BPF scheduler "vkernel"' | tail -n 2 | sed 's/^\[[^]]*\] //' | tr '\n' ';')
[ "${n:-0}" -ge 5 ] && [ -n "$lp" ] && [ "$before" = "state=enabled ops=vkernel" ] && [ "$after" = "state=disabled ops=none" ] &&
	[ -z "$again" ] && [ "$(cat /tmp/l1.rc)" = 0 ] && grep -q 'result inorder=' /tmp/l1.out && grep -q 'policy=7' /tmp/l1.out &&
	echo "$klog" | grep -q 'disabled'
result scx.killed_tasks_keep_running $? "with $n tasks in the container's group: loader '$lp' SIGKILLed: before $before, after $after, no new loader meanwhile: '${again}'; the container: $(said l1); kernel: $klog"

# the next scx create starts the scheduler again
runit scxfifo s3
st=$(sx_state)
inorder s3 && [ "$st" = "state=enabled ops=vkernel" ] && [ -n "$(loader_pid)" ]
result scx.restarted_by_create $? "$(said s3); after: $st, loader $(loader_pid)"

# auto (no io.vkernel.backend) on a kernel with sched_ext: the scx backend
runit scxauto a1
st=$(sx_state)
inorder a1 && [ "$st" = "state=enabled ops=vkernel" ]
result scx.auto_chooses_scx $? "$(said a1); after: $st"

# the same message-passing load in a fifo and a cfs container (auto: scx)
hackbench_pair scx.hackbench 7

# every container above was deleted by run: no entry left in the map, no state
left=$(scx_vkernel list 2>&1)
states=$(find /run/runc -name '*.json' 2>/dev/null | tr '\n' ' ')
[ -z "$left" ] && [ -z "$states" ] && [ -e /sys/fs/bpf/vkernel/scx_policies ]
result scx.delete_leaves_map_empty $? "scx_vkernel list: '$left'; /run/runc: '$states'; pinned map $(ls /sys/fs/bpf/vkernel 2>&1)"
# for people reading a failure: the scheduler's own log (the runtime starts it with one)
sed 's/^/# scx_vkernel.log: /' /run/vkernel-runtime/locks/scx_vkernel.log 2>/dev/null | tail -n 20
vkend
