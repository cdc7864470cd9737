#!/bin/sh
# /init of the vkernel VM image (Dockerfile.vm): the root is the initramfs. Mounts what a container
# host has, starts dockerd (which starts containerd), imports a busybox image as vkernel/busybox,
# then runs /vkvm/run.sh if there is one (the test suite adds it) or a shell on the console, and
# powers off when that ends. Kernel command line: vkvm.nodocker=1 skips dockerd.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
bb=/bin/busybox

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run /tmp /var/log
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=755 run /run
mount -t tmpfs -o mode=1777 tmp /tmp
# cgroup v1, one hierarchy per controller (the guest kernel has no BPF, which runc's cgroup v2
# device rules need); the cpu hierarchy carries cpu.real_policy
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
for c in cpu cpuacct cpuset memory pids devices freezer; do
	mkdir -p /sys/fs/cgroup/$c
	mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c
done
hostname vkernel-vm
ip link set lo up

echo "vkernel-vm: kernel $(uname -r), vkernel abi $(cat /sys/kernel/vkernel/abi_version 2>/dev/null || echo none)," \
	"features: $(cat /sys/kernel/vkernel/features 2>/dev/null || echo none), boot $(cut -d' ' -f1 /proc/uptime) s"

if ! grep -qw vkvm.nodocker=1 /proc/cmdline; then
	# the root is an initramfs, which cannot be pivot_root'ed out of: dockerd then asks the
	# runtime for --no-pivot
	export DOCKER_RAMDISK=1
	dockerd >/var/log/dockerd.log 2>&1 &
	i=0
	until docker info >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			echo "vkernel-vm: dockerd did not start; its log:"
			tail -n 30 /var/log/dockerd.log
			break
		fi
		sleep 0.5
	done
	docker import /usr/share/vkernel-vm/busybox.tar vkernel/busybox >/dev/null &&
		echo "vkernel-vm: dockerd ready at $(cut -d' ' -f1 /proc/uptime) s; runtimes:" \
			"$(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')"
fi

if [ -x /vkvm/run.sh ]; then
	/vkvm/run.sh
else
	echo "vkernel-vm: try  docker run --rm --network none --runtime=vkernel-runtime -e VKERNEL_SCHED_POLICY=fifo vkernel/busybox cat /proc/self/cgroup   (exit or poweroff -f ends the VM)"
	setsid -c /bin/bash -l </dev/console >/dev/console 2>&1 || $bb sh
fi
sync
$bb poweroff -f
