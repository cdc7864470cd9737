#!/bin/busybox sh
# /init of the vkernel test initramfs: mount the basics, run every
# /tests/*.sh (except lib.sh), power off.
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
done
echo "VKDONE uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
