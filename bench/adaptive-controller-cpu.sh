#!/bin/bash
# bench/adaptive-controller-cpu.sh [SET=a|b]: CPU time of the adaptive controller per minute (utime+stime from /proc/<pid>/stat over 60 s):
# idle 1-task containers at interval 100 ms and 1000 ms, an idle 50-task container at 100 ms,
# and a CPU-bound container (FIFO steady state) at 100 ms. SET=a (default): the two idle 1-task
# containers; SET=b: the 50-task and the busy one (the node RT cap admits two adaptive containers at
# a time). VKERNEL_RUNTIME_HOME=<another build's tree> compares builds. As root, RT group scheduling.
set -u
W=${W:-$(cd "$(dirname "$0")/.." && pwd)}; RT=$W/bin/vkernel-runtime; R=$(mktemp -d); TCK=$(getconf CLK_TCK)
FS=$(mktemp -d); mkdir -p $FS/bin; cp /bin/busybox $FS/bin/; for a in sh sleep echo; do ln -s busybox $FS/bin/$a; done
mk() { # id interval args...
  local id=$1 iv=$2; shift 2; local b=$(mktemp -d); (cd $b && runc spec)
  python3 - "$b" "$iv" "$FS" "$@" <<'PY'
import json,sys
b,iv,fs,args=sys.argv[1],sys.argv[2],sys.argv[3],sys.argv[4:]
s=json.load(open(b+'/config.json'))
s['root']={'path':fs,'readonly':True}
s['process']['terminal']=False; s['process']['args']=args
s['annotations']={'io.vkernel.sched.policy':'adaptive','io.vkernel.sched.adaptive.interval_ms':iv,
  'io.vkernel.sched.adaptive.cpu_high':'20','io.vkernel.sched.adaptive.cpu_low':'5','io.vkernel.sched.adaptive.ctx_high':'2','io.vkernel.sched.adaptive.ctx_low':'1'}
json.dump(s,open(b+'/config.json','w'))
PY
  $RT --root $R create --bundle $b $id </dev/null >/dev/null 2>&1 && $RT --root $R start $id
}
cpu() { awk '{ s=substr($0, index($0,")")+2); split(s,f," "); print f[12]+f[13] }' /proc/$1/stat; }
# the node RT cap (50 %) admits two adaptive containers (25 % each) at a time
if [ "${SET:-a}" = a ]; then
ids="m100-$$ m1000-$$"
mk m100-$$ 100 sleep 120; mk m1000-$$ 1000 sleep 120
else
ids="m50t-$$ mbusy-$$"
mk m50t-$$ 100 sh -c 'n=0; while [ $n -lt 49 ]; do sleep 120 & n=$((n+1)); done; exec sleep 120'
mk mbusy-$$ 100 sh -c 'while :; do i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; x=$(echo); done'
fi
sleep 5
declare -A c0 pid; for id in $ids; do pid[$id]=$(python3 -c "import json;print(json.load(open('$R/vkernel@$id.json'))['helpers']['adaptive']['pid'])"); c0[$id]=$(cpu ${pid[$id]}); done
sleep 60
for id in $ids; do c1=$(cpu ${pid[$id]}); echo "$id: controller ${pid[$id]} CPU $(( (c1 - ${c0[$id]}) * 1000 / TCK )) ms in 60 s; $(grep -c ' -> ' $R/vkernel@$id.adaptive.log) switches; in $(grep '^[0-9]*:cpu:' /proc/${pid[$id]}/cgroup)"; done
for id in $ids; do $RT --root $R delete --force $id; done
rm -rf "$R" "$FS"
uptime
