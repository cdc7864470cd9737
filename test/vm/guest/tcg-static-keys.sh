# A diagnostic of the VM harness, not of the runtime (no suite runs it): does QEMU's TCG mode
# survive a kernel patching its own code while the other vCPU runs it? Flips the static key of
# kernel.sched_schedstats 3000 times (each flip rewrites jump sites in the scheduler's enqueue and
# dequeue paths) while both vCPUs fork and exit in loops (those paths, hot). Needs a kernel with
# CONFIG_JUMP_LABEL=y and CONFIG_SCHEDSTATS=y (Debian's; our own builds have no jump labels):
#   K=$(STOCK_SUITE=forky test/vm/stock-kernel.sh | tail -n 1)
#   VKVM_CPU=max [VKVM_TCG_THREAD=single] test/vm/run-vm.sh "$K" 400 test/vm/guest/tcg-static-keys.sh
# test/vm/README.md has what it measured.
. /tests/lib.sh
[ -w /proc/sys/kernel/sched_schedstats ] || { fail_all "no kernel.sched_schedstats" tcg.static_key_flips; vkend; exit 0; }
for _ in 1 2; do (while :; do /bin/true; done) & done
n=0
t0=$(cut -d' ' -f1 /proc/uptime)
while [ $n -lt 3000 ]; do
	echo 1 >/proc/sys/kernel/sched_schedstats || break
	echo 0 >/proc/sys/kernel/sched_schedstats || break
	n=$((n + 1))
done
t1=$(cut -d' ' -f1 /proc/uptime)
kill %1 %2 2>/dev/null
r=$(dmesg | grep -cE 'Oops|BUG:|general protection|Call Trace')
[ "$n" = 3000 ] && [ "$r" = 0 ]
result tcg.static_key_flips $? "$n flips from ${t0} s to ${t1} s of uptime; kernel report lines: $r"
vkend
