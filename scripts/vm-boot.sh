#!/bin/bash
# Boot the vkernel VM image (scripts/vm-image.sh's OUTDIR) under qemu with TCG:
#   scripts/vm-boot.sh OUTDIR                 a root shell on the console, dockerd running
#   scripts/vm-boot.sh OUTDIR SCRIPT [TIMEOUT_S]
#                                             runs SCRIPT as /vkvm/run.sh in the guest, then
#                                             powers off; qemu is killed after TIMEOUT_S (600)
# VKVM_MEM (MiB, default 3072): the initramfs is unpacked into RAM. VKVM_SMP: vCPUs (default 2).
# VKVM_KERNEL: another bzImage to boot the same initramfs with (eval: the unpatched kernel).
# VKVM_EXTRA: a directory whose files go to /vkvm/ in the guest beside run.sh (eval: its helpers).
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 3 ] || { echo "usage: $0 OUTDIR [SCRIPT [TIMEOUT_S]]" >&2; exit 2; }
out=$1
script=${2:-}
timeout_s=${3:-600}
initrd=$out/rootfs.cpio
# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can fail and panic
# ("IO-APIC + timer doesn't work!", seen in CI's vm-image boot)
qemu=(qemu-system-x86_64 -nographic -no-reboot -cpu max -smp "${VKVM_SMP:-2}" -m "${VKVM_MEM:-3072}"
	-kernel "${VKVM_KERNEL:-$out/bzImage}" -append 'console=ttyS0 panic=-1 quiet no_timer_check')

if [ -z "$script" ]; then
	exec "${qemu[@]}" -initrd "$initrd"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vkvm-boot.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/extra/vkvm"
if [ -n "${VKVM_EXTRA:-}" ]; then
	cp -a "$VKVM_EXTRA/." "$work/extra/vkvm/"
fi
install -m 0755 "$script" "$work/extra/vkvm/run.sh"
# a second newc archive after the first: the kernel unpacks both, in order
(cd "$work/extra" && find . -mindepth 1 | cpio -o -H newc --quiet) >"$work/extra.cpio"
cat "$initrd" "$work/extra.cpio" >"$work/initrd"
rc=0
timeout -k 5 "$timeout_s" "${qemu[@]}" -initrd "$work/initrd" </dev/null || rc=$?
exit "$rc"
