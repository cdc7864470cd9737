# The commands an operator runs on a node, in a guest without Node.js (issue 13): doctor, ps, gc,
# install and uninstall run in the compiled engine. doctor reports this kernel, ps lists a created
# cfs container with its policy, gc finds no leftovers, install/uninstall docker edit a daemon.json.
# Needs the payload of test/vm/lib/runtime-payload.mjs (bundle cfs).
. /tests/lib.sh
CHECKS="runtime_admin.no_node runtime_admin.doctor runtime_admin.ps runtime_admin.gc runtime_admin.install"
runtime_required $CHECKS

# the guest has no node: any admin command that needed it would fail here
! command -v node >/dev/null 2>&1
result runtime_admin.no_node $? "node in the guest: '$(command -v node 2>&1)'"

$RT doctor >/tmp/doctor.out 2>&1
drc=$?
grep -q '^  ok    runc ' /tmp/doctor.out && grep -q '^  [a-zA-Z ]*kernel ' /tmp/doctor.out && grep -q '^ready: ' /tmp/doctor.out
dok=$?
[ $drc = 0 ] && [ $dok = 0 ]
result runtime_admin.doctor $? "doctor rc=$drc: $(grep -E '^  (ok|no|FAIL)  +(runc|kernel) ' /tmp/doctor.out | tr -s ' ' | tr '\n' '|'); $(tail -n 1 /tmp/doctor.out)"

$RT create --no-pivot --bundle /opt/bundles/cfs adm1 </dev/null >/tmp/adm1.out 2>&1
crc=$?
$RT ps >/tmp/ps.out 2>&1
prc=$?
listed=1
grep "^adm1	created	" /tmp/ps.out | grep -q "	io.vkernel.sched.policy=cfs\$" && listed=0
[ $crc = 0 ] && [ $prc = 0 ] && [ $listed = 0 ]
result runtime_admin.ps $? "create rc=$crc, ps rc=$prc: $(tr '\t\n' ' |' </tmp/ps.out)"
$RT delete --force adm1 >/dev/null 2>&1

$RT gc >/tmp/gc.out 2>&1
grc=$?
[ $grc = 0 ] && grep -q '^no leftovers$' /tmp/gc.out && [ -z "$(runtime_leftovers adm1)" ]
result runtime_admin.gc $? "gc rc=$grc: $(tr '\n' '|' </tmp/gc.out); left of adm1: '$(runtime_leftovers adm1)'"

$RT install docker --config-path /tmp/daemon.json --runtime-path /opt/vkr/bin/vkernel-runtime >/tmp/inst.out 2>&1
irc=$?
grep -q '"path": "/opt/vkr/bin/vkernel-runtime"' /tmp/daemon.json 2>/dev/null
ok1=$?
$RT uninstall docker --config-path /tmp/daemon.json >/tmp/uninst.out 2>&1
urc=$?
[ $irc = 0 ] && [ $ok1 = 0 ] && [ $urc = 0 ] && ! grep -q vkernel-runtime /tmp/daemon.json 2>/dev/null
result runtime_admin.install $? "install docker rc=$irc ($(tr '\n' ' ' </tmp/inst.out)), daemon.json had the runtime: $([ $ok1 = 0 ] && echo yes || echo no); uninstall rc=$urc ($(tr '\n' ' ' </tmp/uninst.out))"
vkend
