#!/bin/bash
# Debian's own stock kernel for the VM tier (issue 16: the rt backend on cgroup v2 without RT
# group scheduling is proven on a kernel we did not build or patch).
#
#   test/vm/stock-kernel.sh [PACKAGE]     default: what linux-image-amd64 depends on
#
# Fetches the linux-image .deb with `apt-get download` from this machine's own apt sources (your
# Debian mirror; nothing else is contacted), unpacks it and lays out a directory that
# test/vm/run-vm.sh boots like kernel/build.sh's output:
#   ${VKERNEL_CACHE:-/var/cache/vkernel-runtime}/stock/<package>_<version>/
#     bzImage (Debian's vmlinuz), config (Debian's /boot/config-*), kernelrelease,
#     build/usr/gen_init_cpio (the initramfs tool, copied from a cached kernel tree or built from
#     the kernel source's usr/gen_init_cpio.c), done
# Cached by package and version: a second call downloads nothing. The directory is the last line
# printed on stdout.
set -euo pipefail

cache=${VKERNEL_CACHE:-/var/cache/vkernel-runtime}
log() { printf '[stock-kernel] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

pkg=${1:-}
if [ -z "$pkg" ]; then
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
	[ -n "$pkg" ] || die "apt-cache knows no linux-image-amd64 (apt-get update first)"
fi
[[ "$pkg" =~ ^linux-image-[A-Za-z0-9.+-]+$ ]] || die "not a kernel image package: $pkg"
ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "apt-cache has no candidate for $pkg"
out="$cache/stock/${pkg}_${ver}"
if [ -e "$out/done" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache/stock/dl"
exec 9>"$cache/stock/.lock"
flock 9
if [ ! -e "$out/done" ]; then
	deb=$(ls "$cache/stock/dl/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		log "apt-get download $pkg=$ver"
		(cd "$cache/stock/dl" && apt-get -q download "$pkg=$ver" >&2)
		deb=$(ls "$cache/stock/dl/${pkg}_${ver//:/%3a}_"*.deb | head -n 1)
	fi
	tmp=$(mktemp -d "$cache/stock/.x.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	dpkg-deb -x "$deb" "$tmp/x"
	vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-* | head -n 1)
	[ -r "$vmlinuz" ] || die "$deb has no /boot/vmlinuz-*"
	rel=${vmlinuz##*/vmlinuz-}
	mkdir -p "$tmp/out/build/usr"
	cp "$vmlinuz" "$tmp/out/bzImage"
	cp "$tmp/x/boot/config-$rel" "$tmp/out/config"
	echo "$rel" >"$tmp/out/kernelrelease"
	# gen_init_cpio: from a kernel tree the cache already has, else built from the source tarball
	gic=$(ls "$cache"/kernel/tree-*/usr/gen_init_cpio 2>/dev/null | head -n 1 || true)
	if [ -n "$gic" ]; then
		cp "$gic" "$tmp/out/build/usr/gen_init_cpio"
	else
		tarball=${VKERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
		[ -r "$tarball" ] || die "no cached kernel tree and no $tarball for usr/gen_init_cpio.c"
		tar -xJf "$tarball" -C "$tmp" --wildcards '*/usr/gen_init_cpio.c'
		gcc -O2 -o "$tmp/out/build/usr/gen_init_cpio" "$tmp"/*/usr/gen_init_cpio.c
	fi
	echo "$pkg $ver" >"$tmp/out/done"
	rm -rf "$out"
	mv "$tmp/out" "$out"
	log "$pkg $ver ($rel) in $out"
fi
echo "$out"
