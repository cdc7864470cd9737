# Per-container values through the real runtime (issue 12 §1): the runtime enables the container's
# pid namespace at create (one write of /sys/kernel/vkernel/enable); the container changes its
# values only with io.vkernel.sysctl.writable=true; a container that asked for nothing keeps the
# host's values and cannot write them. Needs the payload of test/vm/lib/runtime-payload.mjs.
. /tests/lib.sh
if [ ! -x /opt/vkr/bin/vkernel-runtime ]; then
	fail_all "no runtime in the initramfs (VKVM_EXTRA_LIST of test/vm/lib/runtime-payload.mjs)" \
		runtime_sysctl.value_readonly runtime_sysctl.value_writable runtime_sysctl.writable_alone \
		runtime_sysctl.no_request_host_values
	vkend
	exit 0
fi
runtime_setup
g=/proc/sys/kernel/sched_wakeup_granularity_ns
r=/proc/sys/vm/overcommit_ratio
hg=$(cat $g 2>/dev/null)
hr=$(cat $r)
host() { echo "$(cat $g 2>/dev/null),$(cat $r)"; }
runit() { $RT run --no-pivot --bundle "/opt/bundles/$1" "$2" </dev/null 2>&1 | tr '\n' ' ' | sed 's/ $//'; }

out=$(runit sysro s1)
[ "$out" = "read=3000000,40 write=EROFS,EROFS after=3000000,40" ] && [ "$(host)" = "$hg,$hr" ]
result runtime_sysctl.value_readonly $? "wakeup_granularity_ns=3000000 overcommit_ratio=40: $out; host $(host) (was $hg,$hr)"

out=$(runit sysrw s2)
[ "$out" = "read=3000000,40 write=ok,ok after=4000000,41" ] && [ "$(host)" = "$hg,$hr" ]
result runtime_sysctl.value_writable $? "the same with sysctl.writable=true: $out; host $(host) (was $hg,$hr)"

out=$(runit syswonly s3)
[ "$out" = "read=$hg,$hr write=ok,ok after=4000000,41" ] && [ "$(host)" = "$hg,$hr" ]
result runtime_sysctl.writable_alone $? "sysctl.writable=true alone (own copies from the host's values): $out; host $(host) (was $hg,$hr)"

out=$(runit plainrw s4)
case "$out" in "read=$hg,$hr write="*",EROFS after=$hg,$hr") r0=0 ;; *) r0=1 ;; esac
case "$out" in *write=ok*) r0=1 ;; esac
[ "$(host)" = "$hg,$hr" ] || r0=1
result runtime_sysctl.no_request_host_values $r0 "no request: $out; host $(host) (was $hg,$hr)"
vkend
