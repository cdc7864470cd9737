#!/bin/bash
# Build the vkernel series in every configuration that must build (issue:
# "every prefix builds", CONFIG_VKERNEL=n, CONFIG_TRANSPARENT_HUGEPAGE=n,
# CONFIG_FUTEX=n).  Too slow for every test run: `npm run test:kernel-matrix`.
#
#   kernel/matrix.sh              every item below, in this order
#   kernel/matrix.sh ITEM...      only these items
#
# Items:
#   prefix-K      kernel/build.sh --prefix K, for K = 1 .. N-1 (N patches)
#   series        kernel/build.sh (the whole series, the VM tier's kernel)
#   vkernel-off   kernel/build.sh --config vkernel-off  (CONFIG_VKERNEL=n)
#   thp-off       kernel/build.sh --config thp-off      (TRANSPARENT_HUGEPAGE=n)
#   futex-off     kernel/build.sh --config futex-off    (FUTEX=n)
#
# Cached like build.sh: an item whose output directory (same patches, config
# fragments and build.sh) has a `done` marker is reported as cached and not
# built again.  Prefixes share one tree (tree-prefix) and are built in
# ascending order, so each step is incremental; each config variant has its
# own tree.  Every item's build log: $cache/matrix-ITEM.log.  Prints one
# line per item and a summary line "N passed, N failed"; exit 1 if any failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VKERNEL_CACHE:-/var/cache/vkernel-runtime}/kernel
mkdir -p "$cache"

n=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/series" | wc -l)
items=()
if [ $# -gt 0 ]; then
	items=("$@")
else
	for ((k = 1; k < n; k++)); do
		items+=("prefix-$k")
	done
	items+=(series vkernel-off thp-off futex-off)
fi

args_of() {
	case "$1" in
	prefix-*)
		local k=${1#prefix-}
		[[ "$k" =~ ^[0-9]+$ ]] && [ "$k" -ge 1 ] && [ "$k" -le "$n" ] || return 1
		echo "--prefix $k"
		;;
	series) echo "" ;;
	vkernel-off | thp-off | futex-off) echo "--config $1" ;;
	*) return 1 ;;
	esac
}

passed=0
failed=0
for item in "${items[@]}"; do
	if ! args=$(args_of "$item"); then
		echo "matrix: unknown item $item (prefix-1..prefix-$n, series, vkernel-off, thp-off, futex-off)" >&2
		exit 2
	fi
	# shellcheck disable=SC2086 # args is a list of words
	out=$("$here/build.sh" $args --print-out)
	if [ -e "$out/done" ]; then
		echo "matrix: $item PASS cached ($(cat "$out/build-seconds" 2>/dev/null || echo ?) s when built) $out"
		passed=$((passed + 1))
		continue
	fi
	t0=$(date +%s)
	# shellcheck disable=SC2086
	if "$here/build.sh" $args >"$cache/matrix-$item.log" 2>&1; then
		echo "matrix: $item PASS built in $(($(date +%s) - t0)) s $out"
		passed=$((passed + 1))
	else
		echo "matrix: $item FAIL after $(($(date +%s) - t0)) s (log: $cache/matrix-$item.log)"
		tail -n 15 "$cache/matrix-$item.log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "kernel-matrix: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
