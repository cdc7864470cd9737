#!/bin/bash
# Run scripts/checkpatch.pl --strict --no-tree on every patch of the series,
# using the checkpatch of the cached unpatched 6.1 tree (kernel/build.sh
# --unpatched creates it).  Exit 1 if any patch has an error.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=${VKERNEL_CACHE:-/var/cache/vkernel-runtime}/kernel/tree-unpatched
[ -x "$tree/scripts/checkpatch.pl" ] || tree=$(dirname "$("$here/build.sh" --unpatched | tail -n1)/build/.")
rc=0
while read -r p; do
	[ -n "$p" ] || continue
	out=$("$tree/scripts/checkpatch.pl" --strict --no-tree "$here/patches/$p" 2>&1 || true)
	echo "$p: $(echo "$out" | grep '^total:')"
	echo "$out" | grep -q '^total: 0 errors' || rc=1
done <"$here/series"
exit $rc
