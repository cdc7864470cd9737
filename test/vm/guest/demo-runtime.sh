# `npm run demo -- --vm`: what the kernel backend applies, seen in the guest.
. /tests/lib.sh
runtime_setup
echo "== vkernel kernel: abi $(cat /sys/kernel/vkernel/abi_version), features: $(cat /sys/kernel/vkernel/features)"
echo "== \$ vkernel-runtime create --bundle ... demo   (io.vkernel.sched.policy=fifo)"
$RT create --no-pivot --bundle /opt/bundles/fifo demo </dev/null >/tmp/demo.out 2>&1 || cat /tmp/demo.out
echo "   backend: $(grep -o '"backend": "[a-z]*"' /run/runc/vkernel@demo.json | head -1)"
echo "   /sys/fs/cgroup/cpu/demo/cpu.real_policy = $(cat /sys/fs/cgroup/cpu/demo/cpu.real_policy)  (1 = FIFO inside the group)"
echo "   4 CPU-bound tasks in the group, on one CPU: $(vkt fifo 4 150 /sys/fs/cgroup/cpu/demo/cgroup.procs | tail -1)"
$RT delete --force demo
echo "== per-container parameters (io.vkernel.sched.wakeup_granularity_ns), read inside each container:"
echo "   container A: $($RT run --no-pivot --bundle /opt/bundles/wakeup dA </dev/null 2>&1 | head -1)"
echo "   container B: $($RT run --no-pivot --bundle /opt/bundles/wakeup2 dB </dev/null 2>&1 | head -1)"
echo "   host:        $(cat /proc/sys/kernel/sched_wakeup_granularity_ns)"
echo "== io.vkernel.mm.overcommit_memory=2 (ratio 1): mmap 600 MiB -> $($RT run --no-pivot --bundle /opt/bundles/oc2 dC </dev/null 2>&1)"
echo "== io.vkernel.mm.overcommit_memory=1:           mmap 64 GiB  -> $($RT run --no-pivot --bundle /opt/bundles/oc1 dD </dev/null 2>&1)"
vkend
