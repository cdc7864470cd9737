# vm.transparent_hugepage per pid namespace, in namespaces the host enabled with mm_policy and
# sysctl_write.
. /tests/lib.sh
MP="mm_policy sysctl_write"
t=/proc/sys/vm/transparent_hugepage
g=/sys/kernel/mm/transparent_hugepage/enabled
host0=$(cat $t 2>&1)
sys0=$(cat $g 2>&1)
# the global mode as one word (the sysfs file shows "always [madvise] never")
global() { sed -n 's/.*\[\(.*\)\].*/\1/p' $g; }
g0=$(global)
kb() { echo "$1" | sed -n 's/.*AnonHugePages: *\([0-9]*\) kB.*/\1/p'; }
# Each namespace runs under the global mode opposite to its own, so that only a namespace value
# that is honoured gives the result (a kernel that ignores it gives the global's). The initial
# namespace under each global mode is the control that this guest gives huge pages at all.
# vkt thp 16: fault in 16 MiB of anonymous memory, print AnonHugePages
echo always >$g
ia=$(vkt thp 16)
nv=$(ns_run "$MP" "echo never >$t; echo \$(cat $t) \$(vkt thp 16)" 2>&1)
ga_nv=$(global)
md=$(ns_run "$MP" "echo madvise >$t; echo \$(cat $t) \$(vkt thp 16)" 2>&1)
ga_md=$(global)
echo never >$g
i0=$(vkt thp 16)
al=$(ns_run "$MP" "echo always >$t; echo \$(cat $t) \$(vkt thp 16)" 2>&1)
gn_al=$(global)
# khugepaged (issue 12 §3): a process forked into a new pid namespace inherits its parent's
# khugepaged registration; it faults 8 MiB in with small pages (global never), then the global
# mode goes back to always and khugepaged has 8 s, scanning every 100 ms, to collapse them. The
# control, a namespace the host did not enable, gets huge pages that way (khugepaged works here);
# a namespace whose mode is never must get none (before: khugepaged judged by the global mode).
kh=/sys/kernel/mm/transparent_hugepage/khugepaged
kh0="$(cat $kh/scan_sleep_millisecs) $(cat $kh/alloc_sleep_millisecs)"
echo 100 >$kh/scan_sleep_millisecs
echo 100 >$kh/alloc_sleep_millisecs
kc=$(vkt thp-collapse 8 8 2>&1)
kn=$(vkt thp-collapse 8 8 "mm_policy vm.transparent_hugepage=never" 2>&1)
set -- $kh0
echo "$1" >$kh/scan_sleep_millisecs
echo "$2" >$kh/alloc_sleep_millisecs
echo "$g0" >$g
bad=$(ns_run "$MP" "echo sometimes >$t 2>/dev/null && echo accepted || echo rejected" 2>&1)
echo "init: $host0 sysfs: $sys0"; echo "never: $nv"; echo "always: $al"; echo "madvise: $md"
echo "initial namespace: global always: $ia; global never: $i0"
[ -e $t ] && [ "$(kb "$ia")" -ge 2048 ] && case "$nv" in never*) [ "$(kb "$nv")" = 0 ] ;; *) false ;; esac
result thp.never_ns_no_huge_pages $? "global always (initial namespace: $ia), namespace: $nv"
[ -e $t ] && [ "$(kb "$i0")" = 0 ] && case "$al" in always*) [ "$(kb "$al")" -ge 2048 ] ;; *) false ;; esac
result thp.always_ns_huge_pages $? "global never (initial namespace: $i0), namespace: $al"
[ -e $t ] && [ "$(kb "$ia")" -ge 2048 ] && case "$md" in madvise*) [ "$(kb "$md")" = 0 ] ;; *) false ;; esac
result thp.madvise_ns_no_huge_pages $? "global always (initial namespace: $ia), namespace: $md"
[ "$bad" = rejected ] && [ -e $t ]
result thp.invalid_rejected $? "$bad"
# the namespaces' writes left the global mode as it was set before each
[ -e $t ] && [ "$ga_nv $ga_md $gn_al" = "always always never" ] &&
	[ "$(cat $t)" = "$host0" ] && [ "$(cat $g)" = "$sys0" ]
result thp.init_unchanged $? "global after the never/madvise/always namespaces: $ga_nv/$ga_md/$gn_al (set: always/always/never); restored: init=$(cat $t 2>&1) sysfs=$(cat $g 2>&1)"
[ "$(kb "$kc")" -ge 2048 ] 2>/dev/null
result thp.khugepaged_collapses $? "khugepaged, 8 MiB faulted in small pages by a forked child in a plain namespace, 8 s: $kc"
case "$kn" in "enable=ok "*) [ "$(kb "$kn")" = 0 ] && [ "$(kb "$kc")" -ge 2048 ] ;; *) false ;; esac
result thp.khugepaged_never_ns $? "the same in a namespace the host enabled with vm.transparent_hugepage=never: $kn (control: $kc)"
vkend
