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
#   hash = sha256(source package version, pahole version + its libraries' versions,
#                 config fragments, this script)
# A private cache reuses $VKERNEL_SEED_CACHE's (/var/cache/vkernel-runtime)
# build of the same hash.
#
# make runs under $VKERNEL_KBUILD_LOCK (default /var/lock/vkernel-kbuild.lock;
# empty: no lock — for a cold build at low priority, see /work/wt/RULES.md),
# in a private mount namespace with the tree at $VKERNEL_KBUILD_PATH
# (/run/vkernel-kbuild/tree) like kernel/build.sh, so a copied tree does not
# rebuild from scratch.  Needs: build-essential flex bison bc libelf-dev
# libssl-dev (pahole comes from trixie, see pahole_setup).
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

# --- pahole >= 1.25 -------------------------------------------------------
# sched_ext asks for pahole >= 1.25 (tools/sched_ext/README.md: the BTF of
# its kfuncs); bookworm's dwarves has 1.24.  Trixie's pahole binary needs
# trixie's libc (>= 2.38) and
# libbpf (>= 1.5), so it is not installed on the host: the debs below are
# fetched with the same private apt configuration, unpacked (dpkg-deb -x)
# into $cache/pahole-<version>/root, and bin/pahole runs it with trixie's own
# dynamic loader and --library-path — nothing on the host changes.  (Trixie's
# dwarves source package would be the other way; this machine's mirror serves
# binaries only.)  Unpacked once per pahole version; the versions of all the
# debs are in the kernel's build hash.  VKERNEL_SCX_PAHOLE: use that pahole
# instead (it must report >= v1.25).
pahole_pkgs=(pahole libbpf1 libc6 libdw1t64 libelf1t64 zlib1g libzstd1 liblzma5 libbz2-1.0 libgcc-s1)
pahole_dir=""
pahole_setup() {
	local v debs=() p d
	if [ -n "${VKERNEL_SCX_PAHOLE:-}" ]; then
		pahole_bin=$VKERNEL_SCX_PAHOLE
		pahole_id="pahole $("$pahole_bin" --version 2>/dev/null) (VKERNEL_SCX_PAHOLE)"
		return
	fi
	v=$(ls -d "$cache"/pahole-*/done 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "${VKERNEL_SCX_PAHOLE_VERSION:-}" ]; then
		v=$VKERNEL_SCX_PAHOLE_VERSION
	elif [ -n "$v" ]; then
		v=${v%/done}
		v=${v##*/pahole-}
	else
		apt_setup
		v=$(apt-cache "${apt_opts[@]}" policy pahole | sed -n 's/^ *Candidate: *//p' | head -n 1)
		[ -n "$v" ] && [ "$v" != "(none)" ] || die "trixie has no pahole"
	fi
	[[ "$v" =~ ^[0-9A-Za-z.+~:-]+$ ]] || die "odd pahole version $v"
	pahole_dir=$cache/pahole-$v
	pahole_bin=$pahole_dir/bin/pahole
	if [ ! -e "$pahole_dir/done" ]; then
		mkdir -p "$cache"
		exec 8>"$cache/.lock-pahole"
		flock 8
		if [ ! -e "$pahole_dir/done" ]; then
			log "fetching pahole $v and its libraries from trixie into $pahole_dir"
			apt_setup
			rm -rf "$pahole_dir"
			mkdir -p "$pahole_dir/dl" "$pahole_dir/root" "$pahole_dir/bin"
			for p in "${pahole_pkgs[@]}"; do
				[ "$p" = pahole ] && debs+=("pahole=$v") || debs+=("$p")
			done
			(cd "$pahole_dir/dl" && apt-get -q "${apt_opts[@]}" download "${debs[@]}" >&2) ||
				die "download of ${debs[*]} failed"
			for d in "$pahole_dir"/dl/*.deb; do
				dpkg-deb -x "$d" "$pahole_dir/root"
				dpkg-deb -f "$d" Package Version | paste -sd' ' >>"$pahole_dir/versions"
			done
			cat >"$pahole_dir/bin/pahole" <<-'EOS'
				#!/bin/sh
				# trixie's pahole with trixie's loader and libraries (kernel/build-scx.sh)
				r=$(cd "$(dirname "$0")/../root" && pwd)
				l=$r/usr/lib/x86_64-linux-gnu
				exec "$l/ld-linux-x86-64.so.2" --library-path "$l" "$r/usr/bin/pahole" "$@"
			EOS
			chmod +x "$pahole_dir/bin/pahole"
			# every library must come from root/, none from the host
			"$pahole_dir/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
				--library-path "$pahole_dir/root/usr/lib/x86_64-linux-gnu" \
				--list "$pahole_dir/root/usr/bin/pahole" >"$pahole_dir/libs" ||
				die "trixie's pahole does not load: $(cat "$pahole_dir/libs")"
			if grep '=>' "$pahole_dir/libs" | grep -v "=> $pahole_dir/root/" >&2; then
				die "trixie's pahole loads host libraries (above): add their packages to pahole_pkgs"
			fi
			rm -rf "$pahole_dir/dl"
			touch "$pahole_dir/done"
		fi
		exec 8>&-
	fi
	pahole_id="pahole $("$pahole_bin" --version) $(sort "$pahole_dir/versions" | paste -sd' ')"
}
pahole_setup
pv=$("$pahole_bin" --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
[ -n "$pv" ] && [ $((${pv% *} * 100 + ${pv#* })) -ge 125 ] || die "$pahole_bin is not pahole >= v1.25 ($("$pahole_bin" --version 2>&1 || true))"

hash=$(
	{
		echo "package $pkg $version"
		echo "$pahole_id"
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
			kmake "$tree" "$kbuild_path" PAHOLE="$pahole_bin" "$@"
	else
		make -C "$tree" PAHOLE="$pahole_bin" "$@"
	fi
}

if [ -n "$kbuild_lock" ]; then
	exec 6>"$kbuild_lock"
	log "waiting for $kbuild_lock (one kernel build at a time)"
	flock 6
fi

log "configuring"
run kmake tinyconfig
run "$tree/scripts/kconfig/merge_config.sh" -m -O "$tree" "$tree/.config" "${fragments[@]}"
run kmake olddefconfig
# every requested option must have survived olddefconfig (CONFIG_VKERNEL is
# the 6.1 series' own option: this tree has none; CONFIG_BASE_FULL is 6.1's
# spelling of BASE_SMALL off)
missing=()
while read -r opt; do
	case "${opt%%=*}" in
	CONFIG_VKERNEL) continue ;;
	# 6.9 removed BASE_FULL: what it asked for is BASE_SMALL off (init/Kconfig)
	CONFIG_BASE_FULL)
		grep -qx 'CONFIG_BASE_SMALL=y' "$tree/.config" && missing+=("$opt (CONFIG_BASE_SMALL=y)")
		continue
		;;
	esac
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
