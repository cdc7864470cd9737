#!/bin/sh
# `npm run demo`: a busybox container through vkernel-runtime with io.vkernel.sched.policy=fifo,
# showing what was applied (or the clear error a host that cannot do it gives).
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" = --vm ]; then
  # the kernel backend: build (or reuse) the patched kernel, boot it under qemu with the runtime
  # inside, and show what it applies (the first build takes several minutes)
  sh scripts/setup.sh test
  echo "==> kernel/build.sh (cached after the first build; the first takes ~10 min)"
  P=$(mktemp -d /tmp/vkernel-demo-vm.XXXXXX)
  trap 'rm -rf "$P"' EXIT INT TERM
  # long work shows progress: every 15 s the elapsed time and the step build.sh is at (its last
  # stderr line: extracting, patching, make ...); its stdout's last line is the build directory
  t0=$(date +%s)
  bash kernel/build.sh >"$P/build.out" 2>"$P/build.err" &
  bpid=$!
  n=0
  while kill -0 "$bpid" 2>/dev/null; do
    sleep 1
    n=$((n + 1))
    [ $((n % 15)) = 0 ] && kill -0 "$bpid" 2>/dev/null &&
      echo "    [kernel build $(($(date +%s) - t0)) s] $(tail -n 1 "$P/build.err" | cut -c1-110)"
  done
  if ! wait "$bpid"; then tail -n 20 "$P/build.err" >&2; exit 1; fi
  K=$(tail -n 1 "$P/build.out")
  echo "    kernel ready after $(($(date +%s) - t0)) s: $K"
  LIST=$(node test/vm/lib/runtime-payload.mjs "$P")
  echo "==> booting $K/bzImage under qemu (TCG)"
  VKVM_CPU=max VKVM_EXTRA_LIST=$LIST bash test/vm/run-vm.sh "$K" 300 test/vm/guest/demo-runtime.sh | tr -d '\r' | grep -E '^(==|   )'
  exit 0
fi

# VKERNEL_DEMO_SETUP=0: on the build there is (test/integration/demo.test.ts runs the demo so)
[ "${VKERNEL_DEMO_SETUP:-1}" = 0 ] || sh scripts/setup.sh demo
# the entry point install registers: the C one when the build made it, else the sh launcher
RT=$PWD/dist/vkernel-runtime
[ -x "$RT" ] || RT=$PWD/bin/vkernel-runtime
W=$(mktemp -d /tmp/vkernel-demo.XXXXXX)
ROOT=$W/root
ID=demo-$$
cleanup() { "$RT" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT INT TERM

mkdir -p "$W/rootfs/bin" "$W/rootfs/proc" "$W/rootfs/sys" "$W/rootfs/dev" "$W/rootfs/tmp" "$W/bundle"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh grep cat sleep; do ln -s busybox "$W/rootfs/bin/$a"; done
(cd "$W/bundle" && runc spec)
jq --arg r "$W/rootfs" '.root.path=$r | .process.terminal=false
  | .annotations={"io.vkernel.sched.policy":"fifo"}
  | .process.args=["sh","-c","echo \"inside: $(grep ^policy /proc/self/sched | tr -s \" \")  (1 = SCHED_FIFO)\""]' \
  "$W/bundle/config.json" > "$W/c.json" && mv "$W/c.json" "$W/bundle/config.json"

# the container's cgroup is /$ID (the bundle has no linux.cgroupsPath): its parent's RT budget now
BUDGET=/sys/fs/cgroup/cpu/cpu.rt_runtime_us
budget() { cat "$BUDGET" 2>/dev/null || echo none; }
BEFORE=$(budget)

echo
echo "\$ vkernel-runtime create --bundle ... $ID    (annotation io.vkernel.sched.policy=fifo)"
if ! "$RT" --root "$ROOT" create --bundle "$W/bundle" "$ID" </dev/null; then
  echo "(this host cannot apply fifo: the error above says why; nothing was created)"
  exit 0
fi
# (the engine server hands a fifo create over: runc's create is this call's own process, and the
# policy is applied a moment after it returns, under the container's lock, which start waits for;
# here we wait for it too, up to 5 s, before looking)
i=0
while [ -e "$ROOT/vkernel@$ID.lock" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
PID=$(runc --root "$ROOT" state "$ID" | jq .pid)
# our state: beside runc's, or, when nothing of ours outlives runc's delete (fifo on the rt
# backend), inside runc's own container directory, which runc's delete removes
STATE=$ROOT/vkernel@$ID.json
[ -e "$STATE" ] || STATE=$ROOT/$ID/vkernel.json
CG=$(jq -r .cgroupPath "$STATE")
echo "applied before start, seen from the host:"
echo "  backend:            $(jq -r .backend "$STATE")"
echo "  init task $PID:     $(chrt -p "$PID" | tr '\n' ' ')"
[ -r "/sys/fs/cgroup/cpu$CG/cpu.rt_runtime_us" ] && echo "  cgroup cpu$CG: cpu.rt_runtime_us=$(cat /sys/fs/cgroup/cpu$CG/cpu.rt_runtime_us) of $(cat /sys/fs/cgroup/cpu$CG/cpu.rt_period_us)"
[ -r "/sys/fs/cgroup/cpu$CG/cpu.real_policy" ] && echo "  cgroup cpu$CG: cpu.real_policy=$(cat /sys/fs/cgroup/cpu$CG/cpu.real_policy)"
echo
echo "\$ vkernel-runtime --root ... ps"
"$RT" --root "$ROOT" ps
echo
echo "\$ vkernel-runtime start $ID"
"$RT" --root "$ROOT" start "$ID"
sleep 0.5
"$RT" --root "$ROOT" delete "$ID"
# what is left, looked up rather than assumed: our state, a cgroup named $ID in any mounted
# hierarchy (v1 and v2, also nested under the caller's own cgroup), the parent's RT budget (the
# kernel frees a removed group's budget after an RCU grace period: up to 3 s)
LEFT=""
for f in "$ROOT/vkernel@$ID.json" "$ROOT/$ID/vkernel.json" "$ROOT/vkernel@$ID.lock"; do
  [ -e "$f" ] && LEFT="$LEFT state:$f"
done
runc --root "$ROOT" state "$ID" >/dev/null 2>&1 && LEFT="$LEFT runc-container:$ID"
for m in $(grep -E ' - cgroup2? ' /proc/self/mountinfo | cut -d' ' -f5); do
  for d in $(find "$m" -maxdepth 4 -type d -name "$ID" 2>/dev/null); do LEFT="$LEFT cgroup:$d"; done
done
i=0
while [ "$(budget)" != "$BEFORE" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(budget)" = "$BEFORE" ] || LEFT="$LEFT rt-budget:$BEFORE->$(budget)"
if [ -n "$LEFT" ]; then
  echo "deleted, but LEFT BEHIND:$LEFT"
  exit 1
fi
echo "deleted: no state, no cgroup $ID in any hierarchy (its RT budget is free again), the parent's cpu.rt_runtime_us as before: $BEFORE"
