# vm.overcommit_memory / vm.overcommit_ratio per pid namespace, in namespaces the host enabled with
# mm_policy and sysctl_write.
. /tests/lib.sh
MP="mm_policy sysctl_write"
om=/proc/sys/vm/overcommit_memory
orr=/proc/sys/vm/overcommit_ratio
host_m=$(cat $om); host_r=$(cat $orr)
# A: strict accounting with 10% of RAM: a 600 MiB mapping must fail.
a=$(ns_run "$MP" "
	echo 2 >$om; echo 10 >$orr
	echo \"mode=\$(cat $om) ratio=\$(cat $orr) mmap600=\$(vkt mmap 600)\"" 2>&1)
# B: always overcommit: a 64 GiB mapping of a 1 GiB guest succeeds.
b=$(ns_run "$MP" "
	echo 1 >$om
	echo \"mode=\$(cat $om) mmap64g=\$(vkt mmap 65536)\"" 2>&1)
# initial namespace: unchanged heuristic mode: 600 MiB fits, 64 GiB does not.
h="mode=$(cat $om) ratio=$(cat $orr) mmap600=$(vkt mmap 600) mmap64g=$(vkt mmap 65536)"
echo "A: $a"; echo "B: $b"; echo "init: $h"
case "$a" in "mode=2 ratio=10 mmap600=ENOMEM") r=0 ;; *) r=1 ;; esac
result overcommit.strict_ns_refuses $r "A: $a"
case "$b" in "mode=1 mmap64g=ok") r=0 ;; *) r=1 ;; esac
result overcommit.always_ns_allows $r "B: $b"
case "$h" in "mode=$host_m ratio=$host_r mmap600=ok mmap64g=ENOMEM") r=0 ;; *) r=1 ;; esac
result overcommit.init_unchanged $r "init: $h (before: mode=$host_m ratio=$host_r)"
out=$(ns_run "$MP" "
	for v in 3 -1; do echo \$v >$om 2>/dev/null && echo \"m\$v:ok\" || echo \"m\$v:rejected\"; done
	echo -5 >$orr 2>/dev/null && echo r-5:ok || echo r-5:rejected" 2>&1 | tr '\n' ' ')
[ "$out" = "m3:rejected m-1:rejected r-5:rejected " ]
result overcommit.bounds $? "$out"
vkend
