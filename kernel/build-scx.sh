#!/bin/bash
# Build the sched_ext guest kernel (issue 16 §2): Linux 6.12 from Debian
# trixie's linux-source-6.12, UNPATCHED, with kernel/config/10-guest.config
# (the guest essentials every vkernel kernel has) + kernel/scx/scx.config
# (BPF, BTF, CONFIG_SCHED_CLASS_EXT).  A separate script from kernel/build.sh
# on purpose: build.sh is a hash input of every 6.1 kernel.
#
#   kernel/build-scx.sh              fetch (once) and build (once per hash)
#   kernel/build-scx.sh --print-out  print the output dir and exit
#   kernel/build-scx.sh --fetch      only fetch the source tarball, print it
#   kernel/build-scx.sh --tree       the extracted source tree (extracted when missing,
#                                    not built): its tools/ (libbpf, bpftool, sched_ext
#                                    headers) serve modules/scx_vkernel for any kernel
#
# Source: the .deb is fetched with `apt-get download` through a private apt
# configuration (lists and archives under the cache) whose only source is
# "trixie main" of the archive this machine's apt sources use for bookworm
# (scripts/debian-mirror.sh; no host is named here).  VKERNEL_SCX_VERSION
# pins a version (default: apt's candidate, i.e. the newest trixie has).
#
# Output: ${VKERNEL_CACHE:-/var/cache/vkernel-runtime}/kernel-scx/<hash>/
# with bzImage, config, System.map, vmlinux.btf (raw BTF: vmlinux.h for BPF programs),
# kernelrelease, build -> the tree (usr/gen_init_cpio for test/vm/run-vm.sh,
# tools/ for libbpf/bpftool), done.  The output directory is the last line on
# stdout; everything else goes to stderr.
#   hash = sha256(source package version, config fragments, this script)
# A private cache reuses $VKERNEL_SEED_CACHE's (/var/cache/vkernel-runtime)
# build of the same hash.
#
# make runs under $VKERNEL_KBUILD_LOCK (default /var/lock/vkernel-kbuild.lock;
# empty: no lock — for a cold build at low priority, see /work/wt/RULES.md),
# in a private mount namespace with the tree at $VKERNEL_KBUILD_PATH
# (/run/vkernel-kbuild/tree) like kernel/build.sh, so a copied tree does not
# rebuild from scratch.  Needs: build-essential flex bison bc libelf-dev
# libssl-dev dwarves (pahole, for BTF).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
repo=$(cd "$here/.." && pwd)
root=${VKERNEL_CACHE:-/var/cache/vkernel-runtime}
cache=$root/kernel-scx
seed_cache=${VKERNEL_SEED_CACHE:-/var/cache/vkernel-runtime}/kernel-scx
kbuild_path=${VKERNEL_KBUILD_PATH:-/run/vkernel-kbuild/tree}
kbuild_lock=${VKERNEL_KBUILD_LOCK-/var/lock/vkernel-kbuild.lock}
jobs=${VKERNEL_JOBS:-2}
pkg=linux-source-6.12
mode=build

case "${1:-}" in
'') ;;
--print-out) mode=print ;;
--fetch) mode=fetch ;;
--tree) mode=tree ;;
*) echo "usage: $0 [--print-out | --fetch | --tree]" >&2; exit 2 ;;
esac

log() { printf '[vkernel-build scx] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

fragments=("$repo/kernel/config/10-guest.config" "$here/scx/scx.config")

# --- the source: a private apt configuration for trixie --------------------
aptdir=$cache/apt
apt_opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
	-o "Dir::Etc::PreferencesParts=$aptdir/preferences.d" -o "Dir::State::Lists=$aptdir/lists"
	-o "Dir::Cache=$aptdir/cache")
apt_setup() {
	local mirror
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources.list.d" "$aptdir/preferences.d"
	mirror=$("$repo/scripts/debian-mirror.sh" bookworm) || die "no Debian source in this machine's apt configuration"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$aptdir/sources.list"
	if [ ! -e "$aptdir/lists/.updated" ] || [ -z "$(apt-cache "${apt_opts[@]}" policy "$pkg" 2>/dev/null)" ]; then
		log "apt-get update (trixie, private lists under $aptdir)"
		apt-get -q "${apt_opts[@]}" update >&2 || die "apt-get update for trixie failed"
		touch "$aptdir/lists/.updated"
	fi
}

# version: pinned, else the newest fetched deb (no network), else apt's candidate
source_version() {
	local v deb
	if [ -n "${VKERNEL_SCX_VERSION:-}" ]; then
		echo "$VKERNEL_SCX_VERSION"
		return
	fi
	deb=$(ls "$cache/dl/${pkg}"_*_all.deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$deb" ]; then
		v=${deb##*/${pkg}_}
		echo "${v%_all.deb}"
		return
	fi
	apt_setup
	v=$(apt-cache "${apt_opts[@]}" policy "$pkg" | sed -n 's/^ *Candidate: *//p' | head -n 1)
	[ -n "$v" ] && [ "$v" != "(none)" ] || die "trixie has no $pkg"
	echo "$v"
}

version=$(source_version)
[[ "$version" =~ ^[0-9A-Za-z.+~-]+$ ]] || die "odd version $version"
deb="$cache/dl/${pkg}_${version}_all.deb"
tarball="$cache/dl/${pkg}_${version}.tar.xz"

fetch() {
	[ -r "$tarball" ] && return 0
	mkdir -p "$cache/dl"
	if [ ! -r "$deb" ]; then
		apt_setup
		log "apt-get download $pkg=$version"
		(cd "$cache/dl" && apt-get -q "${apt_opts[@]}" download "$pkg=$version" >&2) || die "download of $pkg=$version failed"
	fi
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$pkg.tar.xz" >"$tarball.tmp"
	mv "$tarball.tmp" "$tarball"
}

if [ "$mode" = fetch ]; then
	fetch
	echo "$tarball"
	exit 0
fi

hash=$(
	{
		echo "package $pkg $version"
		for f in "${fragments[@]}"; do
			echo "config $(basename "$f")"
			cat "$f"
		done
		echo "build-scx.sh"
		cat "$self"
	} | sha256sum | cut -c1-16
)
out="$cache/$hash"
tree="$cache/tree"

if [ "$mode" = print ]; then
	echo "$out"
	exit 0
fi

extract() {
	log "extracting $tarball"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -C "$tree.tmp" -xf "$tarball"
	mv "$tree.tmp/$pkg" "$tree"
	rmdir "$tree.tmp"
	mkdir -p "$tree/.vk"
	echo "$version" >"$tree/.vk/version"
}
# the tree as a source (a build running in it changes nothing under tools/ that this serves)
if [ "$mode" = tree ]; then
	if [ "$(cat "$tree/.vk/version" 2>/dev/null)" != "$version" ]; then
		fetch
		mkdir -p "$cache"
		exec 9>"$cache/.lock-tree"
		flock 9
		[ "$(cat "$tree/.vk/version" 2>/dev/null)" = "$version" ] || extract
	fi
	echo "$tree"
	exit 0
fi

is_current() { [ -e "$out/done" ] && [ "$(cat "$tree/.vk/stamp" 2>/dev/null)" = "$hash" ]; }
if is_current; then
	log "cached: $out"
	echo "$out"
	exit 0
fi
if [ "$seed_cache" != "$cache" ] && [ -e "$seed_cache/$hash/done" ]; then
	log "cached in $seed_cache: $seed_cache/$hash"
	echo "$seed_cache/$hash"
	exit 0
fi

fetch
mkdir -p "$cache"
exec 9>"$cache/.lock-tree"
log "waiting for the tree's lock" && flock 9
if is_current; then
	log "cached (built concurrently): $out"
	echo "$out"
	exit 0
fi

t0=$(date +%s)
buildlog="$cache/build.log"
: >"$buildlog"
run() {
	if ! "$@" >>"$buildlog" 2>&1; then
		tail -n 40 "$buildlog" >&2
		die "failed: $* (full log: $buildlog)"
	fi
}

# Unpatched: one tree, extracted once per source version (a config change is
# an incremental make in it).
[ "$(cat "$tree/.vk/version" 2>/dev/null)" = "$version" ] || extract
rm -f "$tree/.vk/stamp"

kmake() {
	if [ -n "$kbuild_path" ] && unshare -m --propagation private true 2>/dev/null; then
		mkdir -p "$kbuild_path"
		unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift && exec make -C "$@"' \
			kmake "$tree" "$kbuild_path" "$@"
	else
		make -C "$tree" "$@"
	fi
}

if [ -n "$kbuild_lock" ]; then
	exec 6>"$kbuild_lock"
	log "waiting for $kbuild_lock (one kernel build at a time)"
	flock 6
fi

command -v pahole >/dev/null || die "pahole not found (apt-get install dwarves): needed for CONFIG_DEBUG_INFO_BTF"
log "configuring"
run kmake tinyconfig
run "$tree/scripts/kconfig/merge_config.sh" -m -O "$tree" "$tree/.config" "${fragments[@]}"
run kmake olddefconfig
# every requested option must have survived olddefconfig (CONFIG_VKERNEL is
# the 6.1 series' own option: this tree has none)
missing=()
while read -r opt; do
	[ "${opt%%=*}" = CONFIG_VKERNEL ] && continue
	grep -qx "$opt" "$tree/.config" || missing+=("$opt")
done < <(grep -h '^CONFIG_.*=' "${fragments[@]}")
[ ${#missing[@]} -eq 0 ] || die "options lost by olddefconfig: ${missing[*]}"

log "building bzImage + modules (-j$jobs; log: $buildlog)"
run kmake -j"$jobs" bzImage modules

mkdir -p "$out"
cp "$tree/arch/x86/boot/bzImage" "$out/bzImage"
cp "$tree/.config" "$out/config"
cp "$tree/System.map" "$out/System.map"
# the kernel's BTF, raw, as the guest's /sys/kernel/btf/vmlinux has it (for vmlinux.h)
objcopy -O binary --only-section=.BTF "$tree/vmlinux" "$out/vmlinux.btf"
ln -sfn "$tree" "$out/build"
kmake -s kernelrelease >"$out/kernelrelease" 2>/dev/null
[ -z "$kbuild_lock" ] || exec 6>&-
echo "$hash" >"$tree/.vk/stamp"
echo "$(($(date +%s) - t0))" >"$out/build-seconds"
touch "$out/done"
log "built in $(cat "$out/build-seconds")s: $out"
echo "$out"
