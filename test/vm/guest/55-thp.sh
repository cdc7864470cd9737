# vm.transparent_hugepage per pid namespace.
. /tests/lib.sh
t=/proc/sys/vm/transparent_hugepage
host0=$(cat $t 2>&1)
sys0=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>&1)
# vkt thp 16: fault in 16 MiB of anonymous memory, print AnonHugePages
nv=$(unshare -p -f --mount-proc sh -c "echo never >$t; echo \$(cat $t) \$(vkt thp 16)" 2>&1)
al=$(unshare -p -f --mount-proc sh -c "echo always >$t; echo \$(cat $t) \$(vkt thp 16)" 2>&1)
md=$(unshare -p -f --mount-proc sh -c "echo madvise >$t; echo \$(cat $t) \$(vkt thp 16)" 2>&1)
bad=$(unshare -p -f --mount-proc sh -c "echo sometimes >$t 2>/dev/null && echo accepted || echo rejected" 2>&1)
echo "init: $host0 sysfs: $sys0"; echo "never: $nv"; echo "always: $al"; echo "madvise: $md"
kb() { echo "$1" | sed -n 's/.*AnonHugePages: *\([0-9]*\) kB.*/\1/p'; }
[ -e $t ] && case "$nv" in never*) [ "$(kb "$nv")" = 0 ] ;; *) false ;; esac
result thp.never_ns_no_huge_pages $? "$nv"
[ -e $t ] && case "$al" in always*) [ "$(kb "$al")" -ge 2048 ] ;; *) false ;; esac
result thp.always_ns_huge_pages $? "$al"
[ -e $t ] && case "$md" in madvise*) [ "$(kb "$md")" = 0 ] ;; *) false ;; esac
result thp.madvise_ns_no_huge_pages $? "$md"
[ "$bad" = rejected ] && [ -e $t ]
result thp.invalid_rejected $? "$bad"
[ -e $t ] && [ "$(cat $t)" = "$host0" ] && [ "$(cat /sys/kernel/mm/transparent_hugepage/enabled)" = "$sys0" ]
result thp.init_unchanged $? "init=$(cat $t 2>&1) sysfs=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>&1)"
vkend
