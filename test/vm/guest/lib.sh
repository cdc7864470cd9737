# shellcheck shell=sh
# Helpers for guest test scripts.
# result NAME COND DETAIL: COND is "0" (pass) or anything else (fail).
result() {
	if [ "$2" = 0 ]; then
		echo "VKTEST $1 PASS $3"
	else
		echo "VKTEST $1 FAIL $3"
	fi
}
# vkend: the last command of every guest script. The harness fails a run in which a script did not
# print this line (it died, or left early without saying FAIL for its remaining checks).
vkend() {
	echo "VKEND ${0##*/}"
}
# fail_all REASON NAME...: FAIL for each check a script cannot run (e.g. a test module that does
# not build on the unpatched kernel), with the reason: an absent check is a harness failure.
fail_all() {
	_r=$1
	shift
	for _n in "$@"; do
		echo "VKTEST $_n FAIL $_r"
	done
}
# check NAME DETAIL CMD...: PASS when CMD succeeds.
check() {
	_n=$1
	_d=$2
	shift 2
	if "$@" >/dev/null 2>&1; then
		echo "VKTEST $_n PASS $_d"
	else
		echo "VKTEST $_n FAIL $_d"
	fi
}

# cgroup2_setup: a tmpfs at /sys/fs/cgroup with cgroup v2 at $u=/sys/fs/cgroup/unified and the cpu
# controller enabled for its children (the real_policy scripts' groups live there)
cgroup2_setup() {
	mkdir -p /sys/fs/cgroup
	mount -t tmpfs cg /sys/fs/cgroup
	u=/sys/fs/cgroup/unified
	mkdir -p $u
	mount -t cgroup2 none $u
	echo +cpu >$u/cgroup.subtree_control
}
# VKR: the runtime as an installation registers it: the C entry point (client/vkernel-client.c,
# which passes what it does not take itself to the sh launcher beside it) when the payload has it
VKR=/opt/vkr/dist/vkernel-runtime
[ -x $VKR ] || VKR=/opt/vkr/bin/vkernel-runtime
# runtime_required CHECKS...: the runtime payload of test/vm/lib/runtime-payload.mjs must be in the
# initramfs; without it every check FAILs with the reason and the script ends (VKEND). Then
# runtime_setup.
runtime_required() {
	if [ ! -x /opt/vkr/bin/vkernel-runtime ]; then
		fail_all "no runtime in the initramfs (VKVM_EXTRA_LIST of test/vm/lib/runtime-payload.mjs)" "$@"
		vkend
		exit 0
	fi
	runtime_setup
}
# runtime_leftovers ID: what is left of container ID under /run/runc (our files beside runc's and
# in its directory, runc's container, its cgroups in every hierarchy), space-separated
runtime_leftovers() {
	_l=""
	for _f in /run/runc/vkernel@"$1".* /run/runc/"$1"/vkernel.json /run/vkernel-runtime/locks/*"$1"*; do
		[ -e "$_f" ] && _l="$_l file:${_f##*/}"
	done
	[ -e "/run/runc/$1" ] && _l="$_l runc-container"
	for _c in /sys/fs/cgroup/*/"$1"; do
		[ -d "$_c" ] && _l="$_l cgroup:${_c#/sys/fs/cgroup/}"
	done
	echo "${_l# }"
}
# cgroup1 CONTROLLER...: each controller's cgroup v1 hierarchy at /sys/fs/cgroup/CONTROLLER (on a
# tmpfs at /sys/fs/cgroup), mounted unless it already is
cgroup1() {
	mkdir -p /sys/fs/cgroup
	grep -q ' /sys/fs/cgroup ' /proc/mounts || mount -t tmpfs cg /sys/fs/cgroup
	for _c in "$@"; do
		mkdir -p /sys/fs/cgroup/$_c
		grep -q " /sys/fs/cgroup/$_c " /proc/mounts || mount -t cgroup -o $_c cgroup /sys/fs/cgroup/$_c
	done
}
# runtime_setup: what a container host has (cgroup v1 hierarchies as on Debian 12, /run) for the
# runtime payload of test/vm/lib/runtime-payload.mjs; sets RT to the runtime with its --root.
runtime_setup() {
	cgroup1 cpu cpuacct cpuset memory pids devices freezer
	mkdir -p /run /var/run /etc
	export PATH=/usr/sbin:/usr/bin:/bin
	RT="$VKR --root /run/runc"
}

# The host's switch of per-namespace features (kernel/README.md "enable"): a namespace the host did
# not enable behaves as on a kernel without vkernel.
VK_ENABLE=/sys/kernel/vkernel/enable
# vk_enable PID WORDS...: one enable line; prints ok or the errno name (ENOENT without the file)
vk_enable() {
	_p=$1
	shift
	vkt write $VK_ENABLE "$_p $*"
}
# wr FILE VALUE: vkt write FILE VALUE (ok or the errno name), or "absent" without FILE
wr() {
	if [ -e "$1" ]; then vkt write "$1" "$2"; else echo absent; fi
}
# ns_child PID: the host pid of PID's first child (the init of the namespace `unshare -p -f` made).
# (Here and below, `2>/dev/null` before `<FILE`: redirections apply in order, and a FILE that went
# away meanwhile, a process that ended, is reported on the stderr in force when `<` fails, which a
# check's captured output would then hold: sched_params.bounds_ns failed so in CI)
ns_child() {
	for _s in /proc/[0-9]*/stat; do
		read -r _cp _cc _cs _cpp _rest 2>/dev/null <"$_s" || continue
		[ "$_cpp" = "$1" ] && echo "$_cp" && return 0
	done
	return 1
}
# ns_start WORDS CMD: runs CMD (a shell command line, with this file's functions) in a new pid namespace (`unshare $NS_FLAGS`,
# default -p -f --mount-proc) in the background, after the host wrote "PID WORDS" to the enable file
# (nothing when WORDS is empty). Sets NS_BG (the unshare process, for `wait`), NS_PID (host pid of
# the namespace's init) and NS_ENABLE (ok, the errno name of the write, or "-" for no write).
ns_start() {
	_go=$(mktemp -u /tmp/ns-go.XXXXXX)
	# shellcheck disable=SC2086
	unshare ${NS_FLAGS:--p -f --mount-proc} sh -c '. /tests/lib.sh; while [ ! -e "$1" ]; do sleep 0.02; done; eval "$2"' sh "$_go" "$2" &
	NS_BG=$!
	NS_PID=
	while [ -z "$NS_PID" ]; do
		NS_PID=$(ns_child $NS_BG) || sleep 0.02
	done
	NS_ENABLE=-
	[ -z "$1" ] || NS_ENABLE=$(vk_enable "$NS_PID" "$1")
	touch "$_go"
}
# ns_run WORDS CMD: ns_start, then wait for it (its output on stdout)
ns_run() {
	ns_start "$@"
	wait $NS_BG
	_rc=$?
	rm -f "$_go"
	return $_rc
}
# wait_for FILE TEXT: until FILE holds TEXT (60 s at most); status: whether it does
wait_for() {
	_i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $_i -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	grep -q "$2" "$1" 2>/dev/null
}
# line FILE LABEL: the value after "LABEL: " in a container's output
line() { sed -n "s/^$2: //p" "$1" | head -1; }
# hackbench_pair CHECK POLICY: issue 16's comparison of the ways to a FIFO group on one load: the
# same message passing (`vkt bench hackbench 10`: 10 loops of 2 groups of 10 sender and 10 receiver
# processes over socketpairs, on every CPU) in a fifo container and a cfs container (bundles hbfifo
# and hbcfs of runtime-payload.mjs: sched.policy only, so `auto` picks this kernel's backend),
# three rounds, the order alternating. CHECK PASSes when every run gave a figure and the fifo
# container's init had scheduling policy POLICY (the backend's mark: 0 SCHED_OTHER in a
# cpu.real_policy group, 1 SCHED_FIFO for rt, 7 SCHED_EXT for scx), with the medians (ms) and fifo/cfs
hackbench_pair() {
	_c=$1 _want=$2 _f="" _s="" _bad="" _pol="" _fp=""
	for _r in 1 2 3; do
		_order="hbfifo hbcfs"
		[ $((_r % 2)) = 0 ] && _order="hbcfs hbfifo"
		for _b in $_order; do
			_o=$($RT run --no-pivot --bundle "/opt/bundles/$_b" "hb-$_b-$_r" </dev/null 2>&1)
			_v=$(echo "$_o" | sed -n 's/.*total_ns=\([0-9]*\).*/\1/p' | head -1)
			_p=$(echo "$_o" | sed -n 's/^policy=\([0-9]*\).*/\1/p' | head -1)
			[ "$_r" = 1 ] && _pol="$_pol $_b:policy=$_p"
			[ "$_b" = hbfifo ] && [ "$_p" != "$_want" ] && _fp=" fifo container's init policy $_p, not $_want (another backend?);"
			if [ -z "$_v" ]; then
				_bad="$_bad $_b round $_r: $(echo "$_o" | tail -n 2 | tr '\n' ' ' | cut -c1-300);"
				continue
			fi
			if [ "$_b" = hbfifo ]; then _f="$_f $((_v / 1000000))"; else _s="$_s $((_v / 1000000))"; fi
		done
	done
	_mf=$(echo $_f | tr ' ' '\n' | sort -n | sed -n 2p)
	_ms=$(echo $_s | tr ' ' '\n' | sort -n | sed -n 2p)
	[ -z "$_bad" ] && [ -z "$_fp" ] && [ -n "$_mf" ] && [ -n "$_ms" ]
	result "$_c" $? "hackbench 10 loops, ms: fifo median ${_mf:-?} (runs$_f), cfs median ${_ms:-?} (runs$_s), fifo/cfs $(awk -v a="${_mf:-0}" -v b="${_ms:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "?" }');$_pol$_fp$_bad"
}

# The rt v2 supervisor as the rt v2 scripts see it (80-rt-v2.sh, 81-rt-v2-systemd.sh): RTV2_LOCKS is
# the runtime's lock directory and RTV2_GROUPS the directory of the supervisors' groups
# (vkernel-rt-<id>, beside the containers'), as paths of this shell.
# policy PID: "policy/rt_priority" of a task
policy() { awk '{print $41 "/" $40}' "/proc/$1/stat" 2>/dev/null; }
# supervisors ID: the supervisor and its sentinel of container ID (their pids)
supervisors() { for p in /proc/[0-9]*; do tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q "vkernel-rt-supervise {\"id\":\"$1\"" && echo "${p#/proc/}"; done; }
# supervisor ID: the supervisor alone, from its group (its sentinel there has "role":"sentinel" in its argument)
supervisor() { for p in $(cat "$RTV2_GROUPS/vkernel-rt-$1/cgroup.procs" 2>/dev/null); do tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q '"role":"sentinel"' || echo "$p"; done; }
# supstats ID: the supervisor's counters (SIGUSR1: it logs them), its last log line
supstats() {
	_f="$RTV2_LOCKS/rt-supervisor@$1.log"
	_n=$(grep -c 'samples,' "$_f" 2>/dev/null)
	kill -USR1 "$(supervisor "$1")" 2>/dev/null
	# it logs them at its next turn of the event loop (once a window: up to 1 s under its self-limit)
	for _i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ "$(grep -c 'samples,' "$_f" 2>/dev/null)" != "$_n" ] && break
		sleep 0.2
	done
	grep 'samples,' "$_f" 2>/dev/null | tail -n 1 | cut -d' ' -f2-
}
# fifospan OUT GROUP HOSTDIR: the CPU time of GROUP and HOSTDIR over 4 s (rtload share -k) and what
# the container's `rtload fifoburn` tasks (their stdout: OUT) counted of theirs in the same span, by
# their own policy: "share wall_us=<t> <GROUP>=<us> <HOSTDIR>=<us> fifo_us=<sum> other_us=<sum>
# reporters=<tasks that reported at both ends>". Their FIFO time is the budget's measure: what a
# demoted task gets beside (CFS) is not RT time.
fifospan() {
	_c0=$(grep -c '^fifoburn ' "$1" 2>/dev/null)
	_m=$(rtload share -k 4000 "$2" "$3")
	# each task reports when it next runs (a demoted one: once it gets a CPU again)
	for _i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ "$(grep -c '^fifoburn ' "$1" 2>/dev/null)" -ge $((_c0 + 4)) ] && break
		sleep 0.2
	done
	_r=$(awk -v skip="$_c0" '$1 == "fifoburn" {
		if (++i <= skip) next
		split($2, p, "="); split($4, f, "="); split($5, o, "="); k = p[2]
		if (!(k in f0)) { f0[k] = f[2]; o0[k] = o[2] } else { f1[k] = f[2]; o1[k] = o[2] }
	} END { for (k in f1) { sf += f1[k] - f0[k]; so += o1[k] - o0[k]; t++ }; printf "fifo_us=%d other_us=%d reporters=%d", sf, so, t }' "$1")
	echo "$_m $_r"
}
# field NAME TEXT: the number after "NAME=" in TEXT
field() { echo "$2" | sed -n "s|.*$1=\([0-9]*\).*|\1|p"; }
# pct2 US WALL_US: US of CPU time as a percentage of 2 CPUs over WALL_US (0 for an empty US)
pct2() { echo $(( ${1:-0} * 100 / (${2:-1} * 2) )); }
# fifobounds BEFORE AFTER WALL_US [LEAST]: the FIFO share (% of 2 CPUs) a busy container of the
# default 25 % budget gets over a span of WALL_US, as "LEAST MOST", given its supervisor's counters
# (supstats) before the span and its log from then to its counters after (supstats again). Its window
# W is the widest it had there: in its counters, or set in the span by its self-limit ("window A -> W
# ms"). Each window's FIFO time is used at its start, so the span's ends cut one window: it may hold
# up to one window's budget more or less than 25 %. MOST: 31 (100 ms windows and an overrun up to a
# sweep), more by the budget of a window wider than 100 ms. LEAST: LEAST (20 unless given), less one
# window's budget and the time its self-limit made it wait in the span (a window starts only when it
# samples again), less 1 for the rounding. "LEAST 31" where a counter is missing.
fifobounds() {
	printf '%s\n%s\n' "$1" "$2" | awk -v wall="${3:-0}" -v least="${4:-20}" '
		match($0, /window [0-9]+ ms/) { w = substr($0, RSTART + 7, RLENGTH - 10) + 0; if (w > win) win = w }
		match($0, /-> [0-9]+ ms, sweep/) { w = substr($0, RSTART + 3, RLENGTH - 13) + 0; if (w > win) win = w }
		match($0, /wait\(s\) of [0-9.]+ ms/) { x = substr($0, RSTART + 10, RLENGTH - 13) + 0; if (NR == 1) w0 = x; else w1 = x; n++ }
		END {
			lo = least; hi = 31
			if (n >= 2 && wall > 0 && win > 0) {
				g = int(25 * (wall / 1000 - win - (w1 - w0)) / (wall / 1000)) - 1; if (g < lo) lo = g
				if (win > 100) hi += int(25 * (win - 100) / (wall / 1000))
			}
			print lo, hi
		}'
}
# supwaited BEFORE AFTER: the ms (whole) its self-limit made the supervisor wait between its
# counters BEFORE and AFTER (supstats); empty where either lacks them
supwaited() {
	printf '%s\n%s\n' "$1" "$2" | awk '
		match($0, /wait\(s\) of [0-9.]+ ms/) { x[n++] = substr($0, RSTART + 10, RLENGTH - 13) + 0 }
		END { if (n == 2) printf "%d\n", x[1] - x[0] + 0.999 }'
}
# suplog ID LINE: the supervisor's log after its line LINE
suplog() { tail -n +"$(($2 + 1))" "$RTV2_LOCKS/rt-supervisor@$1.log" 2>/dev/null; }
# loglines ID: how many lines the supervisor's log has
loglines() { wc -l 2>/dev/null <"$RTV2_LOCKS/rt-supervisor@$1.log" || echo 0; }
# holders: the RT ledger's holders
holders() { tr -d ' \n' 2>/dev/null <"$RTV2_LOCKS/rt-ledger.json" | grep -o '"holders":{[^}]*' | sed 's/"holders":{//'; }
