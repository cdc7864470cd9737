#!/bin/bash
# Debian's own stock kernel for the VM tier (issue 16: the rt backend on cgroup v2 without RT
# group scheduling is proven on a kernel we did not build or patch).
#
#   test/vm/stock-kernel.sh [PACKAGE]     default: what linux-image-amd64 depends on
#   STOCK_SUITE=forky test/vm/stock-kernel.sh   the kernel of another Debian suite
#   STOCK_BTF=1 ...                       also vmlinux.btf (the kernel's raw BTF, for BPF programs)
#
# Fetches the linux-image .deb with `apt-get download` from this machine's own apt sources (your
# Debian mirror; nothing else is contacted), unpacks it and lays out a directory that
# test/vm/run-vm.sh boots like kernel/build.sh's output:
#   ${VKERNEL_CACHE:-/var/cache/vkernel-runtime}/stock/<package>_<version>/
#     bzImage (Debian's vmlinuz), config (Debian's /boot/config-*), kernelrelease,
#     build/usr/gen_init_cpio (the initramfs tool, copied from a cached kernel tree or built from
#     the kernel source's usr/gen_init_cpio.c), done
#     [vmlinux.btf: the .BTF section of the vmlinux in vmlinuz (scripts/extract-vmlinux)]
# With STOCK_SUITE, apt runs with a private configuration under the cache whose only source is
# that suite of the archive this machine's apt sources use for bookworm (scripts/debian-mirror.sh);
# newer suites split the image package (linux-image-<rel> depends on linux-binary-<rel> with the
# vmlinuz and linux-base-<rel> with the config): those are fetched too.
# Cached by package and version: a second call downloads nothing. The directory is the last line
# printed on stdout.
set -euo pipefail

cache=${VKERNEL_CACHE:-/var/cache/vkernel-runtime}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '[stock-kernel] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
suite=${STOCK_SUITE:-}
btf=${STOCK_BTF:-}
apt_opts=()
if [ -n "$suite" ]; then
	[[ "$suite" =~ ^[a-z]+(-[a-z]+)?$ ]] || die "not a suite name: $suite"
	aptdir="$cache/stock/apt-$suite"
	apt_opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
		-o "Dir::Etc::PreferencesParts=$aptdir/preferences.d" -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache")
	if [ ! -e "$aptdir/lists/.updated" ]; then
		mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources.list.d" "$aptdir/preferences.d"
		mirror=$("$here/../../scripts/debian-mirror.sh" bookworm) || die "no Debian source in this machine's apt configuration"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$aptdir/sources.list"
		log "apt-get update ($suite, private lists under $aptdir)"
		apt-get -q "${apt_opts[@]}" update >&2 || die "apt-get update for $suite failed"
		touch "$aptdir/lists/.updated"
	fi
fi

pkg=${1:-}
if [ -z "$pkg" ]; then
	pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
	[ -n "$pkg" ] || die "apt-cache knows no linux-image-amd64 (apt-get update first)"
fi
[[ "$pkg" =~ ^linux-image-[A-Za-z0-9.+-]+$ ]] || die "not a kernel image package: $pkg"
ver=$(apt-cache "${apt_opts[@]}" policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "apt-cache has no candidate for $pkg"
out="$cache/stock/${pkg}_${ver}"
ready() { [ -e "$out/done" ] && { [ -z "$btf" ] || [ -e "$out/vmlinux.btf" ]; }; }
if ready; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache/stock/dl"
exec 9>"$cache/stock/.lock"
flock 9
# fetch PACKAGE VERSION: the .deb's path (downloaded once into the cache)
fetch() {
	local d
	d=$(ls "$cache/stock/dl/${1}_${2//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$d" ]; then
		log "apt-get download $1=$2"
		(cd "$cache/stock/dl" && apt-get -q "${apt_opts[@]}" download "$1=$2" >&2)
		d=$(ls "$cache/stock/dl/${1}_${2//:/%3a}_"*.deb | head -n 1)
	fi
	echo "$d"
}
if [ ! -e "$out/done" ]; then
	deb=$(fetch "$pkg" "$ver")
	tmp=$(mktemp -d "$cache/stock/.x.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	dpkg-deb -x "$deb" "$tmp/x"
	# newer suites: the vmlinuz and the config are in linux-binary-<rel> and linux-base-<rel>
	if ! ls "$tmp"/x/boot/vmlinuz-* "$tmp"/x/usr/lib/modules/*/vmlinuz >/dev/null 2>&1; then
		for dep in $(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' | sed -n 's/^ *\(linux-\(binary\|base\)-[A-Za-z0-9.+-]*\) .*/\1/p'); do
			dpkg-deb -x "$(fetch "$dep" "$ver")" "$tmp/x"
		done
	fi
	if ls "$tmp"/x/boot/vmlinuz-* >/dev/null 2>&1; then
		vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-* | head -n 1)
		rel=${vmlinuz##*/vmlinuz-}
		config="$tmp/x/boot/config-$rel"
	else
		vmlinuz=$(ls "$tmp"/x/usr/lib/modules/*/vmlinuz 2>/dev/null | head -n 1 || true)
		[ -n "$vmlinuz" ] || die "$deb (and its linux-binary/linux-base) has no vmlinuz"
		rel=$(basename "$(dirname "$vmlinuz")")
		config="$tmp/x/usr/lib/modules/$rel/config"
	fi
	[ -r "$config" ] || die "no config for $rel in $deb"
	mkdir -p "$tmp/out/build/usr"
	cp "$vmlinuz" "$tmp/out/bzImage"
	cp "$config" "$tmp/out/config"
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
if [ -n "$btf" ] && [ ! -e "$out/vmlinux.btf" ]; then
	grep -qx 'CONFIG_DEBUG_INFO_BTF=y' "$out/config" || die "$pkg has no BTF (CONFIG_DEBUG_INFO_BTF)"
	# scripts/extract-vmlinux: from a kernel tree the cache already has, else from the source tarball
	xv=$(ls "$cache"/kernel/tree-*/scripts/extract-vmlinux "$cache"/kernel-scx/tree/scripts/extract-vmlinux 2>/dev/null | head -n 1 || true)
	bt=$(mktemp -d "$cache/stock/.b.XXXXXX")
	if [ -z "$xv" ]; then
		tarball=${VKERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
		[ -r "$tarball" ] || die "no cached kernel tree and no $tarball for scripts/extract-vmlinux"
		tar -xJf "$tarball" -C "$bt" --wildcards '*/scripts/extract-vmlinux'
		xv=$(ls "$bt"/*/scripts/extract-vmlinux)
	fi
	sh "$xv" "$out/bzImage" >"$bt/vmlinux" || { rm -rf "$bt"; die "extract-vmlinux failed on $out/bzImage"; }
	objcopy -O binary --only-section=.BTF "$bt/vmlinux" "$bt/vmlinux.btf"
	[ -s "$bt/vmlinux.btf" ] || { rm -rf "$bt"; die "no .BTF section in the vmlinux of $pkg"; }
	mv "$bt/vmlinux.btf" "$out/vmlinux.btf"
	rm -rf "$bt"
	log "vmlinux.btf of $rel in $out"
fi
echo "$out"
