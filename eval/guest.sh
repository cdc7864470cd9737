#!/bin/bash
# Guest half of `npm run eval` (eval/run.ts): runs in the VM booted from the Dockerfile.vm image
# (as /vkvm/run.sh, dockerd already up; scripts/vm-boot.sh), with /vkvm/eval.env (sizes and which
# experiments), /vkvm/vkt (test/vm/guest/vkt.c, static) and /vkvm/nginx.conf beside it.
# Prints one line per measurement, parsed by eval/lib/parse.ts:
#   VKEVAL <experiment> <config> <param> <rep> <value>      (units: see eval/lib/experiments.ts)
#   VKEVALINFO <key> <text...>                              (facts: versions, checks, fallbacks)
# and VKEVALDONE at the end. Containers see the VM's /usr (read-only bind mounts): hackbench,
# nginx, wrk, pwgen come from the image's Debian packages, the container image is vkernel/busybox.
set -u
. /vkvm/eval.env
ms() { echo $(($(date +%s%N) / 1000000)); }
now_ns() { date +%s%N; }
info() { echo "VKEVALINFO $*"; }
has() { case " $EXPS " in *" $1 "*) return 0 ;; esac; return 1; }
# mark EXP: the seconds the previous experiment took (VKEVALINFO phase), then EXP starts
mark() {
	local now
	now=$(date +%s)
	[ -n "${LAST_EXP:-}" ] && has "$LAST_EXP" && info phase "$LAST_EXP $((now - LAST_T)) s"
	# every experiment after this needs dockerd (the OOM killer took it once: eval/run.ts VKVM_MEM)
	[ -n "${LAST_EXP:-}" ] && ! docker info >/dev/null 2>&1 && info dockerd_gone "after $LAST_EXP: dockerd does not answer; $(dmesg | grep -i 'out of memory' | tail -n 1)"
	LAST_EXP=$1
	LAST_T=$now
}
# an experiment that cannot run says why, and the others still run
MNT=(-v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro -v /vkvm:/vkvm:ro
	-v /etc/passwd:/etc/passwd:ro -v /etc/group:/etc/group:ro)
IMG=vkernel/busybox
PATCHED=0
[ -d /sys/kernel/vkernel ] && PATCHED=1
info kernel "$(uname -r) patched=$PATCHED abi=$(cat /sys/kernel/vkernel/abi_version 2>/dev/null || echo none) cpus=$(nproc)"
info versions "docker $(docker version --format '{{.Server.Version}}' 2>/dev/null) runc $(runc --version 2>/dev/null | head -n1 | cut -d' ' -f3) crun $(crun --version 2>/dev/null | head -n1 | cut -d' ' -f3) hackbench rt-tests $(dpkg-query -W -f '${Version}' rt-tests 2>/dev/null) nginx $(dpkg-query -W -f '${Version}' nginx-light 2>/dev/null) wrk $(dpkg-query -W -f '${Version}' wrk 2>/dev/null) pwgen $(dpkg-query -W -f '${Version}' pwgen 2>/dev/null)"

# crun wants every v1 controller the kernel has mounted
awk 'NR > 1 && $4 == 1 { print $1 }' /proc/cgroups | while read -r c; do
	[ -d "/sys/fs/cgroup/$c" ] && continue
	mkdir -p "/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" ||
		info cgroup_mount "$c failed"
done
# ... and opens <root>/blkio/<cgroup path> for docker's (empty) linux.resources.blockIO even though
# this kernel has no block layer (CONFIG_BLOCK off, so no blkio controller): a named hierarchy of
# that name, without controllers, gives it the directory (crun makes it as for name=systemd; with
# an empty blockIO it writes nothing there). runc ignores named hierarchies it does not know.
if ! awk '$1 == "blkio"' /proc/cgroups | grep -q . && [ ! -d /sys/fs/cgroup/blkio ]; then
	mkdir -p /sys/fs/cgroup/blkio && mount -t cgroup -o none,name=blkio cgroup /sys/fs/cgroup/blkio ||
		info cgroup_mount "name=blkio failed"
fi
# crun registered beside runc and vkernel-runtime (dockerd reloads runtimes on SIGHUP)
python3 - <<'EOF'
import json
p = '/etc/docker/daemon.json'
c = json.load(open(p))
c.setdefault('runtimes', {})['crun'] = {'path': '/usr/bin/crun'}
json.dump(c, open(p, 'w'), indent=2)
EOF
kill -HUP "$(pidof dockerd)"
sleep 1
info runtimes "$(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')"

# RT budget for the containers that run chrt -f (the guest kernel has CONFIG_RT_GROUP_SCHED: a
# group with cpu.rt_runtime_us=0, docker's default, refuses SCHED_FIFO even to a privileged task)
mkdir -p /sys/fs/cgroup/cpu/docker
echo 950000 >/sys/fs/cgroup/cpu/docker/cpu.rt_runtime_us 2>/dev/null ||
	info rt_budget "parent /docker: $(cat /sys/fs/cgroup/cpu/docker/cpu.rt_runtime_us)"
RT=(--cpu-rt-runtime=900000)

# runtime configurations: name → docker run arguments
declare -A RUN
RUN[runc]="--runtime=runc"
RUN[crun]="--runtime=crun"
RUN[vk-none]="--runtime=vkernel-runtime"
RUN[vk-fifo]="--runtime=vkernel-runtime -e VKERNEL_SCHED_POLICY=fifo"
RUN[vk-module]="--runtime=vkernel-runtime -e VKERNEL_MODULE=true"
RUN[vk-log]="--runtime=vkernel-runtime -e VKERNEL_LOG=private"
RUN[vk-all]="--runtime=vkernel-runtime -e VKERNEL_SCHED_POLICY=fifo -e VKERNEL_MODULE=true -e VKERNEL_SCHED_WAKEUP_GRANULARITY_NS=3000000 -e VKERNEL_MM_OVERCOMMIT_MEMORY=1 -e VKERNEL_MM_THP=never -e VKERNEL_LOG=private"
RUN[vk-adaptive]="--runtime=vkernel-runtime -e VKERNEL_SCHED_POLICY=adaptive"
dr() { # CONFIG ARGS...: docker run --rm --network none with CONFIG's arguments
	local c=$1
	shift
	# shellcheck disable=SC2086
	docker run --rm --network none ${RUN[$c]} "$@"
}
rotate() { # ROUND WORDS...: WORDS rotated by ROUND (interleaving: no configuration always first)
	local r=$1
	shift
	local a=("$@") n=$# i
	for ((i = 0; i < n; i++)); do echo "${a[$(((i + r) % n))]}"; done
}

HB_SWEEP='for m in threads processes; do f=-T; [ $m = processes ] && f=-P;
  for l in $LOOPS; do t=$($CHRT hackbench -p $f -g $HB_GROUPS -l $l 2>&1 | sed -n "s/^Time: //p");
  echo "HB $m $l ${t:-nan}"; done; done'
bench_in() { # CONFIG ARGS: `vkt bench ARGS` (shell words) in a container of CONFIG (host: the VM
	# itself); ns per operation, one line per bench
	if [ "$1" = host ]; then sh -c "/vkvm/vkt bench $2"; else dr "$1" -v /vkvm:/vkvm:ro $IMG sh -c "/vkvm/vkt bench $2"; fi 2>&1 |
		sed -n 's/.*total_ns=\([0-9]*\) n=\([0-9]*\).*/\1 \2/p' | awk '{ printf "%.3f\n", $1 / $2 }'
}

# --- 0. cost for everyone else: the VM itself, before any vkernel container ran in this boot (the
# patched kernel's static keys are still off), compared across boots with the unpatched kernel
mark cost
if has cost; then
	for ((r = 1; r <= REPS_COST; r++)); do
		out=$(LOOPS=$LOOPS HB_GROUPS=$HB_GROUPS CHRT= sh -c "$HB_SWEEP")
		printf '%s\n' "$out" | awk -v r="$r" '$1 == "HB" { print "VKEVAL cost_hackbench_" $2 " host " $3 " " r " " $4 }'
		echo "VKEVAL cost_getppid host - $r $(bench_in host "getppid $N_GETPPID")"
	done
fi

# --- 1. start-up: wall time of docker run --rm of busybox `true`, interleaved ---------------------
mark startup
if has startup; then
	read -ra cfgs <<<"$START_CFGS"
	for c in "${cfgs[@]}"; do # one warm-up each (module cache, image layers)
		[ "$WARM" = 1 ] || break
		dr "$c" $IMG true >/tmp/warm.out 2>&1 || info startup_error "$c: $(tail -c 300 /tmp/warm.out | tr '\n' ' ')"
	done
	for ((r = 1; r <= REPS_START; r++)); do
		for c in $(rotate $r "${cfgs[@]}"); do
			t0=$(now_ns)
			if dr "$c" $IMG true >/dev/null 2>&1; then
				echo "VKEVAL startup $c - $r $((($(now_ns) - t0) / 1000))"
			else
				info startup_error "$c round $r failed"
			fi
		done
	done
fi

# --- 1b. the kernel log: what dmesg shows inside a container -----------------------------------
mark dmesg
if has dmesg; then
	echo "eval: a line of the VM's own" >/dev/kmsg
	# each container may read the log (CAP_SYSLOG) and write to it (/dev/kmsg, which docker leaves out)
	host=$(dmesg | wc -l)
	for c in $DMESG_CFGS; do
		# shellcheck disable=SC2016
		out=$(dr "$c" --cap-add SYSLOG --device /dev/kmsg $IMG sh -c 'echo "eval: a line of container $0" >/dev/kmsg 2>/dev/null; dmesg' "$c" 2>&1)
		n=$(printf '%s\n' "$out" | grep -c .)
		own=$(printf '%s\n' "$out" | grep -c "eval: a line of container $c\$")
		others=$(printf '%s\n' "$out" | grep -c 'eval: a line of container')
		vm=$(printf '%s\n' "$out" | grep -c "eval: a line of the VM's own")
		info dmesg "$c lines=$n vm_lines=$host container_line=$own other_containers_lines=$((others - own)) vm_line_seen=$vm"
	done
fi

# --- 1c. the deck's scene: N containers with modules started at once (beside the other isolation
# facts, before the long timing experiments: a run cut by --timeout still answers the deck's claim 1)
mark scene
if has scene; then
	read -ra cfgs <<<"$SCENE_CFGS"
	for ((r = 1; r <= REPS_SCENE; r++)); do
		for c in $(rotate $r "${cfgs[@]}"); do
			t0=$(now_ns)
			for ((i = 1; i <= SCENE_N; i++)); do
				# shellcheck disable=SC2086
				docker run -d --network none ${RUN[$c]} --name "scene$i" $IMG sleep 600 >/dev/null 2>&1 &
			done
			wait
			t1=$(now_ns)
			up=$(docker ps -q --filter name=scene | wc -l)
			mods=$(lsmod | awk 'NR > 1 && /^vkernel_/' | wc -l)
			own=0
			for ((i = 1; i <= SCENE_N; i++)); do
				id=$(docker inspect -f '{{.Id}}' "scene$i" 2>/dev/null | cut -c1-12)
				lsmod | grep -q "^vkernel_$id " && own=$((own + 1))
			done
			t2=$(now_ns)
			docker rm -f $(docker ps -aq --filter name=scene) >/dev/null 2>&1
			t3=$(now_ns)
			left=$(lsmod | awk 'NR > 1 && /^vkernel_/' | wc -l)
			echo "VKEVAL scene_start $c $SCENE_N $r $(((t1 - t0) / 1000))"
			echo "VKEVAL scene_remove $c $SCENE_N $r $(((t3 - t2) / 1000))"
			info scene "$c round=$r running=$up modules=$mods named_after_their_container=$own modules_after_rm=$left"
		done
	done
fi

# --- 2. scheduling: hackbench (rt-tests) pipe mode, threads and processes, over loops -------------
# one process of each configuration runs the whole sweep per round; rounds interleave configurations
hb() { # CONFIG ROUND
	local c=$1 r=$2 out
	case $c in
	host-cfs) out=$(LOOPS=$LOOPS HB_GROUPS=$HB_GROUPS CHRT= sh -c "$HB_SWEEP") ;;
	host-fifo) out=$(LOOPS=$LOOPS HB_GROUPS=$HB_GROUPS CHRT="chrt -f 1" sh -c "$HB_SWEEP") ;;
	ctr-normal) out=$(dr runc "${MNT[@]}" -e LOOPS="$LOOPS" -e HB_GROUPS="$HB_GROUPS" -e CHRT= $IMG sh -c "$HB_SWEEP") ;;
	ctr-nice-fifo | ctr-priv-fifo)
		local extra=(--cap-add SYS_NICE)
		[ $c = ctr-priv-fifo ] && extra=(--privileged)
		out=$(dr runc "${extra[@]}" "${RT[@]}" "${MNT[@]}" -e LOOPS="$LOOPS" -e HB_GROUPS="$HB_GROUPS" -e CHRT="chrt -f 1" $IMG sh -c "$HB_SWEEP") ;;
	vk-fifo | vk-adaptive) out=$(dr $c "${MNT[@]}" -e LOOPS="$LOOPS" -e HB_GROUPS="$HB_GROUPS" -e CHRT= $IMG sh -c "$HB_SWEEP") ;;
	esac
	printf '%s\n' "$out" | awk -v c="$c" -v r="$r" '$1 == "HB" { print "VKEVAL hackbench_" $2 " " c " " $3 " " r " " $4 } $1 != "HB" { print "VKEVALINFO hackbench_output " c " " $0 }'
}
mark sched
if has sched; then
	# can each configuration get SCHED_FIFO? (the deck's normal container cannot; recorded, not assumed)
	[ "$CHRT_CHECKS" = 1 ] && info chrt "host: $(chrt -f 1 true 2>&1 && echo ok)"
	[ "$CHRT_CHECKS" = 1 ] && info chrt "ctr-normal: $(dr runc "${MNT[@]}" $IMG chrt -f 1 true 2>&1 && echo ok)"
	[ "$CHRT_CHECKS" = 1 ] && info chrt "ctr-nice-no-budget: $(dr runc --cap-add SYS_NICE "${MNT[@]}" $IMG chrt -f 1 true 2>&1 && echo ok)"
	[ "$CHRT_CHECKS" = 1 ] && info chrt "ctr-nice-fifo: $(dr runc --cap-add SYS_NICE "${RT[@]}" "${MNT[@]}" $IMG chrt -f 1 true 2>&1 && echo ok)"
	[ "$CHRT_CHECKS" = 1 ] && info chrt "ctr-priv-fifo: $(dr runc --privileged "${RT[@]}" "${MNT[@]}" $IMG chrt -f 1 true 2>&1 && echo ok)"
	read -ra cfgs <<<"$SCHED_CFGS"
	for ((r = 1; r <= REPS_SCHED; r++)); do
		for c in $(rotate $r "${cfgs[@]}"); do hb "$c" $r; done
	done
fi

# --- 3. per-container wakeup granularity: two containers at once, a sleeper beside a CPU hog ------
mark wakeup
if has wakeup; then
	for ((r = 1; r <= REPS_WAKE; r++)); do
		for g in $WAKE_GRANS; do
			docker run -d --network none --runtime=vkernel-runtime -e VKERNEL_SCHED_WAKEUP_GRANULARITY_NS="$g" \
				-v /vkvm:/vkvm:ro --name "wake$g" $IMG /vkvm/vkt wakelat "$WAKE_N" raw >/dev/null 2>&1
		done
		for g in $WAKE_GRANS; do
			docker wait "wake$g" >/dev/null 2>&1
			docker logs "wake$g" 2>&1 | awk -v g="$g" -v r="$r" -F= '$1 == "lat_us" { print "VKEVAL wakeup gran_" g " " NR " " r " " $2 }'
			info wakeup "gran=$g round=$r $(docker logs "wake$g" 2>&1 | grep median)"
			docker rm -f "wake$g" >/dev/null 2>&1
		done
	done
fi

# --- 4. syscall entry and futex paths ------------------------------------------------------------
mark paths
if has paths; then
	read -ra cfgs <<<"$PATHS_CFGS"
	read -ra fcfgs <<<"$FUTEX_CFGS"
	for ((r = 1; r <= REPS_PATHS; r++)); do
		for c in $(rotate $r "${cfgs[@]}"); do
			# both operations in one container (each docker run costs ~10 s under TCG)
			set -- $(bench_in "$c" "getppid $N_GETPPID; /vkvm/vkt bench futex $N_FUTEX")
			echo "VKEVAL getppid $c - $r ${1:-nan}"
			echo "VKEVAL futex $c - $r ${2:-nan}"
		done
		# contention: K containers at once, each a futex ping-pong; global table (runc) vs private
		# tables (the module)
		for c in $(rotate $r "${fcfgs[@]}"); do
			for ((k = 1; k <= FUTEX_K; k++)); do bench_in "$c" "futex $N_FUTEX" >"/tmp/fk$k" & done
			wait
			for ((k = 1; k <= FUTEX_K; k++)); do echo "VKEVAL futex_concurrent $c $k $r $(cat "/tmp/fk$k")"; done
		done
	done
	# collisions: a runc container of CROWD_N threads, each waiting on a futex of its own, fills the
	# global hash table's buckets (512 for 2 CPUs), which every futex wake there walks; then the
	# ping-pong in each configuration beside it: global table (runc) vs the module's private table
	if [ "${CROWD_N:-0}" -gt 0 ] && [ -n "${fcfgs[*]}" ]; then
		crowd=1
		docker run -d --network none --name vkcrowd ${RUN[runc]} -v /vkvm:/vkvm:ro $IMG \
			/vkvm/vkt futex-wait "$CROWD_N" 3600 >/tmp/crowd.id 2>&1 || { crowd=0; info futex_crowd "start: $(tail -c 300 /tmp/crowd.id)"; }
		# until every waiter waits (at most ~60 s), or the container is gone
		for ((i = 0; crowd && i < 300; i++)); do
			docker logs vkcrowd 2>&1 | grep -q '^waiting' && break
			[ "$(docker inspect -f '{{.State.Running}}' vkcrowd 2>/dev/null)" = true ] || break
			sleep 0.2
		done
		info futex_crowd "$(docker logs vkcrowd 2>&1 | tail -n1) $(awk '$1 == "Threads:" { print "threads=" $2 }' "/proc/$(docker inspect -f '{{.State.Pid}}' vkcrowd 2>/dev/null)/status" 2>/dev/null)"
		for ((r = 1; r <= REPS_PATHS; r++)); do
			for c in $(rotate $r "${fcfgs[@]}"); do # three ping-pongs per container
				bench_in "$c" "futex $N_FUTEX; /vkvm/vkt bench futex $N_FUTEX; /vkvm/vkt bench futex $N_FUTEX" |
					awk -v c="$c" -v r="$r" '{ print "VKEVAL futex_crowd " c " " NR " " r " " $1 }'
			done
		done
		docker rm -f vkcrowd >/dev/null 2>&1
	fi
fi

# --- 5. applications: nginx + wrk, pwgen ------------------------------------------------------------
mark apps
if has apps; then
	read -ra cfgs <<<"$APPS_CFGS"
	mkdir -p /tmp/www && head -c 4096 /dev/urandom | base64 >/tmp/www/index.html
	for ((r = 1; r <= REPS_APPS; r++)); do
		for c in $(rotate $r "${cfgs[@]}"); do
			# shellcheck disable=SC2086
			docker run -d --network none ${RUN[$c]} "${MNT[@]}" -v /tmp/www:/www:ro --tmpfs /var/lib/nginx --tmpfs /var/log/nginx \
				--tmpfs /run --name ngx $IMG /usr/sbin/nginx -c /vkvm/nginx.conf >/tmp/ngx.out 2>&1 ||
				info nginx_error "$c: $(tail -c 300 /tmp/ngx.out | tr '\n' ' ')"
			# one client container: waits for nginx (1 s probes), then measures
			# shellcheck disable=SC2016
			rps=$(docker run --rm --network container:ngx "${MNT[@]}" -e C="$WRK_CONN" -e D="$WRK_SECS" $IMG sh -c '
				i=0; until wrk -t1 -c1 -d1s http://127.0.0.1:8080/ >/dev/null 2>&1 || [ $i -gt 30 ]; do i=$((i + 1)); sleep 0.3; done
				wrk -t1 -c"$C" -d"${D}s" http://127.0.0.1:8080/' 2>&1 | sed -n 's/^Requests\/sec: *//p')
			echo "VKEVAL nginx_rps $c - $r ${rps:-nan}"
			[ -n "$rps" ] || info nginx_error "$c round $r: no wrk figure; nginx: $(docker logs ngx 2>&1 | tail -c 400 | tr '\n' ' ') state: $(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' ngx 2>&1)"
			docker rm -f ngx >/dev/null 2>&1
			t0=$(now_ns)
			t=$(dr "$c" "${MNT[@]}" $IMG sh -c "t0=\$(date +%s%N); pwgen -s 16 $PWGEN_N >/dev/null; echo \$(((\$(date +%s%N) - t0) / 1000))")
			echo "VKEVAL pwgen_run_us $c - $r $((($(now_ns) - t0) / 1000))"
			echo "VKEVAL pwgen_us $c - $r ${t:-nan}"
		done
	done
fi


left=$(docker ps -aq | wc -l)
mark end
info leftovers "containers=$left modules=$(lsmod | awk 'NR > 1 && /^vkernel_/' | wc -l)"
echo "VKEVALDONE uptime=$(cut -d' ' -f1 /proc/uptime)"
