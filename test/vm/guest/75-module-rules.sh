# Argument rules and the capability ceiling of the per-container module (issue 14 §2, §3; kernel
# patches 0012, 0013) through the real runtime in the guest: container A has
# io.vkernel.syscall.namespaces=deny, io.vkernel.syscall.personality=linux and a capability ceiling
# without CAP_NET_RAW (which its spec's sets have); B has the module without rules; C a ceiling
# with CAP_NET_RAW; D a ceiling without CAP_NET_RAW but with CAP_SETUID/CAP_SETGID (it can drop to
# uid 1000 and run a set-uid root binary) and no namespace rule (it can make a user namespace).
# The same work runs in each (RULES_WORK of test/vm/lib/runtime-payload.mjs); then `runc exec` into
# A and B runs part of it again.
# Needs the payload of runtime-payload.mjs with VKVM_PAYLOAD_MODULE_KDIR.
. /tests/lib.sh
ALL="rules.kernel_features rules.features_listed rules.bad_value_refused rules.create rules.sysfs
	rules.caps_sets_clamped rules.raw_socket_ceiling rules.ns_unshare rules.ns_clone_clone3
	rules.ns_unshare_setns_syscalls rules.personality rules.setuid_ceiling rules.filecap_ceiling rules.userns_ceiling
	rules.exec_ceiling rules.unloaded_after_delete rules.no_oops"
# shellcheck disable=SC2086
runtime_required $ALL
sys=/sys/kernel/vkernel/containers
cap() { sed -n "s/^$2:[[:space:]]*//p" "$1" | head -1; }

feat=$(cat /sys/kernel/vkernel/features 2>&1)
echo " $feat " | grep -q ' syscall_args ' && echo " $feat " | grep -q ' caps_max '
result rules.kernel_features $? "/sys/kernel/vkernel/features: $feat"

# the runtime lists the keys (features is intercepted by the engine; runc's JSON + our annotations)
$RT features >/tmp/features.json 2>&1
grep -q '"io.vkernel.syscall.namespaces"' /tmp/features.json && grep -q '"io.vkernel.syscall.personality"' /tmp/features.json &&
	grep -q '"io.vkernel.caps.max": "none or comma-separated capability names of Linux 6.1 (CAP_CHOWN' /tmp/features.json
result rules.features_listed $? "$(grep -E 'io.vkernel.(syscall.namespaces|syscall.personality|caps.max)' /tmp/features.json | cut -c1-110 | tr '\n' ';')"

# a bad value is refused at create, naming the key, and nothing is left
$RT create --no-pivot --bundle /opt/bundles/rulesbad vkrbad </dev/null >/tmp/vkrbad.out 2>&1
rbad=$?
# (the runtime logs in logrus text form: msg="... \"CAP_NET_RAW,CAP_FLY\" is not ...")
[ $rbad != 0 ] && grep -F 'io.vkernel.caps.max: ' /tmp/vkrbad.out | grep -F 'CAP_NET_RAW,CAP_FLY' |
	grep -qF 'is not none or comma-separated capability names of Linux 6.1' &&
	[ ! -e /run/runc/vkrbad ] && ! grep -q '^vkernel_vkrbad ' /proc/modules
result rules.bad_value_refused $? "create rc=$rbad: $(cut -c1-300 /tmp/vkrbad.out | tr '\n' ';')"

# /bin/vkt-fcap of the containers' image: file capability cap_net_raw+ep (CAP_NET_RAW 13), as
# `setcap cap_net_raw+ep` (the initramfs is a tmpfs with xattrs: CONFIG_TMPFS_XATTR)
fcap=$(vkt setfcap /opt/rootfs/bin/vkt-fcap 13 2>&1)

A=vkrules
B=vkrulesoff
C=vkrulesraw
D=vkrulesuser
rc=
for c in "$A:rules" "$B:rulesoff" "$C:rulesraw" "$D:rulesuser"; do
	id=${c%%:*}
	$RT create --no-pivot --bundle "/opt/bundles/${c#*:}" "$id" </dev/null >"/tmp/$id.out" 2>&1
	rc="$rc $?"
done
why=
[ "$rc" = " 0 0 0 0" ] || why=" (create failed: $(tail -1 /tmp/$A.out | cut -c1-400))"
[ "$rc" = " 0 0 0 0" ]
result rules.create $? "create $A $B $C $D: rc=$rc; $A: $(tail -2 /tmp/$A.out | cut -c1-400 | tr '\n' ';')"

MA=vkernel_$(echo "$A" | cut -c1-12)
MB=vkernel_$(echo "$B" | cut -c1-12)
MC=vkernel_$(echo "$C" | cut -c1-12)
MD=vkernel_$(echo "$D" | cut -c1-12)
sa="$(cat $sys/$MA/ns_deny 2>&1)/$(cat $sys/$MA/personality 2>&1)/$(cat $sys/$MA/caps_max 2>&1)"
sb="$(cat $sys/$MB/ns_deny 2>&1)/$(cat $sys/$MB/personality 2>&1)/$(cat $sys/$MB/caps_max 2>&1)"
sc="$(cat $sys/$MC/ns_deny 2>&1)/$(cat $sys/$MC/personality 2>&1)/$(cat $sys/$MC/caps_max 2>&1)"
# caps_max of A: CAP_KILL 5, CAP_NET_BIND_SERVICE 10, CAP_SYS_ADMIN 21, CAP_AUDIT_WRITE 29
[ "$sa" = "0x7e020080/0x0/0x20200420" ] && [ "$sb" = "0x0/any/none" ] && [ "$sc" = "0x0/any/0x202000" ]
result rules.sysfs $? "ns_deny/personality/caps_max: $MA $sa, $MB $sb, $MC $sc$why"

if [ "$rc" = " 0 0 0 0" ]; then
	for id in $A $B $C $D; do $RT start "$id"; done
	for id in $A $B $C $D; do wait_for "/tmp/$id.out" '^rules-done'; done
fi
out() { grep -v '^time=' "/tmp/$1.out" | tr '\n' ';'; }

# the capability sets the container's process got at exec: A's have no CAP_NET_RAW (bit 13)
ea=$(cap "/tmp/$A.out" CapEff)
ba=$(cap "/tmp/$A.out" CapBnd)
eb=$(cap "/tmp/$B.out" CapEff)
bb=$(cap "/tmp/$B.out" CapBnd)
[ -n "$ea" ] && [ -n "$eb" ] && [ $((0x$ea & 0x2000)) = 0 ] && [ $((0x$ba & 0x2000)) = 0 ] &&
	[ $((0x$eb & 0x2000)) != 0 ] && [ $((0x$bb & 0x2000)) != 0 ] && [ "$ba" = 0000000020200420 ]
result rules.caps_sets_clamped $? "CapEff/CapBnd: $A $ea/$ba, $B $eb/$bb (the spec gives both 0000000020202420 + ...; A's ceiling 0x20200420)$why"

# a raw socket as root with CAP_NET_RAW in the spec: refused by A's ceiling only
[ "$(line /tmp/$A.out raw)" = EPERM ] && [ "$(line /tmp/$B.out raw)" = 0 ] && [ "$(line /tmp/$C.out raw)" = 0 ]
result rules.raw_socket_ceiling $? "socket(AF_INET, SOCK_RAW): $A $(line /tmp/$A.out raw), $B $(line /tmp/$B.out raw), $C (ceiling with CAP_NET_RAW) $(line /tmp/$C.out raw)$why"

grep -q '^unshare -n rc=1' "/tmp/$A.out" && grep -q '^unshare -n rc=0' "/tmp/$B.out"
result rules.ns_unshare $? "unshare -n true: $A $(grep '^unshare -n' /tmp/$A.out), $B $(grep '^unshare -n' /tmp/$B.out)$why"

[ "$(line /tmp/$A.out 'clone newnet')" = EPERM ] && [ "$(line /tmp/$A.out 'clone3 newnet')" = EPERM ] &&
	[ "$(line /tmp/$B.out 'clone newnet')" = 0 ] && [ "$(line /tmp/$B.out 'clone3 newnet')" = 0 ]
result rules.ns_clone_clone3 $? "clone/clone3(CLONE_NEWNET): $A $(line /tmp/$A.out 'clone newnet')/$(line /tmp/$A.out 'clone3 newnet'), $B $(line /tmp/$B.out 'clone newnet')/$(line /tmp/$B.out 'clone3 newnet')$why"

[ "$(line /tmp/$A.out 'unshare newuts')" = EPERM ] && [ "$(line /tmp/$A.out 'setns net')" = EPERM ] &&
	[ "$(line /tmp/$B.out 'unshare newuts')" = 0 ] && [ "$(line /tmp/$B.out 'setns net')" = 0 ]
result rules.ns_unshare_setns_syscalls $? "unshare(CLONE_NEWUTS) / setns(/proc/self/ns/net, 0): $A $(line /tmp/$A.out 'unshare newuts')/$(line /tmp/$A.out 'setns net'), $B $(line /tmp/$B.out 'unshare newuts')/$(line /tmp/$B.out 'setns net')$why"

[ "$(line /tmp/$A.out 'personality linux32')" = EPERM ] && [ "$(line /tmp/$A.out 'personality linux')" = "0 now=0" ] &&
	[ "$(line /tmp/$B.out 'personality linux32')" = "0 now=0x8" ]
result rules.personality $? "personality(0x8)/personality(0): $A $(line /tmp/$A.out 'personality linux32')/$(line /tmp/$A.out 'personality linux'), $B $(line /tmp/$B.out 'personality linux32')$why"

# a set-uid root binary run by uid 1000 (bounding set of the spec: CAP_NET_RAW) gets no capability
# outside D's ceiling; without a ceiling it gets CAP_NET_RAW back at exec
[ "$(line /tmp/$D.out 'suid raw')" = EPERM ] && [ "$(line /tmp/$B.out 'suid raw')" = 0 ]
result rules.setuid_ceiling $? "uid 1000 runs set-uid root vkt raw: $D (ceiling without CAP_NET_RAW) $(line /tmp/$D.out 'suid raw'), $B (no ceiling) $(line /tmp/$B.out 'suid raw')$why"

# the same through a file capability (cap_net_raw+ep on the binary, run by uid 1000): D's ceiling
# has cut CAP_NET_RAW from the bounding set, so the kernel refuses to exec the binary at all (a file
# with the effective bit whose permitted set cannot be granted in full: commoncap's rule for
# capability-dumb binaries); B (no ceiling, CAP_NET_RAW in its bounding set) gets the socket
[ "$fcap" = 0 ] && [ "$(line /tmp/$D.out 'fcap raw')" = exec=EPERM ] && [ "$(line /tmp/$B.out 'fcap raw')" = 0 ]
result rules.filecap_ceiling $? "setfcap cap_net_raw+ep: $fcap; uid 1000 runs it (vkt raw): $D (ceiling without CAP_NET_RAW, CapBnd $(cap /tmp/$D.out CapBnd)) $(line /tmp/$D.out 'fcap raw'), $B (no ceiling, CapBnd $(cap /tmp/$B.out CapBnd)) $(line /tmp/$B.out 'fcap raw')$why"

# a new user namespace gives its creator every capability in it, and its new net namespace belongs
# to it: D gets its ceiling (CAP_SETGID 6, CAP_SETUID 7, CAP_SYS_ADMIN 21) and no raw socket, C
# its ceiling with CAP_NET_RAW (13) and the socket, B the full set; A may not make the namespace
[ "$(line /tmp/$D.out userns)" = "caps=00000000002000c0 raw=EPERM" ] &&
	[ "$(line /tmp/$C.out userns)" = "caps=0000000000202000 raw=0" ] &&
	[ "$(line /tmp/$B.out userns)" = "caps=000001ffffffffff raw=0" ] &&
	[ "$(line /tmp/$A.out userns)" = "unshare=EPERM" ]
result rules.userns_ceiling $? "unshare(CLONE_NEWUSER|CLONE_NEWNET), raw socket: $D $(line /tmp/$D.out userns), $C $(line /tmp/$C.out userns), $B $(line /tmp/$B.out userns), $A $(line /tmp/$A.out userns)$why"

# runc exec into A and B (through the runtime, which passes exec to runc): the exec'd process is
# in A's pid namespace, so A's rules and ceiling hold for it; the exec works under namespaces=deny
EXEC_WORK='grep -E "^Cap(Eff|Bnd)" /proc/self/status; echo "raw: $(vkt raw)"; unshare -n true; echo "unshare -n rc=$?"'
re=
for id in $A $B; do
	$RT exec "$id" sh -c "$EXEC_WORK" >"/tmp/$id.exec" 2>&1
	re="$re $?"
done
xa=$(cap "/tmp/$A.exec" CapEff)
xba=$(cap "/tmp/$A.exec" CapBnd)
xb=$(cap "/tmp/$B.exec" CapEff)
[ "$re" = " 0 0" ] && [ -n "$xa" ] && [ -n "$xb" ] && [ $((0x$xa & 0x2000)) = 0 ] && [ "$xba" = 0000000020200420 ] &&
	[ $((0x$xb & 0x2000)) != 0 ] &&
	[ "$(line /tmp/$A.exec raw)" = EPERM ] && [ "$(line /tmp/$B.exec raw)" = 0 ] &&
	grep -q '^unshare -n rc=1' "/tmp/$A.exec" && grep -q '^unshare -n rc=0' "/tmp/$B.exec"
result rules.exec_ceiling $? "runc exec rc=$re; $A: $(grep -v '^time=' /tmp/$A.exec | tr '\n' ';' | cut -c1-300) $B: $(grep -v '^time=' /tmp/$B.exec | tr '\n' ';' | cut -c1-300)$why"

echo "A: $(out $A)"
echo "B: $(out $B)"
echo "C: $(out $C)"
echo "D: $(out $D)"

rd=
for id in $A $B $C $D; do
	$RT delete --force "$id" >>/tmp/del.out 2>&1
	rd="$rd $?"
done
left=$(grep -E "^($MA|$MB|$MC|$MD) " /proc/modules)
[ "$rc" = " 0 0 0 0" ] && [ "$rd" = " 0 0 0 0" ] && [ -z "$left" ] && [ ! -e "$sys/$MA" ] && [ ! -e "$sys/$MC" ] && [ ! -e "$sys/$MD" ]
result rules.unloaded_after_delete $? "create rc=$rc, delete --force: rc=$rd; modules left: '$left'; $(tr '\n' ';' </tmp/del.out | cut -c1-300)$why"

dmesg >/tmp/dmesg.txt
grep -q "$MA: success to init" /tmp/dmesg.txt && grep -q "$MA: exit" /tmp/dmesg.txt &&
	! grep -qE 'Oops|BUG:|WARNING:|general protection|Call Trace|refcount_t' /tmp/dmesg.txt
result rules.no_oops $? "load lines of $MA: $(grep -c "$MA: success to init" /tmp/dmesg.txt), exit lines: $(grep -c "$MA: exit" /tmp/dmesg.txt), oops lines: $(grep -cE 'Oops|BUG:|WARNING:|general protection|Call Trace|refcount_t' /tmp/dmesg.txt); $(grep -E "vkernel|Oops|BUG:|WARNING:|Call Trace" /tmp/dmesg.txt | tail -8 | tr '\n' ';')$why"
vkend
