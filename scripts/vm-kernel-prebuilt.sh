#!/bin/sh
# scripts/vm-kernel-prebuilt.sh: hand Dockerfile.vm the kernel this host already built, so that
# `docker build -f Dockerfile.vm` does not build it again (10-20 min). Builds the patched kernel
# with kernel/build.sh if it is not cached, then writes .vm-kernel/out (scripts/vm-kernel-out.sh),
# .vm-kernel/key (the build's cache key) and .vm-kernel/from (the build's directory: under
# $VKERNEL_CACHE, or the seed cache's when kernel/build.sh took it from there). The image's kernel
# stage takes it only when that key is the one kernel/build.sh computes inside the image from the
# same kernel/ and Debian's linux-source-6.1 package (same version); otherwise it builds its own.
# Remove with `rm -rf .vm-kernel/out .vm-kernel/key .vm-kernel/from`.
set -eu
cd "$(dirname "$0")/.."
out="$(kernel/build.sh | tail -n 1)"
key="${out##*/}"
rm -rf .vm-kernel/out .vm-kernel/out.tmp .vm-kernel/key .vm-kernel/from
scripts/vm-kernel-out.sh "$out" .vm-kernel/out.tmp
# the tree may have moved to another series meanwhile (another build on this host): the module
# would then belong to another kernel
[ "$(cat "$out/build/.vk/stamp" 2>/dev/null)" = "$key" ] ||
	{ echo "vm-kernel-prebuilt: the kernel tree moved away from $key while staging; run again" >&2; exit 1; }
mv .vm-kernel/out.tmp .vm-kernel/out
echo "$key" >.vm-kernel/key
echo "$out" >.vm-kernel/from
echo "vm-kernel-prebuilt: .vm-kernel/ holds kernel $key" >&2
