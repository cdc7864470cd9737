#!/bin/sh
# scripts/vm-kernel-out.sh KERNEL_OUT DEST: what Dockerfile.vm's image takes from a kernel build
# (an output directory of kernel/build.sh), laid out as it goes onto the image's /:
#   DEST/boot/vmlinuz-vkernel, DEST/boot/config-vkernel
#   DEST/usr/lib/modules/<release>/build/{Makefile,Module.symvers,include/...}: what the runtime's
#     module loader reads to know the kernel (usr/lib, not lib: a symlink to usr/lib in Debian 12)
#   DEST/var/cache/vkernel-runtime/modules/...: the per-container module, built by the runtime's
#     own builder (the runtime beside this script) against KERNEL_OUT/build, so the image never
#     runs make
# Used by Dockerfile.vm's kernel stage, and on the host by scripts/vm-kernel-prebuilt.sh.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 KERNEL_OUT DEST" >&2; exit 2; }
out=$1
# absolute: the module is built with make M=<under dest>, which a relative path breaks
mkdir -p "$2"
dest=$(cd "$2" && pwd)
runtime="$(cd "$(dirname "$0")/.." && pwd)/bin/vkernel-runtime"
tree="$out/build"
rel="$(cat "$tree/include/config/kernel.release")"
mods="$dest/usr/lib/modules/$rel/build"
mkdir -p "$dest/boot" "$mods/include/generated" "$mods/include/config"
cp "$out/bzImage" "$dest/boot/vmlinuz-vkernel"
cp "$out/config" "$dest/boot/config-vkernel"
for f in Makefile Module.symvers include/generated/utsrelease.h include/config/kernel.release \
	include/generated/autoconf.h; do
	cp "$tree/$f" "$mods/$f"
done
ko="$("$runtime" module build --quiet --kdir "$tree" --cache "$dest/var/cache/vkernel-runtime/modules")"
rm -rf "$(dirname "$ko")/src"
ls -l "$dest/boot" "$ko" >&2
