#!/bin/bash
# Build scx_vkernel (the sched_ext scheduler of the scx backend + its loader)
# against a sched_ext kernel built by kernel/build-scx.sh.
#
#   modules/scx_vkernel/build.sh KERNEL_OUT [SOURCE_TREE]   -> prints the output dir (last line)
#
# KERNEL_OUT: a kernel output dir with vmlinux.btf (kernel/build-scx.sh's, or a Debian stock
# kernel's from test/vm/stock-kernel.sh); SOURCE_TREE: where tools/lib/bpf, tools/bpf/bpftool and
# tools/sched_ext come from (default KERNEL_OUT/build: the 6.12 tree kernel/build-scx.sh built).
#
# Toolchain: libbpf and bpftool are built from the kernel's own tree
# (tools/lib/bpf, tools/bpf/bpftool of Linux 6.12), not Debian 12's libbpf 1.1:
# the sched_ext headers (tools/sched_ext/include) and the skeleton come from
# the same release as the kernel.  The BPF object is compiled with clang-16
# (Debian 12; tools/sched_ext/README.md asks for clang >= 16) against
# vmlinux.h dumped from the kernel's BTF; the loader is linked statically
# (libbpf.a, libelf.a, libz.a), so it runs in the test guests' initramfs.
#
# Output: ${VKERNEL_CACHE:-/var/cache/vkernel-runtime}/scx/<hash>/scx_vkernel
#   hash = sha256(the kernel's output dir name (its own hash), this directory's
#                 sources and this script, the clang version)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kout=${1:?usage: $0 KERNEL_OUT}
kout=$(cd "$kout" && pwd)
cache=${VKERNEL_CACHE:-/var/cache/vkernel-runtime}/scx
clang=${SCX_CLANG:-clang-16}
jobs=${VKERNEL_JOBS:-2}
log() { printf '[scx_vkernel build] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -e "$kout/done" ] && [ -r "$kout/vmlinux.btf" ] || die "$kout has no vmlinux.btf (kernel/build-scx.sh, test/vm/stock-kernel.sh)"
tree=$(readlink -f "${2:-$kout/build}")
[ -d "$tree/tools/sched_ext/include/scx" ] || die "$tree has no tools/sched_ext"
command -v "$clang" >/dev/null || die "$clang not found (apt-get install clang-16)"

hash=$(
	{
		echo "kernel ${kout##*/} $(sha256sum <"$kout/vmlinux.btf" | cut -c1-16) tree $(cat "$tree/.vk/version" 2>/dev/null)"
		for f in "$here"/scx_vkernel.bpf.c "$here"/scx_vkernel.c "$here"/build.sh; do
			echo "file ${f##*/}"
			cat "$f"
		done
		"$clang" --version | head -n 1
	} | sha256sum | cut -c1-16
)
out="$cache/$hash"
if [ -x "$out/scx_vkernel" ]; then
	log "cached: $out"
	echo "$out"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -x "$out/scx_vkernel" ]; then
	echo "$out"
	exit 0
fi
t0=$(date +%s)
w="$cache/work-$hash"
rm -rf "$w"
mkdir -p "$w/libbpf" "$w/bpftool" "$w/include" "$w/obj"
blog="$w/build.log"
run() {
	if ! "$@" >>"$blog" 2>&1; then
		tail -n 30 "$blog" >&2
		die "failed: $* (log: $blog)"
	fi
}

# libbpf (static) and its headers from the kernel's tree; one copy of the tools
# per source version (the tree's own tools/ stays untouched: OUTPUT= elsewhere)
version=$(cat "$tree/.vk/version" 2>/dev/null || echo unknown)
tools="$cache/tools-$version"
if [ ! -x "$tools/sbin/bpftool" ]; then
	log "building libbpf + bpftool from $tree/tools"
	rm -rf "$tools"
	mkdir -p "$tools/libbpf" "$tools/bpftool"
	run make -C "$tree/tools/lib/bpf" -j"$jobs" OUTPUT="$tools/libbpf/" EXTRA_CFLAGS='-g -O2 -fPIC' \
		DESTDIR="$tools" prefix= all install_headers
	run make -C "$tree/tools/bpf/bpftool" -j"$jobs" OUTPUT="$tools/bpftool/" \
		LIBBPF_OUTPUT="$tools/libbpf/" LIBBPF_DESTDIR="$tools/" CLANG="$clang" \
		prefix= DESTDIR="$tools/" install-bin
fi
bpftool="$tools/sbin/bpftool"

log "vmlinux.h, BPF object, skeleton, loader"
"$bpftool" btf dump file "$kout/vmlinux.btf" format c >"$w/include/vmlinux.h" 2>>"$blog" || die "bpftool btf dump failed (log: $blog)"
# the DSQ kfuncs' names of this kernel (renamed in 6.13; see scx_vkernel.bpf.c)
api=()
if grep -q '^extern void scx_bpf_dsq_insert(' "$w/include/vmlinux.h"; then api=(-DVK_DSQ_INSERT); fi
log "DSQ kfuncs: ${api[*]:-scx_bpf_dispatch (6.12)}"
# the exit message (UEI_RECORD copies it with bpf_probe_read_kernel_str, a helper that exists only
# with CONFIG_BPF_EVENTS, i.e. kprobe/uprobe events: every distribution kernel has it, our lean 6.12
# build does not; without it the exit op records the kind and code only). A kernel dir without
# config (not ours, not stock-kernel.sh's) is taken to be a distribution's.
if [ ! -r "$kout/config" ] || grep -qx 'CONFIG_BPF_EVENTS=y' "$kout/config"; then
	api+=(-DVK_EXIT_MSG)
fi
log "exit message: $([[ " ${api[*]} " == *" -DVK_EXIT_MSG "* ]] && echo "reason + message (BPF_EVENTS)" || echo "kind + code only (no CONFIG_BPF_EVENTS)")"
sys_includes=$("$clang" -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
# shellcheck disable=SC2086
run "$clang" -g -O2 -target bpf -mcpu=v3 -mlittle-endian -D__TARGET_ARCH_x86 "${api[@]}" \
	-I"$w/include" -I"$tools/include" -I"$tree/tools/sched_ext/include" \
	-I"$tree/tools/sched_ext/include/bpf-compat" -I"$tree/tools/include/uapi" $sys_includes \
	-Wall -Wno-compare-distinct-pointer-types \
	-c "$here/scx_vkernel.bpf.c" -o "$w/obj/scx_vkernel.bpf.o"
run "$bpftool" gen object "$w/obj/scx_vkernel.linked.o" "$w/obj/scx_vkernel.bpf.o"
"$bpftool" gen skeleton "$w/obj/scx_vkernel.linked.o" name scx_vkernel >"$w/include/scx_vkernel.bpf.skel.h" 2>>"$blog" ||
	die "bpftool gen skeleton failed (log: $blog)"
run gcc -static -O2 -g -Wall -Werror -I"$w/include" -I"$tools/include" -I"$tree/tools/sched_ext/include" \
	-I"$tree/tools/include/uapi" \
	-o "$w/scx_vkernel" "$here/scx_vkernel.c" "$tools/libbpf/libbpf.a" -lelf -lz
mkdir -p "$out"
cp "$w/scx_vkernel" "$w/obj/scx_vkernel.bpf.o" "$out/"
echo "$(($(date +%s) - t0))" >"$out/build-seconds"
rm -rf "$w"
log "built in $(cat "$out/build-seconds")s: $out"
echo "$out"
