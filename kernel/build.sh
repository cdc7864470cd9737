#!/bin/bash
# Build the vkernel guest kernel (Linux 6.1.192 from Debian's linux-source-6.1)
# with the patch series in kernel/series and the config fragments in
# kernel/config/*.config.
#
#   kernel/build.sh              patched kernel
#   kernel/build.sh --unpatched  same config, no patches (comparison tests)
#   kernel/build.sh --prefix K   only the first K patches of the series (to
#                                check that every patch builds on its own;
#                                own tree, tree-prefix)
#   kernel/build.sh --config V   add kernel/config/variants/V.config last
#                                (e.g. vkernel-off: the series with
#                                CONFIG_VKERNEL=n); own tree, tree-V
#   kernel/build.sh --print-out  print the output dir of these options and
#                                exit (nothing built; kernel/matrix.sh looks
#                                for <out>/done)
#
# Output: ${VKERNEL_CACHE:-/var/cache/vkernel-runtime}/kernel/<hash>/ with
# bzImage, config, System.map, Module.symvers and build -> the source tree
# (ready for `make -C <out>/build M=<dir> modules`).  The output directory is
# the last line printed on stdout; everything else goes to stderr.
#
# hash = sha256(variant, tarball version, series + patches (patched only),
#               config fragments, this script)
#
# The extracted tree of each variant is kept in the cache (tree-<variant>) and
# moved between hashes by reverse-applying the patches it carries and applying
# the new series, so a changed patch costs an incremental make, not a full one.
#
# Path-stable: make runs in a private mount namespace that shows the tree at
# one fixed path ($VKERNEL_KBUILD_PATH, /run/vkernel-kbuild/tree), because the
# tools build (objtool) records absolute paths and a tree seen at another path
# rebuilds objtool and then every object.  So a tree copied to another variant
# or to another cache ($VKERNEL_CACHE; the first build there seeds from
# $VKERNEL_SEED_CACHE, default /var/cache/vkernel-runtime) rebuilds only what
# its patches and config change.  Without the privilege for a mount namespace
# (e.g. inside `docker build`) make runs at the tree's own path.
#
# One kernel build at a time on the machine: make runs under the lock
# $VKERNEL_KBUILD_LOCK (/var/lock/vkernel-kbuild.lock; empty: no lock), unless
# the caller already holds it (an inherited descriptor on that file, as
# `flock /var/lock/vkernel-kbuild.lock kernel/build.sh` leaves).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
tarball=${VKERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
cache=${VKERNEL_CACHE:-/var/cache/vkernel-runtime}/kernel
seed_cache=${VKERNEL_SEED_CACHE:-/var/cache/vkernel-runtime}/kernel
kbuild_path=${VKERNEL_KBUILD_PATH:-/run/vkernel-kbuild/tree}
kbuild_lock=${VKERNEL_KBUILD_LOCK-/var/lock/vkernel-kbuild.lock}
jobs=${VKERNEL_JOBS:-2}
variant=patched
limit=
config=
print_out=

usage() {
	echo "usage: $0 [--unpatched | --prefix K] [--config VARIANT] [--print-out]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--unpatched) variant=unpatched ;;
	--prefix)
		[ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] || usage
		limit=$2
		shift
		;;
	--config)
		[ $# -ge 2 ] && [[ "$2" =~ ^[a-z0-9-]+$ ]] || usage
		config=$2
		shift
		;;
	--print-out) print_out=1 ;;
	*) usage ;;
	esac
	shift
done
[ -z "$limit" ] || [ "$variant" = patched ] || usage

log() { printf '[vkernel-build %s%s%s] %s\n' "$variant" "${limit:+ 1..$limit}" "${config:+ $config}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -r "$tarball" ] || die "$tarball not found (apt-get install linux-source-6.1)"

# The patch files of the series, in order (comments and blank lines skipped).
patches=()
if [ "$variant" = patched ]; then
	[ -r "$here/series" ] || die "$here/series missing"
	while read -r line; do
		line=${line%%#*}
		line=$(echo "$line" | tr -d '[:space:]')
		[ -n "$line" ] || continue
		[ -r "$here/patches/$line" ] || die "series names missing patch $line"
		patches+=("$here/patches/$line")
	done <"$here/series"
	if [ -n "$limit" ]; then
		[ "$limit" -le "${#patches[@]}" ] || die "--prefix $limit: the series has ${#patches[@]} patches"
		patches=("${patches[@]:0:$limit}")
	fi
fi
fragments=("$here"/config/*.config)
if [ -n "$config" ]; then
	[ -r "$here/config/variants/$config.config" ] || die "no config variant $config (kernel/config/variants/)"
	fragments+=("$here/config/variants/$config.config")
fi

tarball_version() {
	local v
	v=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
	if [ -n "$v" ]; then
		echo "linux-source-6.1 $v $(stat -c %s "$tarball")"
	else
		sha256sum <"$tarball" | cut -d' ' -f1
	fi
}

version=$(tarball_version)
hash=$(
	{
		echo "variant $variant${limit:+ prefix $limit}${config:+ config $config}"
		echo "tarball $version"
		for p in "${patches[@]}"; do
			echo "patch $(basename "$p")"
			cat "$p"
		done
		for f in "${fragments[@]}"; do
			echo "config $(basename "$f")"
			cat "$f"
		done
		echo "build.sh"
		cat "$self"
	} | sha256sum | cut -c1-16
)
out="$cache/$hash"
tree="$cache/tree-${limit:+prefix}"
[ -n "$limit" ] || tree="$cache/tree-$variant"
[ -z "$config" ] || tree="$cache/tree-${limit:+prefix-}$config"

if [ -n "$print_out" ]; then
	echo "$out"
	exit 0
fi

is_current() {
	[ -e "$out/done" ] && [ -e "$tree/.vk/stamp" ] &&
		[ "$(cat "$tree/.vk/stamp")" = "$hash" ]
}

if is_current; then
	log "cached: $out"
	echo "$out"
	exit 0
fi
# The same hash is the same kernel: a private cache uses the seed cache's
# build of it (e.g. the unpatched kernel) instead of building it again.
if [ "$seed_cache" != "$cache" ] && [ -e "$seed_cache/$hash/done" ]; then
	log "cached in $seed_cache: $seed_cache/$hash"
	echo "$seed_cache/$hash"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock-${tree##*/tree-}"
log "waiting for lock" && flock 9
if is_current; then
	log "cached (built concurrently): $out"
	echo "$out"
	exit 0
fi

t0=$(date +%s)
buildlog="$cache/build-${tree##*/}.log"
: >"$buildlog"

run() {
	if ! "$@" >>"$buildlog" 2>&1; then
		tail -n 40 "$buildlog" >&2
		die "failed: $* (full log: $buildlog)"
	fi
}

extract() {
	log "extracting $tarball"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -C "$tree.tmp" -xf "$tarball"
	mv "$tree.tmp/linux-source-6.1" "$tree"
	rmdir "$tree.tmp"
	mkdir -p "$tree/.vk/applied"
	echo "$version" >"$tree/.vk/version"
}

# Bring the tree to "pristine + current series": keep the longest prefix of
# applied patches that equals the start of the series, reverse-apply the rest
# (last first), then apply the remainder of the series.  A patch that fails to
# revert means the tree is not what we think: extract again.
keep=0
sync_patches() {
	local applied=() i
	rm -f "$tree/.vk/stamp"
	mapfile -t applied < <(find "$tree/.vk/applied" -name '*.patch' | sort)
	keep=0
	while [ "$keep" -lt "${#applied[@]}" ] && [ "$keep" -lt "${#patches[@]}" ] &&
		cmp -s "${applied[$keep]}" "${patches[$keep]}"; do
		keep=$((keep + 1))
	done
	for ((i = ${#applied[@]} - 1; i >= keep; i--)); do
		log "reverting $(basename "${applied[$i]}")"
		if ! patch -d "$tree" -p1 -R -E -s <"${applied[$i]}" >>"$buildlog" 2>&1; then
			log "revert failed; re-extracting"
			extract
			keep=0
			return 0
		fi
		rm -f "${applied[$i]}"
	done
}

apply_series() {
	local i p
	for ((i = keep; i < ${#patches[@]}; i++)); do
		p=${patches[$i]}
		log "applying $(basename "$p")"
		if ! patch -d "$tree" -p1 -s --forward <"$p" >>"$buildlog" 2>&1; then
			tail -n 20 "$buildlog" >&2
			rm -rf "$tree"
			die "patch $(basename "$p") does not apply"
		fi
		cp "$p" "$tree/.vk/applied/$(printf '%04d' $((i + 1))).patch"
	done
}

# Files a re-sync rewrites (reverted, then applied again) keep their mtime
# when their content ends up unchanged, so that changing one patch in the
# middle of the series only rebuilds what that patch changes (patch(1)
# rewrites every file it touches, and make goes by mtime).
touched_files() {
	sed -n -e 's#^+++ b/\([^\t]*\).*#\1#p' -e 's#^--- a/\([^\t]*\).*#\1#p' "$@" | sort -u
}
save_mtimes() {
	local f
	: >"$tree/.vk/mtimes"
	while read -r f; do
		[ -f "$tree/$f" ] || continue
		printf '%s %s %s\n' "$(sha256sum <"$tree/$f" | cut -c1-64)" \
			"$(stat -c %.9Y "$tree/$f")" "$f" >>"$tree/.vk/mtimes"
	done < <(touched_files "$tree"/.vk/applied/*.patch "${patches[@]}" /dev/null)
}
restore_mtimes() {
	local sum mtime f n=0
	while read -r sum mtime f; do
		[ -f "$tree/$f" ] && [ "$(sha256sum <"$tree/$f" | cut -c1-64)" = "$sum" ] || continue
		touch -d "@$mtime" "$tree/$f"
		n=$((n + 1))
	done <"$tree/.vk/mtimes"
	log "kept the mtime of $n unchanged file(s)"
}

# A variant's first build starts from a copy of another built tree of the
# same source (tree-patched, else tree-unpatched), under that tree's lock:
# make then only rebuilds what the patches and the config change, instead
# of everything.
seed_tree() {
	local src dir
	for src in "$cache/tree-patched" "$cache/tree-unpatched" \
		"$seed_cache/tree-${tree##*/tree-}" "$seed_cache/tree-patched" "$seed_cache/tree-unpatched"; do
		[ "$src" != "$tree" ] && [ -e "$src/.vk/stamp" ] &&
			[ "$(cat "$src/.vk/version" 2>/dev/null)" = "$version" ] || continue
		dir=${src%/*}
		log "seeding from $src"
		(
			exec 8>"$dir/.lock-${src##*/tree-}"
			flock 8
			rm -rf "$tree.tmp"
			cp -a "$src" "$tree.tmp"
		) || return 1
		rm -f "$tree.tmp/.vk/stamp"
		rm -rf "$tree"
		mv "$tree.tmp" "$tree"
		return 0
	done
	return 1
}

[ -d "$tree/.vk" ] || seed_tree || true
if [ ! -d "$tree/.vk" ] || [ "$(cat "$tree/.vk/version" 2>/dev/null)" != "$version" ]; then
	extract
	apply_series
else
	save_mtimes
	sync_patches
	apply_series
	# (no list left if a failed revert made sync_patches extract again)
	if [ -e "$tree/.vk/mtimes" ]; then
		restore_mtimes
		rm -f "$tree/.vk/mtimes"
	fi
fi

# make in the tree, seen at $kbuild_path (see the top of this file)
kmake() {
	if [ -n "$kbuild_path" ] && unshare -m --propagation private true 2>/dev/null; then
		mkdir -p "$kbuild_path"
		unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift && exec make -C "$@"' \
			kmake "$tree" "$kbuild_path" "$@"
	else
		make -C "$tree" "$@"
	fi
}

holds_lock() {
	local fd
	for fd in /proc/$$/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "$kbuild_lock" ] && return 0
	done
	return 1
}
if [ -n "$kbuild_lock" ] && ! holds_lock; then
	exec 6>"$kbuild_lock"
	log "waiting for $kbuild_lock (one kernel build at a time)"
	flock 6
fi

log "configuring"
run kmake tinyconfig
run "$tree/scripts/kconfig/merge_config.sh" -m -O "$tree" "$tree/.config" "${fragments[@]}"
run kmake olddefconfig
# Every requested option must have survived olddefconfig (typos, missing
# dependencies).  CONFIG_VKERNEL only exists once the series is applied.  A
# variant's options override the base fragments' ("# CONFIG_X is not set"
# there means: no CONFIG_X= line in the result).
base=("${fragments[@]}")
overridden=" "
if [ -n "$config" ]; then
	unset 'base[-1]'
	overridden+=$(grep -ohE '^(# )?CONFIG_[A-Za-z0-9_]+' "${fragments[-1]}" | sed 's/^# //' | tr '\n' ' ')
fi
missing=()
while read -r opt; do
	name=${opt%%=*}
	[ "$variant" = unpatched ] && [ "$name" = CONFIG_VKERNEL ] && continue
	[[ "$overridden" == *" $name "* ]] && continue
	grep -qx "$opt" "$tree/.config" || missing+=("$opt")
done < <(grep -h '^CONFIG_.*=' "${base[@]}")
if [ -n "$config" ]; then
	while read -r opt; do
		grep -qx "$opt" "$tree/.config" || missing+=("$opt")
	done < <(grep -h '^CONFIG_.*=' "${fragments[-1]}" || true)
	while read -r name; do
		! grep -q "^$name=" "$tree/.config" || missing+=("$name=n")
	done < <(sed -n 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1/p' "${fragments[-1]}")
fi
[ ${#missing[@]} -eq 0 ] || die "options lost by olddefconfig: ${missing[*]}"

log "building bzImage + modules (-j$jobs; log: $buildlog)"
run kmake -j"$jobs" bzImage modules
run kmake -j"$jobs" modules_prepare

mkdir -p "$out"
cp "$tree/arch/x86/boot/bzImage" "$out/bzImage"
cp "$tree/.config" "$out/config"
cp "$tree/System.map" "$out/System.map"
cp "$tree/Module.symvers" "$out/Module.symvers"
ln -sfn "$tree" "$out/build"
kmake -s kernelrelease >"$out/kernelrelease" 2>/dev/null
exec 6>&-
echo "$hash" >"$tree/.vk/stamp"
echo "$(($(date +%s) - t0))" >"$out/build-seconds"
touch "$out/done"
log "built in $(cat "$out/build-seconds")s: $out"
echo "$out"
