# Guest half of `npm run bench:kernel` (bench/kernel.mjs): the syscall path's cost in the places of
# issue 18's table, inside one boot, and the scheduler's hot path (issue 11) where no task group
# ever used cpu.real_policy. bench/kernel.mjs writes /tests/bench.env first (ROUNDS, N_GETPPID,
# N_FUTEX, N_CTXSW, N_HACKBENCH, N_CROWD). Every measurement prints
#   VKBENCH place=<place> op=getppid|futex|ctxsw|hackbench round=<r> ns_per_op=<ns>
# ctxsw (pipe round trips between two processes on CPU 0) and hackbench (2 groups of 10 senders and
# 10 receivers on every CPU, ns per message) run in places unpatched and before only: nothing in
# this boot writes cpu.real_policy, so the patched kernel's FIFO static key stays off.
# places: unpatched (no /sys/kernel/vkernel), before (patched, no attachment exists), after (patched,
# initial namespace, while namespace A is attached), inside (a task of A); with N_CROWD > 0 also
# unpatched_crowd, after_crowd, inside_crowd (the futex ping-pong beside a crowd of waiters, below). Each round on the patched
# kernel starts with no attachment (the last round's namespace is gone and its module unloaded, so
# the static key is off again), starts a new namespace A (its command loop), measures `before`,
# attaches modules/testattach to A with a deny list of mkdir only (not getppid, not futex), then
# measures `after` and `inside` (their order alternates between rounds), then ends A and unloads the
# module.
. /tests/lib.sh
. /tests/bench.env
ko=/lib/modules/testattach.ko

sched_bench() { # PLACE ROUND: the scheduler operations, in the initial namespace
	echo "VKBENCH place=$1 op=ctxsw round=$2 $(vkt bench ctxsw "$N_CTXSW")"
	echo "VKBENCH place=$1 op=hackbench round=$2 $(vkt bench hackbench "$N_HACKBENCH")"
}
bench() { # PLACE ROUND [RUNNER]: both operations in PLACE
	for op in getppid futex; do
		n=$N_GETPPID
		[ $op = futex ] && n=$N_FUTEX
		if [ -n "$3" ]; then
			v=$(in_a "vkt bench $op $n")
		else
			v=$(vkt bench $op $n)
		fi
		echo "VKBENCH place=$1 op=$op round=$2 $v"
	done
}
# in_a CMD: run CMD in namespace A (a new process of A for each command). A and the host hand
# commands and results over FIFOs: whichever side waits is blocked, not polling, so nothing runs
# beside a measurement.
in_a() {
	echo "$1" >/tmp/b.cmd
	read -r _ </tmp/b.done
	cat /tmp/b.res
}
start_a() {
	rm -f /tmp/b.*
	mkfifo /tmp/b.cmd /tmp/b.done
	unshare -p -f --mount-proc sh -c '
		readlink /proc/self/ns/pid >/tmp/b.ans
		while read -r c </tmp/b.cmd; do
			[ "$c" = end ] && break
			sh -c "$c" >/tmp/b.res 2>&1
			echo done >/tmp/b.done
		done' &
	while [ ! -s /tmp/b.ans ]; do sleep 0.05; done
	ans=$(cat /tmp/b.ans)
	apid=
	for q in /proc/[0-9]*; do
		[ "$(readlink $q/ns/pid 2>/dev/null)" = "$ans" ] && apid=${q#/proc/} && break
	done
}

# The crowd: N_CROWD threads of the initial namespace each waiting on a futex of its own; their
# waiters fill the global hash table's buckets, which every wake there walks. crowd_bench ROUND:
# the futex ping-pong again after (initial namespace) and inside A (whose futexes hash into its
# private table) with the crowd waiting; crowd_only PLACE ROUND: in the initial namespace only.
crowd_start() {
	vkt futex-wait "$N_CROWD" 3600 >/tmp/crowd.out 2>&1 &
	cpid=$!
	until grep -q waiting /tmp/crowd.out 2>/dev/null; do
		if ! kill -0 "$cpid" 2>/dev/null; then
			echo "VKBENCH error crowd: $(tr '\n' ' ' </tmp/crowd.out)"
			vkend
			exit 1
		fi
		sleep 0.05
	done
	sleep 1
}
crowd_stop() {
	kill "$cpid"
	wait "$cpid" 2>/dev/null
}
crowd_bench() {
	crowd_start
	order="after_crowd inside_crowd"
	[ $(($1 % 2)) = 0 ] && order="inside_crowd after_crowd"
	for place in $order; do
		if [ "$place" = inside_crowd ]; then
			v=$(in_a "vkt bench futex $N_FUTEX")
		else
			v=$(vkt bench futex "$N_FUTEX")
		fi
		echo "VKBENCH place=$place op=futex round=$1 $v"
	done
	crowd_stop
}
crowd_only() {
	crowd_start
	echo "VKBENCH place=$1_crowd op=futex round=$2 $(vkt bench futex "$N_FUTEX")"
	crowd_stop
}

# only_place PLACE: every round of every operation in PLACE, then the end of the boot
only_place() {
	r=1
	while [ $r -le "$ROUNDS" ]; do
		bench "$1" $r
		sched_bench "$1" $r
		[ "${N_CROWD:-0}" -gt 0 ] && crowd_only "$1" $r
		r=$((r + 1))
	done
	vkend
	exit 0
}

[ -d /sys/kernel/vkernel ] || only_place unpatched
if [ ! -e $ko ]; then
	# a patched kernel without the module (a prefix of the series below the syscall table, or
	# bench/kernel.mjs --no-attach): the place `before` only, to find which patch adds a cost
	echo "VKBENCH note testattach.ko absent: place before only"
	only_place before
fi
r=1
while [ $r -le "$ROUNDS" ]; do
	# A waits for commands, blocked on a FIFO; started before `before` so that every place is
	# measured with the same tasks in the system
	start_a
	bench before $r
	sched_bench before $r
	if ! out=$(insmod $ko pid=$apid deny=83 deny_x32=83 deny_ia32=39 2>&1); then
		echo "VKBENCH error insmod: $out"
		break
	fi
	# the deny list works (so the table is in use), getppid is not in it
	echo "VKBENCH check round=$r mkdir_in_a=$(in_a 'mkdir /tmp/b.d.$$ 2>&1 | grep -c "not permitted"')"
	if [ $((r % 2)) = 1 ]; then
		bench after $r
		bench inside $r in_a
	else
		bench inside $r in_a
		bench after $r
	fi
	[ "${N_CROWD:-0}" -gt 0 ] && crowd_bench $r
	echo end >/tmp/b.cmd
	wait
	i=0
	until rmmod testattach 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && echo "VKBENCH error rmmod" && break
		sleep 0.05
	done
	r=$((r + 1))
done
vkend
