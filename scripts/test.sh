#!/bin/sh
# `npm test`: install what the tests need, build, run every test tier that exists.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh test
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
