#!/bin/sh
# A real systemd (PID 1 of private pid, mount, cgroup, uts and ipc namespaces) for the tests of
# runc's --systemd-cgroup path on a host whose PID 1 is not systemd (test/helpers/systemd.ts).
#
#   systemd-sandbox.sh outer PROCS... -- MOUNT...   joins each cgroup.procs file, then the namespaces
#   (inner, by outer)                  MOUNT...     mounts, then execs systemd
#
# MOUNT is TYPE:OPTIONS:DIR for each cgroup hierarchy under /sys/fs/cgroup, remounted inside the new
# cgroup namespace (so it shows the sandbox's group as its root): "tmpfs::/sys/fs/cgroup",
# "cgroup:cpu:/sys/fs/cgroup/cpu", "cgroup:none,name=systemd:/sys/fs/cgroup/systemd",
# "cgroup2::/sys/fs/cgroup/unified". Arguments come from the host's mountinfo, never from a shell
# string. systemd runs a target of its own (vk-sandbox.target: nothing else starts); its units,
# /run and the runtime's lock directory are private to the sandbox and go with it.
set -eu
# util-linux's, by path: a busybox sh (the VM tier's guest, 81-rt-v2-systemd.sh) runs its own applets
# of these names first, which lack --cgroup, --kill-child, --make-rprivate and -R
ul=/usr/bin
mode=$1
shift
if [ "$mode" = outer ]; then
  while [ "$1" != -- ]; do
    echo $$ > "$1"
    shift
  done
  shift
  exec $ul/unshare --pid --fork --kill-child --mount --cgroup --uts --ipc -- "$0" inner "$@"
fi
[ "$mode" = inner ] || { echo "systemd-sandbox.sh: outer or inner, not $mode" >&2; exit 2; }
$ul/mount --make-rprivate /
$ul/mount -t proc proc /proc
$ul/mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock /run/systemd/system
$ul/umount -R /sys/fs/cgroup 2>/dev/null || $ul/umount -l /sys/fs/cgroup
for m in "$@"; do
  type=${m%%:*}
  rest=${m#*:}
  opts=${rest%%:*}
  dir=${rest#*:}
  mkdir -p "$dir"
  if [ -n "$opts" ]; then $ul/mount -t "$type" -o "$opts" "$type" "$dir"; else $ul/mount -t "$type" "$type" "$dir"; fi
done
printf '[Unit]\nDescription=vkernel-runtime test sandbox\n' > /run/systemd/system/vk-sandbox.target
exec env -i container=vkernel-test PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/systemd --system --unit=vk-sandbox.target --log-target=console --log-level=notice
