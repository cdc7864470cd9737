#!/bin/bash
# Boot a kernel under qemu (TCG, never KVM) with a test initramfs and print
# the guest's serial console on stdout.
#
#   [VKVM_MODULES="modules/testattach"] test/vm/run-vm.sh KERNEL_OUT_DIR TIMEOUT_S TEST.sh...
#
# KERNEL_OUT_DIR is what kernel/build.sh printed (bzImage + build/ tree).
# The initramfs is built here, at test time: busybox-static, the vkt helper
# (test/vm/guest/vkt.c compiled statically), the given test scripts and
# test/vm/guest/init.sh as /init.  Test scripts print lines
#   VKTEST <name> PASS|FAIL <detail>
# and end with `vkend` (the line `VKEND <script>`); /init ends the VM with
# `poweroff -f`.  qemu is killed after TIMEOUT_S seconds whatever happens.
# Exit status: qemu's (124 = timeout).
#
# vCPUs: a script that needs more than 2 says so in a header line
#   # vkvm-smp: 4
# and the VM gets the largest count any of the given scripts asks for
# (VKVM_SMP overrides).  The first line printed is `VKVM smp=<n> ...`: the
# harness compares it with the `cpus=` the guest reports.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kdir=$1
timeout_s=$2
shift 2

work=$(mktemp -d "${TMPDIR:-/tmp}/vkvm.XXXXXX")
trap 'rm -rf "$work"' EXIT

busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" | grep -q 'statically linked' ||
	busybox=/bin/busybox
gcc -static -O2 -Wall -pthread -o "$work/vkt" "$here/guest/vkt.c"

# Test modules: VKVM_MODULES="modules/testattach ..." (source dirs, built
# here against the kernel's tree; a module that does not build, e.g. on the
# unpatched kernel, is left out and the guest test reports it absent).
modlines=()
for m in ${VKVM_MODULES:-}; do
	src=$(cd "$here/../.." && cd "$m" && pwd)
	name=$(basename "$src")
	cp -r "$src" "$work/mod-$name"
	if make -s -C "$kdir/build" M="$work/mod-$name" modules >"$work/mod-$name.log" 2>&1; then
		for ko in "$work/mod-$name"/*.ko; do
			modlines+=("file /lib/modules/$(basename "$ko") $ko 0644 0 0")
		done
	else
		echo "run-vm: module $m does not build for this kernel:" >&2
		tail -n 5 "$work/mod-$name.log" >&2
	fi
done

{
	echo "dir /bin 0755 0 0"
	echo "dir /dev 0755 0 0"
	echo "dir /proc 0755 0 0"
	echo "dir /sys 0755 0 0"
	echo "dir /tmp 1777 0 0"
	echo "dir /tests 0755 0 0"
	echo "dir /lib 0755 0 0"
	echo "dir /lib/modules 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "file /bin/vkt $work/vkt 0755 0 0"
	echo "file /init $here/guest/init.sh 0755 0 0"
	echo "file /tests/lib.sh $here/guest/lib.sh 0644 0 0"
	for t in "$@"; do
		echo "file /tests/$(basename "$t") $t 0755 0 0"
	done
	for l in "${modlines[@]}"; do
		echo "$l"
	done
	# more files (e.g. the runtime payload of test/vm/lib/runtime-payload.mjs)
	if [ -n "${VKVM_EXTRA_LIST:-}" ]; then
		cat "$VKVM_EXTRA_LIST"
	fi
} >"$work/list"
"$kdir/build/usr/gen_init_cpio" "$work/list" | gzip -1 >"$work/initrd.gz"

# icount: VKVM_ICOUNT=<shift>, or a script header line `# vkvm-icount: <shift>`: qemu's -icount
# (deterministic TCG: the guest's clocks count executed instructions, 2^shift ns each, so a time
# measured in the guest is a path length, free of the host's load: the kernel benches' cost checks).
# qemu 7.2 here does not bring up a second vCPU with -icount, so such a boot has 1 vCPU.
icount=${VKVM_ICOUNT:-}
if [ -z "$icount" ]; then
	for t in "$@"; do
		n=$(sed -n 's/^# vkvm-icount: *\([0-9]\)[[:space:]]*$/\1/p' "$t" | tail -n 1)
		if [ -n "$n" ]; then icount=$n; fi
	done
fi
[ -z "$icount" ] || [[ "$icount" =~ ^[0-9]$ ]] || { echo "run-vm: bad icount shift '$icount' (0-9)" >&2; exit 2; }

smp=${VKVM_SMP:-}
if [ -z "$smp" ]; then
	smp=2
	[ -n "$icount" ] && smp=1
	for t in "$@"; do
		n=$(sed -n 's/^# vkvm-smp: *\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$t" | tail -n 1)
		if [ -n "$n" ] && [ "$n" -gt "$smp" ]; then smp=$n; fi
	done
fi
[[ "$smp" =~ ^[1-9][0-9]*$ ]] || { echo "run-vm: bad vCPU count '$smp'" >&2; exit 2; }
qemu_icount=()
if [ -n "$icount" ]; then
	[ "$smp" = 1 ] || { echo "run-vm: -icount needs 1 vCPU here, got $smp" >&2; exit 2; }
	qemu_icount=(-icount "shift=$icount,sleep=off")
fi
# TCG threads: VKVM_TCG_THREAD=single|multi; by default "single" (qemu's -accel tcg,thread=single:
# every vCPU in one host thread) for a kernel built with jump labels, qemu's own default otherwise
# (a host thread per vCPU; one with -icount). A kernel with CONFIG_JUMP_LABEL (Debian's) rewrites
# its code when a static key flips (int3 first, then the rest, IPIs between), and under QEMU 7.2's
# multi-threaded TCG another vCPU can still execute the breakpoint after the kernel removed it:
# `Oops: int3`, or both vCPUs stuck. test/vm/guest/tcg-static-keys.sh and test/vm/README.md have
# the measurements. Our own builds have no jump labels.
tcg_thread=${VKVM_TCG_THREAD:-}
if [ -z "$tcg_thread" ] && [ -z "$icount" ] && grep -q '^CONFIG_JUMP_LABEL=y' "$kdir/config" 2>/dev/null; then
	tcg_thread=single
fi
[[ "$tcg_thread" =~ ^(single|multi|)$ ]] || { echo "run-vm: bad VKVM_TCG_THREAD '$tcg_thread' (single|multi)" >&2; exit 2; }
qemu_accel=()
[ -z "$tcg_thread" ] || qemu_accel=(-accel "tcg,thread=$tcg_thread")
echo "VKVM smp=$smp cpu=${VKVM_CPU:-qemu64} icount=${icount:-off} tcg=${tcg_thread:-default} kernel=$kdir/bzImage scripts=$(for t in "$@"; do printf '%s,' "$(basename "$t")"; done)"

rc=0
# VKVM_CPU: qemu CPU model (TCG's default qemu64 lacks SSE4.2/POPCNT, which the bun-compiled
# runtime engine needs: the runtime tier sets "max")
# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can fail and panic
# ("IO-APIC + timer doesn't work!", seen in CI's vm-image boot)
timeout -k 5 "$timeout_s" qemu-system-x86_64 -nographic -no-reboot "${qemu_accel[@]}" \
	-cpu "${VKVM_CPU:-qemu64}" "${qemu_icount[@]}" -m 1024 -smp "$smp" -kernel "$kdir/bzImage" -initrd "$work/initrd.gz" \
	-append 'console=ttyS0 panic=-1 quiet no_timer_check' </dev/null || rc=$?
exit "$rc"
