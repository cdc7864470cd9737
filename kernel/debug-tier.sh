#!/bin/bash
# The debug-kernel tier (issue 11): the VM suites of test/vm on the patched series built with
# config/variants/debug.config (lockdep + PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_LIST, SCHED_DEBUG,
# KFENCE on SLUB), plus the tier's own suites in test/vm/debug/ (the cpu.real_policy stress: 60 s of
# policy flips every 10 ms under a message-passing load on 4 vCPUs). VKVM_KERNEL_CONFIG=debug makes
# the harness (test/vm/lib/vm.ts) build and boot that kernel as "patched" and fail a patched boot on
# ANY kernel report in the guest's kernel log (BUG, WARNING, lockdep, RCU, KFENCE, KASAN, Oops, list
# corruption, sleeping in atomic context), with the report as the reason; every check must still
# PASS there and FAIL with a reason on the (ordinary) unpatched kernel, as in the VM tier.
# Not part of `npm test`: the debug kernel's first build is a full build of its own tree
# (tree-debug), and lockdep/KFENCE make the guests slower (guests get twice the time limit).
#
#   kernel/debug-tier.sh [SUITE...]     SUITE: a test file (test/vm/printk.test.ts) or a part of its
#                                       name (printk); default: test/vm/debug/*.test.ts and every
#                                       test/vm/*.test.ts except rt-v2 (Debian's stock kernel) and
#                                       attach-cost (path lengths of the production config: under
#                                       lockdep a getppid() is ~2140 instructions, not ~214, and the
#                                       first round after an attach pays lock-chain validation,
#                                       after/before 1.0042 against a 1.0010 bound; 1.0002-1.0004 after)
#   npm run test:kernel-debug [-- SUITE...]
#
# One suite at a time, each under the VM lock ($VKERNEL_VM_LOCK, default /var/lock/vkernel-vm.lock;
# empty: no lock) at nice 5. The kernel is built first (kernel/build.sh --config debug, which takes
# the build lock itself). Exit status 0 only when every suite passed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
export VKVM_KERNEL_CONFIG=debug
lock=${VKERNEL_VM_LOCK-/var/lock/vkernel-vm.lock}

all=(test/vm/debug/*.test.ts)
for f in test/vm/*.test.ts; do
	case "$f" in test/vm/rt-v2.test.ts | test/vm/attach-cost.test.ts) ;; *) all+=("$f") ;; esac
done
suites=()
if [ $# -eq 0 ]; then
	suites=("${all[@]}")
else
	for want in "$@"; do
		n=0
		for f in "${all[@]}"; do
			case "$f" in
			"$want" | *"$want"*) suites+=("$f") && n=$((n + 1)) ;;
			esac
		done
		[ $n -gt 0 ] || { echo "debug-tier: no suite matches '$want' (suites: ${all[*]})" >&2; exit 2; }
	done
fi

t0=$(date +%s)
out=$("$here/build.sh" --config debug | tail -n 1)
echo "debug-tier: debug kernel $out ($(($(date +%s) - t0)) s to build or find)"
passed=()
failed=()
for s in "${suites[@]}"; do
	t1=$(date +%s)
	cmd=(nice -n 5 node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects vm --runInBand --runTestsByPath "$s")
	[ -z "$lock" ] || cmd=(flock "$lock" "${cmd[@]}")
	if "${cmd[@]}"; then
		passed+=("$s ($(($(date +%s) - t1)) s)")
	else
		failed+=("$s ($(($(date +%s) - t1)) s)")
	fi
done
echo "debug-tier: $(($(date +%s) - t0)) s; passed: ${passed[*]:-none}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "debug-tier: FAILED: ${failed[*]}"
	exit 1
fi
echo "debug-tier: PASS"
