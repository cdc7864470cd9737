#!/bin/bash
# Turn the image built from Dockerfile.vm into what qemu boots:
#   scripts/vm-image.sh IMAGE OUTDIR      → OUTDIR/bzImage and OUTDIR/rootfs.cpio (newc, uncompressed)
# The docker client is $DOCKER (default: docker), talking to $DOCKER_HOST as usual.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 IMAGE OUTDIR" >&2; exit 2; }
image=$1
out=$2
docker=${DOCKER:-docker}

mkdir -p "$out"
root=$(mktemp -d "$out/rootfs.XXXXXX")
cid=
cleanup() {
	[ -z "$cid" ] || "$docker" rm -f "$cid" >/dev/null 2>&1 || true
	rm -rf "$root"
}
trap cleanup EXIT

cid=$("$docker" create "$image" /init)
"$docker" export "$cid" | tar -C "$root" --numeric-owner -xpf -
[ -x "$root/init" ] && [ -f "$root/boot/vmlinuz-vkernel" ] ||
	{ echo "$0: $image is not a vkernel VM image (no /init or /boot/vmlinuz-vkernel)" >&2; exit 1; }
rm -f "$root/.dockerenv"
# the kernel opens /dev/console before /init runs (devtmpfs is mounted by /init only); docker
# export has an empty regular file there (a mount point), where init's output would go
rm -f "$root/dev/console"
mknod -m 600 "$root/dev/console" c 5 1
cp "$root/boot/vmlinuz-vkernel" "$out/bzImage.tmp"
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) >"$out/rootfs.cpio.tmp"
mv "$out/bzImage.tmp" "$out/bzImage"
mv "$out/rootfs.cpio.tmp" "$out/rootfs.cpio"
echo "$out/bzImage $(du -h "$out/rootfs.cpio" | cut -f1) $out/rootfs.cpio"
