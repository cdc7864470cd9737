// File and directory rules of the per-container module (issue 14 §4; kernel patch 0015) through the
// real runtime in the guest; on the unpatched kernel the runtime refuses the request ("not the
// vkernel kernel"), so every check FAILs with that reason.
import { vmFeature } from './lib/feature.js';
import { withModulePayload } from './lib/payload.js';

withModulePayload();

vmFeature('file and directory rules through vkernel-runtime', ['77-fs-rules.sh'], [
  { name: 'fs.kernel_feature', title: '/sys/kernel/vkernel/features has fs_rules' },
  { name: 'fs.create', title: 'create loads the module for a container with file rules on an overlayfs root and one without rules' },
  { name: 'fs.sysfs', title: 'the module shows the five rules as resolved at create; the other module none' },
  { name: 'fs.read_denied', title: 'a file under deny-read cannot be opened for reading; a file beside it can, and /etc can be listed' },
  { name: 'fs.overlay_write_denied', title: 'overlayfs root: no write or truncate under deny-write (nothing copied up); an allowed file is copied up and written' },
  { name: 'fs.metadata_denied', title: 'chmod, chown, utimes, setxattr, removexattr and io_uring SETXATTR under deny-write: EACCES, nothing copied up; chmod beside the rule works; the container without rules reaches the filesystem' },
  { name: 'fs.dir_entries', title: 'no name made, removed or moved under deny-write; a denied file cannot be renamed or linked out of its rule; mkdir elsewhere works' },
  { name: 'fs.tmpfs_mount', title: 'deny-write on a mount point (/dev/shm) holds for files in it; /dev beside it is writable' },
  { name: 'fs.procfs_sysfs', title: 'deny-read of /proc/sys/kernel and /sys/kernel holds for their entries; /proc/sys/vm and /sys/devices are readable' },
  { name: 'fs.io_uring', title: 'io_uring IORING_OP_MKDIRAT under deny-write fails with EACCES' },
  { name: 'fs.other_container', title: 'the container without rules reads and writes the same paths (one container\'s rules never affect another)' },
  { name: 'fs.via_symlink', title: 'a symlink in the image and one made in the container, both to a deny-read file: EACCES (the container without rules reads them)' },
  { name: 'fs.via_hardlink', title: 'a hard link in the image (overlayfs lower layer) to a deny-read file: EACCES' },
  { name: 'fs.via_dotdot', title: '`..` after a chdir below a rule: EACCES for reading and writing' },
  { name: 'fs.via_openat2', title: 'openat2() with RESOLVE_BENEATH / RESOLVE_IN_ROOT from a directory under deny-write: EACCES' },
  { name: 'fs.via_opath_reopen', title: 'O_PATH (allowed), then a reopen through /proc/self/fd for reading or writing: EACCES' },
  { name: 'fs.via_uring_openat', title: 'io_uring IORING_OP_OPENAT of a deny-read file: EACCES' },
  { name: 'fs.via_bind_mount', title: 'bind mounts made in the container (of /etc, of a directory below a rule, of the file itself): the rule holds there' },
  { name: 'fs.via_chroot', title: 'a chroot below a deny-write directory: writes there are still EACCES' },
  { name: 'fs.via_rename_dir', title: 'a directory under a rule cannot be renamed out of it' },
  { name: 'fs.mount_elsewhere', title: 'a tmpfs mounted where no rule is (and above none) is allowed under rules' },
  { name: 'fs.mount_over', title: 'nothing put where a rule\'s object is: move_mount of a cloned tree and a bind mount onto a ruled directory, a tmpfs onto /etc above two rules, runc\'s /proc/sys bind mount (above a rule) unmounted, the ruled /dev/shm moved away: EACCES; the container without rules does each' },
  { name: 'fs.via_handle', title: 'open_by_handle_at (CAP_DAC_READ_SEARCH) refused under file rules (its dentry may be disconnected from the ruled directories above it); allowed without rules' },
  { name: 'fs.new_instance', title: 'a new procfs, sysfs (through fsopen), cgroup2 or overlayfs mount, each of which would show a ruled object again under other dentries: EACCES under file rules; the container without rules mounts each' },
  { name: 'fs.new_instance_read', title: 'so nothing ruled is read through one (ENOENT: nothing mounted); the container without rules reads /proc/sys/kernel, /sys/kernel and /etc/secret (by its other name /etc/hl) through its own' },
  { name: 'fs.exec', title: '`runc exec` into the container: the exec\'d process is held to its rules' },
  { name: 'fs.unloaded_after_delete', title: 'delete --force removes both modules' },
  { name: 'fs.no_oops', title: 'the kernel log has the load and unload lines and no oops' },
]);
