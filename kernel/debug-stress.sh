#!/bin/bash
# The debug-kernel tier (issue 11): the patched series built with
# config/variants/debug.config (lockdep + PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_LIST, SCHED_DEBUG,
# KFENCE on SLUB), booted on 4 vCPUs with the cpu.real_policy stress (90-real-policy-stress.sh: 60 s
# of policy flips every 10 ms under a message-passing load, moves, renices, cpu.max), the
# real_policy VM scripts on cgroup v2 (11..14; 10 binds the cpu controller to v1, with CPU hotplug
# in 14), the sched_params script (20: wakeup granularity at task and group level, CPU hotplug),
# and last 99-kernel-report.sh, which reads the whole boot's kernel log (the console runs `quiet`,
# which hides WARNING-level reports). Fails when a check FAILs, a script does not complete, or
# the kernel log or the console shows any kernel report (BUG, WARNING, lockdep, RCU, KFENCE,
# KASAN, Oops, list corruption).
# Not part of `npm test`: its first build is a full kernel build of its own tree (tree-debug).
#
#   kernel/debug-stress.sh [KERNEL_OUT_DIR]     (default: kernel/build.sh --config debug)
#   npm run test:kernel-debug
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${1:-}
if [ -z "$out" ]; then
	out=$("$here/build.sh" --config debug | tail -n 1)
fi
log=$(mktemp "${TMPDIR:-/tmp}/vk-debug-stress.XXXXXX")
scripts=("$repo/test/vm/guest/90-real-policy-stress.sh")
for s in "$repo"/test/vm/guest/1[1-4]-real-policy*.sh; do
	scripts+=("$s")
done
scripts+=("$repo/test/vm/guest/20-sched-params.sh" "$repo/test/vm/guest/99-kernel-report.sh")
t0=$(date +%s)
"$repo/test/vm/run-vm.sh" "$out" 1500 "${scripts[@]}" >"$log" 2>&1 || true
echo "debug-stress: $(grep -a -o 'VKBOOT.*' "$log" | head -n 1), $(($(date +%s) - t0)) s, console: $log"
rc=0
fails=$(grep -a -o 'VKTEST [^ ]* FAIL.*' "$log" || true)
[ -z "$fails" ] || { echo "$fails"; rc=1; }
grep -a -o 'VKTEST [^ ]* PASS.*' "$log" | cut -c1-200 || true
grep -a -o 'VKLOG .*' "$log" | head -n 200 || true
for s in "${scripts[@]}"; do
	grep -a -q "VKEND $(basename "$s")" "$log" || { echo "debug-stress: $(basename "$s") did not complete"; rc=1; }
done
rep=$(grep -a -E 'BUG[: ]|WARNING:|lockdep|circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|KFENCE:|KASAN:|Oops|general protection fault|list_add corruption|list_del corruption|sleeping function called from invalid context' "$log" | grep -a -v 'VKTEST\|VKLOG' | head -n 20 || true)
if [ -n "$rep" ]; then
	echo "debug-stress: kernel reports on the console:"
	echo "$rep"
	rc=1
fi
[ $rc = 0 ] && echo "debug-stress: PASS" || echo "debug-stress: FAIL"
exit $rc
