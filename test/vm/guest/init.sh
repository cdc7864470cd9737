#!/bin/busybox sh
# /init of the vkernel test initramfs: mount the basics, say which kernel
# booted (VKBOOT ... abi=<N|none>: the harness compares it with the kernel it
# meant to boot), run every /tests/*.sh (except lib.sh), each of which ends
# with its own VKEND line, then VKEXIT with its status, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
echo "VKBOOT uptime=$(cut -d' ' -f1 /proc/uptime) release=$(uname -r) cpus=$(nproc) abi=$(cat /sys/kernel/vkernel/abi_version 2>/dev/null || echo none)"
for t in /tests/*.sh; do
	[ "$t" = /tests/lib.sh ] && continue
	echo "VKRUN $t"
	sh "$t" 2>&1
	echo "VKEXIT $t rc=$?"
done
# The kernel's own reports of the whole boot, for the harness (test/vm/lib/vm.ts kernelReports:
# with the debug kernel, VKVM_KERNEL_CONFIG=debug, any of them fails the run): each report line and
# the 30 after it, as VKREPORT lines. The console runs `quiet`, which hides KERN_WARNING lines
# (WARN(), lockdep), so it is read from the log, not the console.
dmesg | grep -E -A30 '(^|[^A-Za-z])BUG[: ]|WARNING:|lockdep is turned off|lockdep:|circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|KFENCE:|KASAN:|UBSAN:|Oops|general protection fault|list_add corruption|list_del corruption|sleeping function called from invalid context|refcount_t:|Kernel panic' |
	head -n 400 | sed 's/^/VKREPORT /'
echo "VKKLOG lines=$(dmesg | wc -l)"
echo "VKDONE uptime=$(cut -d' ' -f1 /proc/uptime)"
# The serial console may still be sending what the scripts printed (slow under TCG on a loaded
# host): poweroff now cut 60-attach.sh's last 16 lines in CI ("reboot: Power down" in the middle of
# them). Wait until the port's transmit count stops moving (two equal reads 0.3 s apart, 15 s at most).
last=
for i in $(seq 50); do
	tx=$(sed -n 's/^0:.* tx:\([0-9]*\).*/\1/p' /proc/tty/driver/serial 2>/dev/null)
	[ -z "$tx" ] && { sleep 1; break; }
	[ "$tx" = "$last" ] && break
	last=$tx
	sleep 0.3
done
poweroff -f
