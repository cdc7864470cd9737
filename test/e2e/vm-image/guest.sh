#!/bin/sh
# Runs inside the VM booted from the Dockerfile.vm image (as /vkvm/run.sh, dockerd already up):
# what a user checks after `docker run --runtime=vkernel-runtime`. Prints
#   VKTEST <name> PASS|FAIL <detail>
# Every docker run uses --network none (the daemon has no bridge).
R="--network none --runtime=vkernel-runtime"
CPU=/sys/fs/cgroup/cpu/docker
report() { # name, condition status, detail
	if [ "$2" = 0 ]; then echo "VKTEST $1 PASS $3"; else echo "VKTEST $1 FAIL $3"; fi
}
cid() { docker inspect -f '{{.Id}}' "$1" 2>/dev/null; }
policy_of() { cat "$CPU/$(cid "$1")/cpu.real_policy" 2>&1; }

v=$(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}' 2>&1)
r=0; for n in vkernel-runtime vkernel-fifo; do case " $v" in *" $n "*) ;; *) r=1 ;; esac; done
report vm.docker_runtimes $r "runtimes: $v"

# the policy in the container's cpu cgroup, by annotation (env form) and by a runtime registered with --set
docker run -d --name fifo $R -e VKERNEL_SCHED_POLICY=fifo vkernel/busybox sleep 600 >/tmp/fifo.out 2>&1
p=$(policy_of fifo)
[ "$p" = 1 ]; report vm.fifo_real_policy $? "cpu.real_policy=$p $(tr '\n' ' ' </tmp/fifo.out | tail -c 300)"
docker run -d --name fifo2 --network none --runtime=vkernel-fifo vkernel/busybox sleep 600 >/tmp/fifo2.out 2>&1
p=$(policy_of fifo2)
[ "$p" = 1 ]; report vm.fifo_runtime_set $? "cpu.real_policy=$p $(tr '\n' ' ' </tmp/fifo2.out | tail -c 300)"
docker run -d --name plain $R vkernel/busybox sleep 600 >/tmp/plain.out 2>&1
p=$(policy_of plain)
[ "$p" = 0 ]; report vm.plain_is_cfs $? "cpu.real_policy=$p"
docker rm -f fifo fifo2 plain >/dev/null 2>&1

# per-container scheduler parameter, inside the container; the VM's own value unchanged
host_before=$(cat /proc/sys/kernel/sched_wakeup_granularity_ns)
g=$(docker run --rm $R -e VKERNEL_SCHED_WAKEUP_GRANULARITY_NS=3000000 vkernel/busybox \
	cat /proc/sys/kernel/sched_wakeup_granularity_ns 2>&1)
host_after=$(cat /proc/sys/kernel/sched_wakeup_granularity_ns)
[ "$g" = 3000000 ] && [ "$host_after" = "$host_before" ]
report vm.wakeup_granularity $? "container=$g vm=$host_before->$host_after"

# the per-container module: a denied syscall fails with EPERM in that container only, the module
# is named after the container and is gone after docker rm
docker run -d --name mod $R -e VKERNEL_MODULE=true -e VKERNEL_SYSCALL_DENY=mkdir vkernel/busybox sleep 600 >/tmp/mod.out 2>&1
m=$(docker exec mod mkdir /tmp/x 2>&1; echo "rc=$?"); m=$(echo "$m" | tr "\n" " ")
o=$(docker run --rm $R vkernel/busybox sh -c 'mkdir /tmp/x && echo made' 2>&1)
name=vkernel_$(cid mod | cut -c1-12)
mods=$(lsmod | awk 'NR > 1 && /^vkernel_/ { print $1 }' | tr '\n' ' ')
case "$m" in *"Operation not permitted"*"rc=1"*) r=0 ;; *) r=1 ;; esac
[ $r = 0 ] && [ "$o" = made ] && [ "$mods" = "$name " ]
report vm.module_denies_syscall $? "mod: $m | other: $o | modules: $mods(expected $name) | $(tr '\n' ' ' </tmp/mod.out | tail -c 300)"
docker rm -f mod >/dev/null 2>&1
left=$(lsmod | awk 'NR > 1 && /^vkernel_/ { print $1 }' | tr '\n' ' ')
[ -z "$left" ]; report vm.module_unloaded $? "modules left: $left"

# a bad value: docker shows our message, nothing is created
b=$(docker run --name bad $R -e VKERNEL_SCHED_POLICY=fast vkernel/busybox true 2>&1)
case "$b" in *'io.vkernel.sched.policy: "fast" is not one of cfs, fifo, adaptive'*) r=0 ;; *) r=1 ;; esac
report vm.bad_value_message $r "$(echo "$b" | tail -c 300)"
docker rm -f bad >/dev/null 2>&1

# nothing of ours left in dockerd's runc root, no container cgroup left
st=$(ls /run/docker/runtime-runc/moby 2>/dev/null | grep '^vkernel@' | tr '\n' ' ')
cg=$(find "$CPU" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | tr '\n' ' ')
[ -z "$st$cg" ]; report vm.nothing_left $? "state: $st cgroups: $cg"
echo "VKDONE uptime=$(cut -d' ' -f1 /proc/uptime)"
