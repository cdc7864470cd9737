// Builds the gen_init_cpio list that puts the real runtime into the VM test initramfs:
// bin/vkernel-runtime + dist/vkernel-engine (the bun binary) + dist/vkernel-client and dist/vkernel-runtime (static), runc, chrt, nsenter, sysctl with
// their shared libraries, a busybox container rootfs, the static vkt helper, and one OCI bundle
// per entry of BUNDLES (made by `runc spec` on the host, then edited).
//   node test/vm/lib/runtime-payload.mjs OUTDIR   → prints the list file's path
// With VKVM_PAYLOAD_MODULE_KDIR=<kernel out dir> (what kernel/build.sh printed), also what the
// per-container module needs (test/vm/module.test.ts): kmod's insmod/rmmod/lsmod/modinfo, the
// module source under /opt/vkr/modules/vkernel, the files of <kdir>/build that the module cache key
// reads (src/module/build.ts kernelId()) at /lib/modules/<release>/build, and the module built on
// the host against that tree by `vkernel-runtime module build`, pre-populating the guest's cache
// (/var/cache/vkernel-runtime/modules/<key>/): the runtime finds it and never runs make in the guest.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';

const repo = new URL('../../../', import.meta.url).pathname.replace(/\/$/, '');
const out = process.argv[2];
mkdirSync(out, { recursive: true });

const READ = ['sh', '-c', 'cat /proc/sys/kernel/sched_wakeup_granularity_ns 2>/dev/null; cat /proc/sys/vm/overcommit_memory'];
// read both per-namespace values, try to change both through the container's read-only /proc/sys, read again
const RW = ['sh', '-c', 'g=/proc/sys/kernel/sched_wakeup_granularity_ns; r=/proc/sys/vm/overcommit_ratio; '
  + 'echo "read=$(cat $g 2>/dev/null),$(cat $r) write=$(vkt write $g 4000000),$(vkt write $r 41) after=$(cat $g 2>/dev/null),$(cat $r)"'];
// mkdir directly, from a child in a new pid namespace (unshare -p -f, clone(CLONE_NEWPID)) and as an
// io_uring IORING_OP_MKDIRAT: a deny list of mkdir must hold for all four (issue 14)
const MODULE_WORK = [
  'mkdir /dev/shm/d; echo "mkdir rc=$?"',
  'unshare -p -f mkdir /dev/shm/u; echo "unshare mkdir rc=$?"',
  'echo "clone newpid mkdir: $(vkt newpid mkdir /dev/shm/c)"',
  'echo "io_uring mkdirat: $(vkt uring-mkdirat /dev/shm/r)"',
  'vkt futex 20000; exec futex-sleep',
].join('; ');
// argument rules and capability ceiling (issue 14 §2, §3; guest/75-module-rules.sh): the capability
// sets the process got at exec, a raw socket (CAP_NET_RAW), namespaces made by unshare (busybox),
// clone, clone3, unshare and joined by setns, personality values, a raw socket from a set-uid root
// binary run by uid 1000 and from a new user namespace that owns a new net namespace; then it
// sleeps until deleted
const RULES_WORK = [
  'grep -E "^Cap(Eff|Bnd)" /proc/self/status',
  'echo "raw: $(vkt raw)"',
  'unshare -n true; echo "unshare -n rc=$?"',
  'echo "clone newnet: $(vkt clone-ns net)"',
  'echo "clone3 newnet: $(vkt clone3-ns net)"',
  'echo "unshare newuts: $(vkt unshare-ns uts)"',
  'echo "setns net: $(vkt setns-ns net)"',
  'echo "personality linux32: $(vkt personality 0x8)"',
  'echo "personality linux: $(vkt personality 0x0)"',
  'echo "suid raw: $(vkt as-user 1000 /bin/vkt-suid raw)"',
  'echo "fcap raw: $(vkt as-user 1000 /bin/vkt-fcap raw)"',
  'echo "userns: $(vkt userns-raw)"',
  'echo rules-done; exec sleep 1000',
].join('; ');
// the capability ceiling of the first: runc's default set and CAP_SYS_ADMIN (so that a refused
// namespace is the rule's doing, not a missing capability), not CAP_NET_RAW, which its spec has;
// CAP_SETUID/CAP_SETGID let the process drop to uid 1000 for the set-uid binary (no_new_privs off)
const RULES_CAPS = ['CAP_SYS_ADMIN', 'CAP_NET_RAW', 'CAP_SETUID', 'CAP_SETGID'];
const RULES_PROCESS = { process: { noNewPrivileges: false } };
// the kernel log (issue 12, deck claim 1): write a record of the container's own to /dev/kmsg, then
// dmesg (the container has /dev/kmsg and CAP_SYSLOG, as with docker --device /dev/kmsg --cap-add SYSLOG)
const KMSG = (mark) => ['sh', '-c', `echo "<6>${mark} a record of the container" >/dev/kmsg || echo "VKLOG-WRITE-FAILED"; dmesg`];
const LOG = { kmsg: true };
// file rules (issue 14 §4; guest/77-fs-rules.sh): reads, writes, metadata and directory changes under
// the rules and beside them, on the overlayfs root, a tmpfs mount, procfs, sysfs and through io_uring
// Then the ways around a rule a container may try (each one also run in the container without rules,
// where it must succeed): a symlink in the image and one made in the container, a hard link in the
// image, '..' after a chdir, openat2() confined below a directory under a rule, O_PATH then a reopen
// through /proc/self/fd, io_uring OPENAT, bind mounts (of /etc, of a subdirectory of a rule, of the
// file itself), a chroot below a rule, a rename of a directory under a rule. A line without a label
// is shell run as it is (setup whose output does not matter).
const FS_WORK = [
  ['read secret', 'fsop read /etc/secret'], ['read ok', 'fsop read /etc/ok'], ['list etc', 'fsop list /etc'],
  ['read symlink', 'fsop read /etc/sl'], ['made symlink', 'fsop symlink /etc/secret /tmp/sl2'],
  ['read made symlink', 'fsop read /tmp/sl2'], ['read hardlink', 'fsop read /etc/hl'],
  ['read dotdot', 'fsop chdir /etc/conf/sub ../../secret'], ['write dotdot', 'fsop chdir-w /etc/conf/sub ../a'],
  ['write beneath', 'fsop beneath-w /etc/conf sub/f'], ['write inroot', 'fsop inroot-w /etc/conf/sub /f'],
  ['read opath', 'fsop opath-r /etc/secret'], ['write opath', 'fsop opath-w /etc/conf/a'],
  ['uring openat', 'uring-openat /etc/secret'],
  'vkt fsop mkdir /tmp/b1 >/dev/null; vkt fsop mkdir /tmp/b2 >/dev/null; vkt fsop create /tmp/b3 >/dev/null',
  ['bind dir', 'fsop bind /etc /tmp/b1'], ['read bind dir', 'fsop read /tmp/b1/secret'],
  ['bind sub', 'fsop bind /etc/conf/sub /tmp/b2'], ['write bind sub', 'fsop write /tmp/b2/f'],
  ['bind file', 'fsop bind /etc/secret /tmp/b3'], ['read bind file', 'fsop read /tmp/b3'],
  ['write chroot', 'fsop chroot /etc/conf/sub /f'], ['rename dir', 'fsop rename /etc/conf/sub /etc/sub2'],
  ['chmod conf', 'fsop chmod /etc/conf/a'], ['chown conf', 'fsop chown /etc/conf/a'], ['utimes conf', 'fsop utimes /etc/conf/a'],
  ['setxattr conf', 'fsop setxattr /etc/conf/a'], ['removexattr conf', 'fsop removexattr /etc/conf/a'],
  ['uring setxattr conf', 'uring-setxattr /etc/conf/a'], ['chmod ok', 'fsop chmod /etc/ok'],
  ['write conf', 'fsop write /etc/conf/a'], ['truncate conf', 'fsop truncate /etc/conf/a'], ['write ok', 'fsop write /etc/ok'],
  ['mkdir conf', 'fsop mkdir /etc/conf/new'], ['unlink conf', 'fsop unlink /etc/conf/a'],
  ['rename conf', 'fsop rename /etc/conf/a /etc/a2'], ['rename secret', 'fsop rename /etc/secret /etc/s2'],
  ['link secret', 'fsop link /etc/secret /etc/s3'], ['mkdir etc', 'fsop mkdir /etc/newdir'],
  ['create shm', 'fsop create /dev/shm/f'], ['create dev', 'fsop create /dev/f'],
  ['read procsys', 'fsop read /proc/sys/kernel/hostname'], ['read procvm', 'fsop read /proc/sys/vm/overcommit_memory'],
  ['read syskernel', 'fsop read /sys/kernel/vkernel/abi_version'], ['read sysdev', 'fsop read /sys/devices/system/cpu/online'],
  ['uring mkdirat conf', 'uring-mkdirat /etc/conf/u'],
  // last (B's succeed and change its tree): mounts that would put another object where a rule's is
  // (onto a ruled directory, onto /etc above two, the tree holding one unmounted or moved away), a
  // mount elsewhere (allowed), opening by file handle (refused under rules), new instances of procfs,
  // sysfs, cgroupfs and overlayfs (refused under rules)
  'vkt fsop mkdir /tmp/b4 >/dev/null; vkt fsop mkdir /tmp/b5 >/dev/null; vkt fsop mkdir /tmp/b6 >/dev/null',
  ['tmpfs elsewhere', 'fsop tmpfs /tmp/b6'], ['handle dev', 'fsop handle /dev'],
  // new instances of filesystems that show ruled objects again under other dentries (refused under
  // rules), and a read of a ruled object through each (/etc/hl: /etc/secret's other name in the
  // image; B renamed /etc/secret above)
  'for d in b7 b8 b9 b10; do vkt fsop mkdir /tmp/$d >/dev/null; done',
  ['proc again', 'fsop proc /tmp/b7'], ['read proc again', 'fsop read /tmp/b7/sys/kernel/hostname'],
  ['sysfs again', 'fsop fsopen-sysfs /tmp/b8'], ['read sysfs again', 'fsop read /tmp/b8/kernel/vkernel/abi_version'],
  ['cgroup2 again', 'fsop cgroup2 /tmp/b9'],
  ['overlay again', 'fsop overlay /tmp/b10 /etc'], ['read overlay again', 'fsop read /tmp/b10/hl'],
  ['move onto conf', 'fsop move /tmp/b4 /etc/conf'], ['bind onto conf', 'fsop bind /tmp/b4 /etc/conf'],
  ['umount procsys', 'fsop umount-l /proc/sys'], ['move shm away', 'fsop move-old /dev/shm /tmp/b5'],
  ['tmpfs onto etc', 'fsop tmpfs /etc'],
].map((w) => (typeof w === 'string' ? w : `echo "${w[0]}: $(vkt ${w[1]})"`)).concat(['echo fs-done; exec sleep 1000']).join('; ');
// both file-rule containers may mount, chroot and open by handle (the ways around a rule above)
// the init's scheduling policy (field 41 of its stat; the first other than SCHED_OTHER read within
// 0.5 s: under rt v2 the supervisor may have demoted the group for the rest of a window when runc's
// init used its budget at create, and promotes it at the next one), then `vkt bench hackbench 10`
const HB = ['sh', '-c', 'for i in 1 2 3 4 5 6; do read -r l </proc/$$/stat; set -- $l; [ "${41}" != 0 ] && break; sleep 0.1; done; echo policy=${41}; exec vkt bench hackbench 10'];
const FS_CAPS = ['CAP_SYS_ADMIN', 'CAP_SYS_CHROOT', 'CAP_DAC_READ_SEARCH'];
const FS_RULES = 'deny-read:/etc/secret,deny-write:/etc/conf,deny-write:/dev/shm,deny-read:/proc/sys/kernel,deny-read:/sys/kernel';
/**
 * name → annotations, process args, extra capabilities and extras of a container bundle the guest
 * scripts use (extras: `kmsg` gives the container /dev/kmsg, `process` sets fields of its process,
 * `root` replaces the read-only /opt/rootfs)
 */
export const BUNDLES = {
  plain: [{}, READ],
  fifo: [{ 'io.vkernel.sched.policy': 'fifo' }, READ],
  cfs: [{ 'io.vkernel.sched.policy': 'cfs' }, READ],
  wakeup: [{ 'io.vkernel.sched.wakeup_granularity_ns': '3000000' }, READ],
  wakeup2: [{ 'io.vkernel.sched.wakeup_granularity_ns': '7000000' }, READ],
  // 600 MiB: fine for the host's heuristic mode in a 1 GiB guest, beyond strict accounting at 50 %
  // (commit limit ~512 MiB, shared with what the guest already committed); 64 GiB under "always"
  oc2: [{ 'io.vkernel.mm.overcommit_memory': '2', 'io.vkernel.mm.overcommit_ratio': '50' }, ['vkt', 'mmap', '600']],
  oc1: [{ 'io.vkernel.mm.overcommit_memory': '1' }, ['vkt', 'mmap', '65536']],
  // per-container values set by the runtime; the container may change them only with sysctl.writable (issue 12 §1)
  sysro: [{ 'io.vkernel.sched.wakeup_granularity_ns': '3000000', 'io.vkernel.mm.overcommit_ratio': '40' }, RW],
  sysrw: [{ 'io.vkernel.sched.wakeup_granularity_ns': '3000000', 'io.vkernel.mm.overcommit_ratio': '40', 'io.vkernel.sysctl.writable': 'true' }, RW],
  syswonly: [{ 'io.vkernel.sysctl.writable': 'true' }, RW],
  plainrw: [{}, RW],
  // fault in 16 MiB and report the process's own AnonHugePages
  thpalways: [{ 'io.vkernel.mm.thp': 'always' }, ['vkt', 'thp-self', '16']],
  thpnever: [{ 'io.vkernel.mm.thp': 'never' }, ['vkt', 'thp-self', '16']],
  // the per-container module: mkdir (denied or not), a futex-heavy run, then two threads asleep in
  // FUTEX_WAIT until the container is deleted
  // (CAP_SYS_ADMIN: the container can create pid namespaces, the escape the module must close)
  moddeny: [{ 'io.vkernel.module': 'true', 'io.vkernel.syscall.deny': 'mkdir' }, ['sh', '-c', MODULE_WORK], ['CAP_SYS_ADMIN']],
  modon: [{ 'io.vkernel.module': 'true' }, ['sh', '-c', MODULE_WORK], ['CAP_SYS_ADMIN']],
  rules: [{
    'io.vkernel.syscall.namespaces': 'deny', 'io.vkernel.syscall.personality': 'linux',
    'io.vkernel.caps.max': 'CAP_AUDIT_WRITE,CAP_KILL,CAP_NET_BIND_SERVICE,CAP_SYS_ADMIN',
  }, ['sh', '-c', RULES_WORK], RULES_CAPS, RULES_PROCESS],
  // the same work with the module and no rule, with a ceiling that has CAP_NET_RAW, and with a
  // ceiling without it that lets the process change its uid and make namespaces
  rulesoff: [{ 'io.vkernel.module': 'true' }, ['sh', '-c', RULES_WORK], RULES_CAPS, RULES_PROCESS],
  rulesraw: [{ 'io.vkernel.caps.max': 'CAP_NET_RAW,CAP_SYS_ADMIN' }, ['sh', '-c', RULES_WORK], RULES_CAPS, RULES_PROCESS],
  rulesuser: [{ 'io.vkernel.caps.max': 'CAP_SETGID,CAP_SETUID,CAP_SYS_ADMIN' }, ['sh', '-c', RULES_WORK], RULES_CAPS, RULES_PROCESS],
  // file rules on an overlayfs root the guest script mounts at /run/fsroot (lower: /opt/rootfs), and
  // the same work in a container with the module and no rule
  fsrules: [{ 'io.vkernel.fs.rules': FS_RULES }, ['sh', '-c', FS_WORK], FS_CAPS, { root: { path: '/run/fsroot', readonly: false } }],
  fsplain: [{ 'io.vkernel.module': 'true' }, ['sh', '-c', FS_WORK], FS_CAPS, { root: { path: '/run/fsroot2', readonly: false } }],
  // hackbench_pair (guest/lib.sh): the same message-passing load with each policy, the backend auto
  // chooses (issue 16: the patched kernel, rt v2, scx compared)
  hbfifo: [{ 'io.vkernel.sched.policy': 'fifo' }, HB],
  hbcfs: [{ 'io.vkernel.sched.policy': 'cfs' }, HB],
  // bench/vm/guest.sh (`npm run bench -- --vm`): start-up through runc and with the module
  truerunc: [{}, ['true']],
  truemod: [{ 'io.vkernel.module': 'true' }, ['true']],
  // a bad value: refused at create, before anything is made
  rulesbad: [{ 'io.vkernel.caps.max': 'CAP_NET_RAW,CAP_FLY' }, ['true']],
  // io.vkernel.log=private (printk_ns) and, for contrast, a container that asked for nothing
  logpriv: [{ 'io.vkernel.log': 'private' }, KMSG('VKLOG-PRIV1'), ['CAP_SYSLOG'], LOG],
  logpriv2: [{ 'io.vkernel.log': 'private' }, KMSG('VKLOG-PRIV2'), ['CAP_SYSLOG'], LOG],
  logshared: [{}, KMSG('VKLOG-SHARED'), ['CAP_SYSLOG'], LOG],
};

const lines = [];
const dirs = new Set();
const dir = (d) => {
  if (d === '/' || dirs.has(d)) return;
  dir(dirname(d));
  dirs.add(d);
  lines.push(`dir ${d} 0755 0 0`);
};
// (hardLinks: more names of the same file, each a hard link)
const file = (dst, src, mode = '0755', ...hardLinks) => {
  dir(dirname(dst));
  lines.push(`file ${dst} ${src} ${mode} 0 0${hardLinks.map((l) => ` ${l}`).join('')}`);
};

// binaries and their libraries, at the same paths as on the host
const bins = ['/usr/sbin/runc', '/usr/bin/chrt', '/usr/bin/nsenter', '/usr/sbin/sysctl'];
const libs = new Set();
for (const b of [...bins, join(repo, 'dist/vkernel-engine')]) {
  for (const m of execFileSync('ldd', [b], { encoding: 'utf8' }).matchAll(/(\/\S+\.so[.\d]*)/g)) libs.add(m[1]);
}
for (const b of bins) file(b, b);
for (const l of libs) file(l, execFileSync('readlink', ['-f', l], { encoding: 'utf8' }).trim());
file('/opt/vkr/bin/vkernel-runtime', join(repo, 'bin/vkernel-runtime'));
file('/opt/vkr/dist/vkernel-engine', join(repo, 'dist/vkernel-engine'));
// the engine server's client (static: no libraries), as an installation has it when built with cc
if (existsSync(join(repo, 'dist/vkernel-client'))) file('/opt/vkr/dist/vkernel-client', join(repo, 'dist/vkernel-client'));
// and the C entry point (the same program under the runtime's name), which the guests run ($VKR)
if (existsSync(join(repo, 'dist/vkernel-runtime'))) file('/opt/vkr/dist/vkernel-runtime', join(repo, 'dist/vkernel-runtime'));

// the container image: static busybox and vkt
const vkt = join(out, 'vkt');
execFileSync('gcc', ['-static', '-O2', '-o', vkt, join(repo, 'test/vm/guest/vkt.c')]);
for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) dir(`/opt/rootfs/${d}`);
// files of guest/77-fs-rules.sh
const etc = join(out, 'etc');
mkdirSync(etc, { recursive: true });
writeFileSync(join(etc, 'secret'), 'secret\n');
writeFileSync(join(etc, 'ok'), 'ok\n');
file('/opt/rootfs/etc/secret', join(etc, 'secret'), '0644', '/opt/rootfs/etc/hl');
file('/opt/rootfs/etc/ok', join(etc, 'ok'), '0644');
lines.push('slink /opt/rootfs/etc/sl /etc/secret 0777 0 0');
file('/opt/rootfs/etc/conf/a', join(etc, 'ok'), '0644');
file('/opt/rootfs/etc/conf/sub/f', join(etc, 'ok'), '0644');
file('/opt/rootfs/bin/busybox', '/bin/busybox');
file('/opt/rootfs/bin/vkt', vkt);
// a set-uid root copy (guest/75-module-rules.sh: a capability ceiling against set-uid binaries)
file('/opt/rootfs/bin/vkt-suid', vkt, '4755');
// file capability cap_net_raw+ep, set by the guest script (75-module-rules.sh: cpio has no xattrs)
file('/opt/rootfs/bin/vkt-fcap', vkt, '0755');
for (const a of ['sh', 'cat', 'echo', 'sleep', 'grep', 'true', 'mkdir', 'unshare', 'dmesg']) lines.push(`slink /opt/rootfs/bin/${a} busybox 0777 0 0`);
const futexSleep = join(out, 'futex-sleep');
execFileSync('gcc', ['-static', '-O2', '-pthread', '-o', futexSleep, join(repo, 'test/vm/guest/futex-sleep.c')]);
file('/opt/rootfs/bin/futex-sleep', futexSleep);

const moduleKdir = process.env.VKVM_PAYLOAD_MODULE_KDIR;
if (moduleKdir) {
  // kmod (insmod, rmmod, lsmod, modinfo are links to it) with its libraries
  const kmod = '/usr/bin/kmod';
  for (const m of execFileSync('ldd', [kmod], { encoding: 'utf8' }).matchAll(/(\/\S+\.so[.\d]*)/g)) {
    if (!libs.has(m[1])) file(m[1], execFileSync('readlink', ['-f', m[1]], { encoding: 'utf8' }).trim());
  }
  file('/bin/kmod', kmod);
  for (const t of ['insmod', 'rmmod', 'lsmod', 'modinfo']) lines.push(`slink /usr/sbin/${t} /bin/kmod 0777 0 0`);
  // the module source (its hash is part of the cache key), where the launcher's home has it
  const src = join(repo, 'modules/vkernel');
  for (const n of readdirSync(src).filter((n) => /^(Kbuild|Makefile)$|\.[ch]$/.test(n)).sort()) {
    file(`/opt/vkr/modules/vkernel/${n}`, join(src, n), '0644');
  }
  // what the cache key reads of the kernel build tree, at the default kdir of the guest kernel
  const tree = join(moduleKdir, 'build');
  const rel = readFileSync(join(tree, 'include/config/kernel.release'), 'utf8').trim();
  for (const f of ['Makefile', 'Module.symvers', 'include/generated/utsrelease.h', 'include/config/kernel.release', 'include/generated/autoconf.h']) {
    file(`/lib/modules/${rel}/build/${f}`, join(tree, f), '0644');
  }
  // the module, built here by the runtime's own builder into a cache directory copied as is
  const cache = join(out, 'module-cache');
  const ko = execFileSync(join(repo, 'bin/vkernel-runtime'), ['module', 'build', '--quiet', '--kdir', tree, '--cache', cache], { encoding: 'utf8' }).trim();
  const key = basename(dirname(ko));
  file(`/var/cache/vkernel-runtime/modules/${key}/vkernel.ko`, ko, '0644');
  file(`/var/cache/vkernel-runtime/modules/${key}/meta.json`, join(dirname(ko), 'meta.json'), '0644');
}

const specDir = join(out, 'spec');
mkdirSync(specDir, { recursive: true });
if (!existsSync(join(specDir, 'config.json'))) execFileSync('runc', ['spec'], { cwd: specDir });
const base = JSON.parse(readFileSync(join(specDir, 'config.json'), 'utf8'));
for (const [name, [annotations, args, caps = [], extras = {}]] of Object.entries(BUNDLES)) {
  const spec = structuredClone(base);
  if (extras.kmsg) { // /dev/kmsg (char 1:11), which runc leaves out by default
    spec.linux.devices = [...(spec.linux.devices ?? []), { path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }];
    spec.linux.resources.devices = [...(spec.linux.resources?.devices ?? []), { allow: true, type: 'c', major: 1, minor: 11, access: 'rw' }];
  }
  for (const set of ['bounding', 'effective', 'permitted']) {
    if (spec.process.capabilities?.[set]) spec.process.capabilities[set].push(...caps);
  }
  spec.root = extras.root ?? { path: '/opt/rootfs', readonly: true };
  spec.process.terminal = false;
  spec.process.args = args;
  Object.assign(spec.process, extras.process ?? {});
  spec.annotations = annotations;
  const f = join(out, `bundle-${name}.json`);
  writeFileSync(f, JSON.stringify(spec));
  file(`/opt/bundles/${name}/config.json`, f, '0644');
}
const list = join(out, 'runtime.list');
writeFileSync(list, `${lines.join('\n')}\n`);
process.stdout.write(`${list}\n`);
