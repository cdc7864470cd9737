# The whole boot's kernel log against the reports of the kernel's own checkers, for the debug-kernel
# tier (kernel/debug-stress.sh runs it last): a report of any earlier script of the boot fails it,
# also one the console did not show (run-vm.sh boots with `quiet`, which hides KERN_WARNING lines:
# WARN() and lockdep reports). On a report, the lines around it follow as `VKLOG ...`.
#  - debug.no_report: no BUG, WARNING, lockdep, RCU, KFENCE/KASAN, Oops, list corruption or
#    sleeping-in-atomic report since boot.
. /tests/lib.sh
pat='BUG[: ]|WARNING:|lockdep|circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|KFENCE:|KASAN:|Oops|general protection fault|list_add corruption|list_del corruption|sleeping function called from invalid context'
n=$(dmesg | wc -l)
rep=$(dmesg | grep -E "$pat" | head -n 5 | tr '\n' ' ')
[ -z "$rep" ]
result debug.no_report $? "${rep:-no report in the $n lines of the kernel log since boot}"
[ -z "$rep" ] || dmesg | grep -E -B2 -A60 "$pat" | head -n 200 | sed 's/^/VKLOG /'
vkend
