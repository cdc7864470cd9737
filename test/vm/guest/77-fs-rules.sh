# File and directory rules of the per-container module (issue 14 §4; kernel patch 0015) through the
# real runtime in the guest: container A has io.vkernel.fs.rules (FS_RULES of
# test/vm/lib/runtime-payload.mjs: deny-read /etc/secret, deny-write /etc/conf, deny-write /dev/shm,
# deny-read /proc/sys/kernel, deny-read /sys/kernel) on an overlayfs root mounted here; B runs the
# same work with the module and no rule, on its own overlayfs root. Both have CAP_SYS_ADMIN and
# CAP_SYS_CHROOT, so the ways around a rule (fs.via_*) are open to them: each must fail in A with
# EACCES and succeed in B. Then `runc exec` into A.
# Needs the payload of runtime-payload.mjs with VKVM_PAYLOAD_MODULE_KDIR.
. /tests/lib.sh
ALL="fs.kernel_feature fs.create fs.sysfs fs.read_denied fs.overlay_write_denied fs.metadata_denied fs.dir_entries
	fs.tmpfs_mount fs.procfs_sysfs fs.io_uring fs.other_container
	fs.via_symlink fs.via_hardlink fs.via_dotdot fs.via_openat2 fs.via_opath_reopen fs.via_uring_openat
	fs.via_bind_mount fs.via_chroot fs.via_rename_dir fs.mount_elsewhere fs.mount_over fs.via_handle
	fs.new_instance fs.new_instance_read
	fs.exec fs.unloaded_after_delete fs.no_oops"
# shellcheck disable=SC2086
runtime_required $ALL
sys=/sys/kernel/vkernel/containers
# is FILE LABEL=VALUE...: every LABEL has VALUE in FILE
is() {
	_f=$1
	shift
	for _lv in "$@"; do
		[ "$(line "$_f" "${_lv%%=*}")" = "${_lv#*=}" ] || return 1
	done
}
# show FILE LABEL...: "LABEL=value" for each
show() {
	_f=$1
	shift
	for _l in "$@"; do printf '%s=%s ' "$_l" "$(line "$_f" "$_l")"; done
}

feat=$(cat /sys/kernel/vkernel/features 2>&1)
echo " $feat " | grep -q ' fs_rules '
result fs.kernel_feature $? "/sys/kernel/vkernel/features: $feat"

# A's and B's roots: overlayfs (lower /opt/rootfs, upper and work on a tmpfs)
mkdir -p /run/fsov /run/fsroot /run/fsroot2
mount -t tmpfs fsov /run/fsov && mkdir -p /run/fsov/upper /run/fsov/work /run/fsov/upper2 /run/fsov/work2 &&
	mount -t overlay overlay -o lowerdir=/opt/rootfs,upperdir=/run/fsov/upper,workdir=/run/fsov/work /run/fsroot &&
	mount -t overlay overlay -o lowerdir=/opt/rootfs,upperdir=/run/fsov/upper2,workdir=/run/fsov/work2 /run/fsroot2
ov=$?

A=vkfsrules
B=vkfsplain
rc=
for c in "$A:fsrules" "$B:fsplain"; do
	id=${c%%:*}
	$RT create --no-pivot --bundle "/opt/bundles/${c#*:}" "$id" </dev/null >"/tmp/$id.out" 2>&1
	rc="$rc $?"
done
why=
[ "$rc" = " 0 0" ] || why=" (create failed: $(tail -1 /tmp/$A.out | cut -c1-400))"
[ "$ov" = 0 ] && [ "$rc" = " 0 0" ]
result fs.create $? "overlay mount rc=$ov; create $A $B: rc=$rc; $A: $(tail -2 /tmp/$A.out | cut -c1-400 | tr '\n' ';')"

MA=vkernel_$(echo "$A" | cut -c1-12)
MB=vkernel_$(echo "$B" | cut -c1-12)
sa=$(tr '\n' ';' <$sys/$MA/fs_rules 2>&1)
sb=$(tr '\n' ';' <$sys/$MB/fs_rules 2>&1)
[ "$sa" = "r /etc/secret;w /etc/conf;w /dev/shm;r /proc/sys/kernel;r /sys/kernel;" ] && [ -z "$sb" ] && [ -e "$sys/$MB/fs_rules" ]
result fs.sysfs $? "fs_rules: $MA '$sa', $MB '$sb'$why"

if [ "$rc" = " 0 0" ]; then
	for id in $A $B; do $RT start "$id"; done
	for id in $A $B; do wait_for "/tmp/$id.out" '^fs-done'; done
fi

is /tmp/$A.out "read secret=EACCES" "read ok=0" "list etc=0"
result fs.read_denied $? "$A: $(show /tmp/$A.out 'read secret' 'read ok' 'list etc')$why"

# on A's overlayfs root: no write under /etc/conf (denied before any copy-up); an allowed file is
# copied up and written
is /tmp/$A.out "write conf=EACCES" "truncate conf=EACCES" "write ok=0" &&
	[ ! -e /run/fsov/upper/etc/conf/a ] && [ -e /run/fsov/upper/etc/ok ]
result fs.overlay_write_denied $? "$A: $(show /tmp/$A.out 'write conf' 'truncate conf' 'write ok'); upper: $(cd /run/fsov/upper 2>/dev/null && find . | tr '\n' ' ')$why"

# metadata under /etc/conf: chmod, chown, utimes, xattrs (also through io_uring) refused before any
# copy-up; allowed beside it. B (no rules): the calls reach the filesystem (0; for the xattrs the
# guest's tmpfs upper layer has none: EOPNOTSUPP, anything but EACCES)
is /tmp/$A.out "chmod conf=EACCES" "chown conf=EACCES" "utimes conf=EACCES" "setxattr conf=EACCES" \
	"removexattr conf=EACCES" "uring setxattr conf=res=EACCES" "chmod ok=0" &&
	is /tmp/$B.out "chmod conf=0" "chown conf=0" "utimes conf=0" &&
	! grep -q 'xattr conf: .*EACCES' /tmp/$B.out && [ ! -e /run/fsov/upper/etc/conf/a ]
result fs.metadata_denied $? "$A: $(show /tmp/$A.out 'chmod conf' 'chown conf' 'utimes conf' 'setxattr conf' 'removexattr conf' 'uring setxattr conf' 'chmod ok'); $B: $(show /tmp/$B.out 'chmod conf' 'chown conf' 'utimes conf' 'setxattr conf' 'removexattr conf' 'uring setxattr conf')$why"

# names: none made, removed or moved under /etc/conf; /etc/secret cannot get a name outside its rule
is /tmp/$A.out "mkdir conf=EACCES" "unlink conf=EACCES" "rename conf=EACCES" "rename secret=EACCES" "link secret=EACCES" "mkdir etc=0"
result fs.dir_entries $? "$A: $(show /tmp/$A.out 'mkdir conf' 'unlink conf' 'rename conf' 'rename secret' 'link secret' 'mkdir etc')$why"

is /tmp/$A.out "create shm=EACCES" "create dev=0"
result fs.tmpfs_mount $? "$A: $(show /tmp/$A.out 'create shm' 'create dev')$why"

is /tmp/$A.out "read procsys=EACCES" "read procvm=0" "read syskernel=EACCES" "read sysdev=0"
result fs.procfs_sysfs $? "$A: $(show /tmp/$A.out 'read procsys' 'read procvm' 'read syskernel' 'read sysdev')$why"

is /tmp/$A.out "uring mkdirat conf=res=EACCES"
result fs.io_uring $? "$A: $(show /tmp/$A.out 'uring mkdirat conf')$why"

# B (the same work, no rule): reads and its own /dev/shm are allowed
is /tmp/$B.out "read secret=0" "read procsys=0" "read syskernel=0" "create shm=0"
result fs.other_container $? "$B: $(show /tmp/$B.out 'read secret' 'read procsys' 'read syskernel' 'create shm')$why"

# via CHECK A_EXPECT B_EXPECT LABEL...: every LABEL is A_EXPECT in A and B_EXPECT in B (B, without
# rules, shows that the way itself works)
via() {
	_c=$1 _ea=$2 _eb=$3
	shift 3
	_ok=0
	for _l in "$@"; do
		[ "$(line /tmp/$A.out "$_l")" = "$_ea" ] && [ "$(line /tmp/$B.out "$_l")" = "$_eb" ] || _ok=1
	done
	result "$_c" $_ok "A: $(show /tmp/$A.out "$@"); B: $(show /tmp/$B.out "$@")$why"
}
# a symlink in the image and one the container makes, both to /etc/secret (deny-read)
via fs.via_symlink EACCES 0 "read symlink" "read made symlink"
# /etc/hl: a second name of /etc/secret in the image (a hard link in the lower layer)
via fs.via_hardlink EACCES 0 "read hardlink"
# chdir into /etc/conf/sub (below deny-write /etc/conf), then ../../secret and ../a
via fs.via_dotdot EACCES 0 "read dotdot" "write dotdot"
# openat2() from a descriptor of /etc/conf (RESOLVE_BENEATH) or /etc/conf/sub (RESOLVE_IN_ROOT)
via fs.via_openat2 EACCES 0 "write beneath" "write inroot"
# open with O_PATH (no access asked), then reopen /proc/self/fd/N for reading or writing
via fs.via_opath_reopen EACCES 0 "read opath" "write opath"
via fs.via_uring_openat res=EACCES res=0 "uring openat"
# bind mounts made in the container: /etc, /etc/conf/sub (a directory below a rule), /etc/secret
is /tmp/$A.out "bind dir=0" "bind sub=0" "bind file=0"
via fs.via_bind_mount EACCES 0 "read bind dir" "write bind sub" "read bind file"
# chroot into /etc/conf/sub, then write /f (the rule is above the new root)
via fs.via_chroot EACCES 0 "write chroot"
# /etc/conf/sub moved out of /etc/conf (an overlayfs lower directory: B gets EXDEV, not EACCES)
via fs.via_rename_dir EACCES "Invalid cross-device link" "rename dir"
# mounts that would put another object where a rule's object is: a clone of a tree moved onto the
# ruled /etc/conf, a bind mount onto it, a tmpfs onto /etc (above /etc/secret and /etc/conf), the
# ro bind mount runc makes of /proc/sys (above /proc/sys/kernel) unmounted, the tmpfs at /dev/shm
# (ruled itself) moved away; a tmpfs elsewhere is allowed in A
via fs.mount_elsewhere 0 0 "tmpfs elsewhere"
via fs.mount_over EACCES 0 "move onto conf" "bind onto conf" "tmpfs onto etc" "umount procsys" "move shm away"
# open_by_handle_at (CAP_DAC_READ_SEARCH): its dentry may be disconnected from the ruled
# directories above it, so A may not open by handle at all; B can
via fs.via_handle EACCES 0 "handle dev"
# a new procfs (a superblock per mount), sysfs (through fsopen), cgroup2 and an overlay of /etc:
# each would show a ruled object under other dentries, so A may not mount them (and reads nothing
# through them); B mounts each and reads through it
via fs.new_instance EACCES 0 "proc again" "sysfs again" "cgroup2 again" "overlay again"
via fs.new_instance_read ENOENT 0 "read proc again" "read sysfs again" "read overlay again"

# runc exec into A: the exec'd process is held to A's rules
$RT exec "$A" vkt fsop read /etc/secret >/tmp/$A.exec1 2>&1
r1=$?
$RT exec "$A" vkt fsop read /etc/ok >/tmp/$A.exec2 2>&1
r2=$?
[ "$(grep -v '^time=' /tmp/$A.exec1)" = EACCES ] && [ "$(grep -v '^time=' /tmp/$A.exec2)" = 0 ] && [ $r2 = 0 ]
result fs.exec $? "runc exec $A vkt fsop read /etc/secret: rc=$r1 $(grep -v '^time=' /tmp/$A.exec1 | tr '\n' ';' | cut -c1-200); /etc/ok: rc=$r2 $(grep -v '^time=' /tmp/$A.exec2 | tr '\n' ';' | cut -c1-200)$why"

echo "A: $(grep -v '^time=' /tmp/$A.out | tr '\n' ';')"
echo "B: $(grep -v '^time=' /tmp/$B.out | tr '\n' ';')"

rd=
for id in $A $B; do
	$RT delete --force "$id" >>/tmp/fsdel.out 2>&1
	rd="$rd $?"
done
left=$(grep -E "^($MA|$MB) " /proc/modules)
[ "$rc" = " 0 0" ] && [ "$rd" = " 0 0" ] && [ -z "$left" ] && [ ! -e "$sys/$MA" ]
result fs.unloaded_after_delete $? "create rc=$rc, delete --force: rc=$rd; modules left: '$left'; $(tr '\n' ';' </tmp/fsdel.out | cut -c1-300)$why"

dmesg >/tmp/dmesg.txt
grep -q "$MA: success to init" /tmp/dmesg.txt && grep -q "$MA: exit" /tmp/dmesg.txt &&
	! grep -qE 'Oops|BUG:|WARNING:|general protection|Call Trace|refcount_t' /tmp/dmesg.txt
result fs.no_oops $? "load lines of $MA: $(grep -c "$MA: success to init" /tmp/dmesg.txt), exit lines: $(grep -c "$MA: exit" /tmp/dmesg.txt), oops lines: $(grep -cE 'Oops|BUG:|WARNING:|general protection|Call Trace|refcount_t' /tmp/dmesg.txt); $(grep -E "vkernel|Oops|BUG:|WARNING:|Call Trace" /tmp/dmesg.txt | tail -8 | tr '\n' ';')$why"
vkend
