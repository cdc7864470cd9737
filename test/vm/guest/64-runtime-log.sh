# The container's own kernel log through the real runtime (deck claim 1, issue 12 "opt-in per
# namespace"): io.vkernel.log=private makes the runtime enable printk_ns for the container's pid
# namespace at create; such a container's dmesg shows only the records its own tasks wrote to
# /dev/kmsg. A container that asked for nothing reads exactly what the host reads, as on a kernel
# without vkernel. Needs the payload of test/vm/lib/runtime-payload.mjs (bundles logpriv, logpriv2,
# logshared: /dev/kmsg and CAP_SYSLOG in the container, which writes one record, then runs dmesg).
. /tests/lib.sh
CHECKS="runtime_log.private_sees_only_own runtime_log.private_not_other_private runtime_log.host_sees_container_records runtime_log.shared_reads_host_log"
if [ ! -x /opt/vkr/bin/vkernel-runtime ]; then
	fail_all "no runtime in the initramfs (VKVM_EXTRA_LIST of test/vm/lib/runtime-payload.mjs)" $CHECKS
	vkend
	exit 0
fi
runtime_setup
echo "<6>VKLOG-HOST a record of the host" >/dev/kmsg
runit() { $RT run --no-pivot --bundle "/opt/bundles/$1" "$2" </dev/null >"/tmp/log.$2" 2>&1; echo $?; }
one() { tr '\n' '|' <"$1" | cut -c1-300; }

rc1=$(runit logpriv l1)
n1=$(grep -c . /tmp/log.l1); own1=$(grep -c VKLOG-PRIV1 /tmp/log.l1)
[ "$rc1" = 0 ] && [ "$n1" = 1 ] && [ "$own1" = 1 ]
result runtime_log.private_sees_only_own $? "io.vkernel.log=private: rc=$rc1, dmesg lines=$n1 (own record $own1, host record $(grep -c VKLOG-HOST /tmp/log.l1), boot lines $(grep -c 'Linux version' /tmp/log.l1)): $(one /tmp/log.l1)"

rc2=$(runit logpriv2 l2)
n2=$(grep -c . /tmp/log.l2); own2=$(grep -c VKLOG-PRIV2 /tmp/log.l2); other2=$(grep -c VKLOG-PRIV1 /tmp/log.l2)
[ "$rc2" = 0 ] && [ "$n2" = 1 ] && [ "$own2" = 1 ] && [ "$other2" = 0 ]
result runtime_log.private_not_other_private $? "a second private container: rc=$rc2, dmesg lines=$n2 (own $own2, the first's $other2): $(one /tmp/log.l2)"

dmesg >/tmp/log.host1
h1=$(grep -c VKLOG-PRIV1 /tmp/log.host1); h2=$(grep -c VKLOG-PRIV2 /tmp/log.host1)
[ "$h1" = 1 ] && [ "$h2" = 1 ]
result runtime_log.host_sees_container_records $? "the host's dmesg has the private containers' records: first $h1, second $h2"

# a container without the key: its dmesg is the host's log up to the moment it read it (the host's
# dmesg right after has the same lines first), its own record and the host's included
rc3=$(runit logshared l3)
dmesg >/tmp/log.host2
n3=$(grep -c . /tmp/log.l3)
same=1
head -n "$n3" /tmp/log.host2 | cmp -s - /tmp/log.l3 && same=0
[ "$rc3" = 0 ] && [ "$same" = 0 ] && [ "$(grep -c VKLOG-SHARED /tmp/log.l3)" = 1 ] && [ "$(grep -c VKLOG-HOST /tmp/log.l3)" = 1 ] &&
	[ "$(grep -c 'Linux version' /tmp/log.l3)" -ge 1 ]
result runtime_log.shared_reads_host_log $? "no request: rc=$rc3, dmesg lines=$n3 (host $(wc -l </tmp/log.host2)), identical to the host's first $n3 lines: $([ $same = 0 ] && echo yes || echo no), own $(grep -c VKLOG-SHARED /tmp/log.l3), host record $(grep -c VKLOG-HOST /tmp/log.l3), private records $(grep -c 'VKLOG-PRIV' /tmp/log.l3)"
vkend
