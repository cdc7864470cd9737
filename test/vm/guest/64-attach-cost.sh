# vkvm-icount: 0
# What a system call costs around a vkernel attachment, as path length (issue 18). The boot runs
# under qemu -icount (run-vm.sh: the header above, 1 vCPU): the guest's clock advances 1 ns per
# executed instruction, so a time measured here counts instructions, whatever the host's load, and
# the same boot gives the same figures. Nothing else runs during a measurement: namespace A waits
# on a FIFO (no polling) until the host tells it to measure, and the host waits for it.
#   before  a task of the initial namespace, no attachment exists
#   after   a task of the initial namespace while A is attached (modules/testattach; its deny list
#           is mkdir only, in each entry's numbering: getppid and futex are allowed)
#   inside  a task of A, created after the attach
# Checks (their thresholds: kernel/README.md "Cost model"):
#   attach_cost.table_in_use           the attachment is real: mkdir fails with EPERM in A
#   attach_cost.unattached_unchanged   getppid() in the initial namespace costs the same after an
#                                      attach elsewhere as before any (at most 0.1 % more)
#   attach_cost.attached_within_5pct   getppid() in A costs at most 5 % more than outside
# Every figure is printed: VKCOST place=<p> op=getppid|futex round=<r> total_ns=<t> n=<n>.
. /tests/lib.sh
ko=/lib/modules/testattach.ko
NG=100000
NF=2000
ROUNDS=3
checks="attach_cost.table_in_use attach_cost.unattached_unchanged attach_cost.attached_within_5pct"
if [ ! -d /sys/kernel/vkernel ]; then
	fail_all "no /sys/kernel/vkernel: not a vkernel kernel, nothing to attach" $checks
	vkend
	exit 0
fi
if [ ! -e $ko ]; then
	fail_all "testattach.ko absent (does not build for this kernel)" $checks
	vkend
	exit 0
fi

# cost PLACE OP ROUND [CMD-PREFIX]: one measurement, as a VKCOST line
cost() {
	n=$NG
	[ "$2" = futex ] && n=$NF
	v=$(vkt bench "$2" $n)
	echo "VKCOST place=$1 op=$2 round=$3 ${v#* }" | tee -a /tmp/cost.out
}
hostns=$(readlink /proc/self/ns/pid)
: >/tmp/cost.out
r=1
mk=
while [ $r -le $ROUNDS ]; do
	rm -rf /tmp/c.*
	mkfifo /tmp/c.go
	# A: blocked on the FIFO until after the attach, then measures (its vkt processes are
	# forked after the attach) and tries mkdir
	unshare -p -f sh -c "read x </tmp/c.go
		for op in getppid futex; do
			n=$NG; [ \$op = futex ] && n=$NF
			v=\$(vkt bench \$op \$n)
			echo \"VKCOST place=inside op=\$op round=$r \${v#* }\" | tee -a /tmp/cost.out
		done
		mkdir /tmp/c.d 2>&1 | grep -c 'not permitted' >/tmp/c.mk" &
	upid=$!
	apid=
	while [ -z "$apid" ]; do
		for q in /proc/[0-9]*; do
			ns=$(readlink $q/ns/pid 2>/dev/null) || continue
			[ "$ns" != "$hostns" ] && apid=${q#/proc/} && break
		done
	done
	cost before getppid $r
	cost before futex $r
	if ! out=$(insmod $ko pid=$apid deny=83 deny_x32=83 deny_ia32=39 futex=64 2>&1); then
		fail_all "insmod testattach pid=$apid: $out" $checks
		vkend
		exit 0
	fi
	cost after getppid $r
	cost after futex $r
	echo go >/tmp/c.go
	wait $upid
	mk="$mk$(cat /tmp/c.mk 2>/dev/null)"
	i=0
	until rmmod testattach 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && echo "VKCOST error rmmod" && break
		sleep 0.05
	done
	r=$((r + 1))
done
[ "$mk" = "111" ]
result attach_cost.table_in_use $? "mkdir in A refused with EPERM in each of 3 rounds: $mk"
# ratio A B OP: the largest, over the rounds, of A's total over B's (4 decimals)
ratio() {
	awk -v a="$1" -v b="$2" -v op="$3" '
		/^VKCOST place=/ {
			split($2, p, "="); split($3, o, "="); split($4, rr, "="); split($5, t, "=")
			if (o[2] == op) v[p[2] "," rr[2]] = t[2]
		}
		END {
			m = 0
			for (r = 1; (a "," r) in v; r++) {
				if (!((b "," r) in v) || v[b "," r] == 0) { print "none"; exit }
				x = v[a "," r] / v[b "," r]
				if (x > m) m = x
			}
			if (m == 0) print "none"; else printf "%.4f\n", m
		}' /tmp/cost.out
}
# per call, 2 decimals: "before/after/inside" of each round
percall() {
	awk -v op="$1" '
		/^VKCOST place=/ {
			split($2, p, "="); split($3, o, "="); split($4, rr, "="); split($5, t, "="); split($6, n, "=")
			if (o[2] == op) s[rr[2]] = s[rr[2]] sprintf("%s=%.2f ", p[2], t[2] / n[2])
		}
		END { for (r = 1; r in s; r++) printf "round %d: %s; ", r, s[r] }' /tmp/cost.out
}
ua=$(ratio after before getppid)
awk -v x="$ua" 'BEGIN { exit !(x != "none" && x <= 1.001) }'
result attach_cost.unattached_unchanged $? "getppid in the initial namespace, largest after/before $ua (at most 1.0010); ns (instructions) per call: $(percall getppid)"
ia=$(ratio inside after getppid)
awk -v x="$ia" 'BEGIN { exit !(x != "none" && x <= 1.05) }'
result attach_cost.attached_within_5pct $? "getppid in A, largest inside/after $ia (at most 1.05); futex round trips: inside/after $(ratio inside after futex), after/before $(ratio after before futex); ns per round trip: $(percall futex)"
vkend
