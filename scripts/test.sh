#!/bin/sh
# `npm test`: install what the tests need, build, run every test tier that exists.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh test
# Every temporary file of the run (bundles, engine state, VM images) under one directory, removed at
# the end with whatever the engines left mounted there: nothing of the tests stays on the host.
TMPDIR=$(mktemp -d /tmp/vkernel-test.XXXXXX)
export TMPDIR
cleanup_tmp() {
  awk -v t="$TMPDIR" '$2 == t || index($2, t "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
  rm -rf "$TMPDIR"
}
trap cleanup_tmp EXIT
jest() { node --experimental-vm-modules node_modules/jest/bin/jest.js "$@"; }
echo "==> unit"
jest --selectProjects unit
echo "==> integration (real runc)"
jest --selectProjects integration --runInBand
for tier in e2e vm; do
  if ls test/$tier/*.test.ts >/dev/null 2>&1 && grep -q "displayName: '$tier'" jest.config.cjs; then
    echo "==> $tier"
    jest --selectProjects $tier --runInBand
  fi
done
