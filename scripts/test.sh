#!/bin/sh
# `npm test`: install what the tests need, build, run every test tier (unit, integration, e2e, vm).
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
# Every tier runs (a failing tier does not hide the others); each is judged from jest's JSON results
# by scripts/check-tier.mjs: the tier must exist (test files and a jest project), have run every one
# of its test files and more than zero tests, with none failed and, under CI=true, none skipped.
# Under CI=true (.ci/run) a test whose prerequisite is missing fails instead of skipping
# (test/helpers/prereq.ts).
failed=""
times=""
t_all=$(date +%s)
for tier in unit integration e2e vm; do
  echo "==> $tier"
  t0=$(date +%s)
  out="$TMPDIR/jest-$tier.json"
  if ! grep -q "displayName: '$tier'" jest.config.cjs; then
    echo "==> $tier FAILED: no jest project '$tier' in jest.config.cjs" >&2
    failed="$failed $tier"
    continue
  fi
  band=--runInBand
  [ "$tier" = unit ] && band=
  left="$TMPDIR/leftovers-$tier"
  VKERNEL_TEST_LEFTOVERS_REPORT="$left" jest --selectProjects "$tier" $band --json --outputFile="$out" || true
  # its verdict goes to the log as it comes and, for a failed tier, again at the end (a long run's
  # output is read from its end: CI's summary keeps the first and last lines only)
  if ! node scripts/check-tier.mjs "$tier" "$out" "$left" 2>"$TMPDIR/verdict-$tier"; then
    failed="$failed $tier"
  fi
  cat "$TMPDIR/verdict-$tier" >&2
  times="$times $tier $(($(date +%s) - t0)) s,"
done
echo "==> times:${times%,}; all tiers $(($(date +%s) - t_all)) s"
if [ -n "$failed" ]; then
  # the failures once more, shortened (the first three of each tier and its verdict): every failed
  # tier's in the last lines
  for tier in $failed; do
    { grep "^==> $tier failed: " "$TMPDIR/verdict-$tier" | head -n 3; grep -v "^==> $tier failed: " "$TMPDIR/verdict-$tier"; } | cut -c1-300 >&2
  done
  echo "==> npm test FAILED:$failed" >&2
  exit 1
fi
echo "==> npm test: every tier ran and passed"
