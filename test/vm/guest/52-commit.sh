# Commit accounting per namespace (issue 12 §2, kernel/README.md "mm_policy"): a namespace's
# overcommit mode never loosens a limit set above it (the host's, a parent namespace's), and a
# namespace in mode 2 is limited by its own commitments, not by everyone else's. Memory is only
# committed (private writable mappings never touched), never used.
. /tests/lib.sh
MP="mm_policy sysctl_write"
om=/proc/sys/vm/overcommit_memory
orr=/proc/sys/vm/overcommit_ratio
names="overcommit.host_limit_holds overcommit.host_allocates overcommit.ns_own_accounting overcommit.nested_no_loosening"
# meminfo FIELD: the value in kB
meminfo() { sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo; }
# wait_line FILE: until FILE has a committed= line (60 s at most); no fork while memory is short
wait_line() {
	_i=0
	while [ $_i -lt 600 ]; do
		_l=
		read -r _l 2>/dev/null <"$1"
		case "$_l" in *committed=*) return 0 ;; esac
		_i=$((_i + 1))
		sleep 0.1
	done
	return 1
}
if ! grep -qw mm_policy /sys/kernel/vkernel/features 2>/dev/null; then
	fail_all "no mm_policy on this kernel (features: $(cat /sys/kernel/vkernel/features 2>&1))" $names
else
	m0=$(cat $om)
	r0=$(cat $orr)
	total=$(meminfo MemTotal)

	# 1. The host in mode 2 with about 192 MiB of headroom; a namespace writes mode 1 itself
	# (sysctl_write) and commits in 16 MiB steps up to the headroom + 256 MiB while the host
	# forks and maps 4 MiB. Its mode is its own business; the host's limit must hold for it.
	ratio=$((($(meminfo Committed_AS) + 192 * 1024) * 100 / total + 1))
	echo "$ratio" >$orr
	echo 2 >$om
	head=$((($(meminfo CommitLimit) - $(meminfo Committed_AS)) / 1024))
	rel=/tmp/commit-rel1
	out=/tmp/commit-a.out
	rm -f $rel $out
	ns_start "$MP" "echo 1 >$om; printf 'mode=%s ' \"\$(cat $om)\"; vkt commit 16 $((head + 256)) $rel" >$out 2>&1
	wait_line $out
	hf=$(echo forked 2>&1)
	hm=$(vkt mmap 4 2>&1)
	: >$rel
	wait $NS_BG
	echo $m0 >$om
	echo $r0 >$orr
	a=$(cat $out)
	echo "host mode 2 ratio $ratio (headroom $head MiB): namespace: $a (enable $NS_ENABLE); host: fork=$hf mmap=$hm"
	c=$(echo "$a" | sed -n 's/.*committed=\([0-9]*\) stop=ENOMEM.*/\1/p')
	case "$a" in "mode=1 committed="*" stop=ENOMEM") [ "$c" -le "$head" ] ;; *) false ;; esac
	result overcommit.host_limit_holds $? "host in mode 2 with $head MiB of headroom; the namespace in mode 1: $a (enable $NS_ENABLE)"
	[ "$hf" = forked ] && [ "$hm" = ok ]
	result overcommit.host_allocates $? "while the namespace held its commitments the host: fork: '${hf:-failed}', mmap 4 MiB: '${hm:-no fork}'"

	# 2. Host back in its mode; A and B in mode 2 with ratio 25 (limit L). A holds 60 % of L;
	# B commits 60 % of L too (its own limit allows it, A's commitments are not B's), and more
	# than L fails (its own limit holds).
	lim=$((total * 25 / 100 / 1024))
	hold=$((lim * 6 / 10))
	rel=/tmp/commit-rel2
	out=/tmp/commit-b.out
	rm -f $rel $out
	MP2="mm_policy vm.overcommit_memory=2 vm.overcommit_ratio=25"
	ns_start "$MP2" "vkt commit $hold $hold $rel" >$out 2>&1
	abg=$NS_BG
	aen=$NS_ENABLE
	wait_line $out
	b=$(ns_run "$MP2" "echo \"b60=\$(vkt mmap $hold) b_over=\$(vkt mmap $((lim + 16)))\"" 2>&1)
	: >$rel
	wait $abg
	a=$(cat $out)
	echo "A and B mode 2 ratio 25 (limit ~$lim MiB): A: $a (enable $aen); B: $b (enable $NS_ENABLE)"
	[ "$a" = "committed=$hold stop=max" ] && [ "$b" = "b60=ok b_over=ENOMEM" ]
	result overcommit.ns_own_accounting $? "limit ~$lim MiB each; A holds: $a; then B: $b"

	# 3. A namespace in mode 2 (ratio 25, sysctl_write); a namespace nested in it writes mode 1
	# and maps more than the outer limit: the outer namespace's limit holds.
	n=$(ns_run "$MP $MP2" "unshare -p -f --mount-proc sh -c 'echo 1 >$om; echo \"nested: mode=\$(cat $om) mmap=\$(vkt mmap $((lim + 64)))\"'; echo \"outer: mode=\$(cat $om)\"" 2>&1 | tr '\n' ' ')
	echo "nested in a mode 2 namespace (limit ~$lim MiB): $n"
	[ "$n" = "nested: mode=1 mmap=ENOMEM outer: mode=2 " ]
	result overcommit.nested_no_loosening $? "outer mode 2 ratio 25 (~$lim MiB), nested writes mode 1 and maps $((lim + 64)) MiB: $n"
fi
# Every account is freed empty (commit_put() warns otherwise); also a control on any kernel.
w=$(dmesg | grep -c -e 'WARNING' -e 'refcount_t')
[ "$w" = 0 ]
result overcommit.accounts_balanced $? "$w WARNING/refcount lines in the kernel log"
vkend
