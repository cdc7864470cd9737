// Builds the gen_init_cpio list that puts the real runtime into the VM test initramfs:
// bin/vkernel-runtime + dist/vkernel-engine (the bun binary), runc, chrt, nsenter, sysctl with
// their shared libraries, a busybox container rootfs, the static vkt helper, and one OCI bundle
// per entry of BUNDLES (made by `runc spec` on the host, then edited).
//   node test/vm/lib/runtime-payload.mjs OUTDIR   → prints the list file's path
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';

const repo = new URL('../../../', import.meta.url).pathname.replace(/\/$/, '');
const out = process.argv[2];
mkdirSync(out, { recursive: true });

const READ = ['sh', '-c', 'cat /proc/sys/kernel/sched_wakeup_granularity_ns 2>/dev/null; cat /proc/sys/vm/overcommit_memory'];
/** name → annotations and process of a container bundle the guest scripts use */
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
  // fault in 16 MiB and report the process's own AnonHugePages
  thpalways: [{ 'io.vkernel.mm.thp': 'always' }, ['vkt', 'thp-self', '16']],
  thpnever: [{ 'io.vkernel.mm.thp': 'never' }, ['vkt', 'thp-self', '16']],
};

const lines = [];
const dirs = new Set();
const dir = (d) => {
  if (d === '/' || dirs.has(d)) return;
  dir(dirname(d));
  dirs.add(d);
  lines.push(`dir ${d} 0755 0 0`);
};
const file = (dst, src, mode = '0755') => {
  dir(dirname(dst));
  lines.push(`file ${dst} ${src} ${mode} 0 0`);
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

// the container image: static busybox and vkt
const vkt = join(out, 'vkt');
execFileSync('gcc', ['-static', '-O2', '-o', vkt, join(repo, 'test/vm/guest/vkt.c')]);
for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) dir(`/opt/rootfs/${d}`);
file('/opt/rootfs/bin/busybox', '/bin/busybox');
file('/opt/rootfs/bin/vkt', vkt);
for (const a of ['sh', 'cat', 'echo', 'sleep', 'grep', 'true', 'mkdir']) lines.push(`slink /opt/rootfs/bin/${a} busybox 0777 0 0`);

const specDir = join(out, 'spec');
mkdirSync(specDir, { recursive: true });
if (!existsSync(join(specDir, 'config.json'))) execFileSync('runc', ['spec'], { cwd: specDir });
const base = JSON.parse(readFileSync(join(specDir, 'config.json'), 'utf8'));
for (const [name, [annotations, args]] of Object.entries(BUNDLES)) {
  const spec = structuredClone(base);
  spec.root = { path: '/opt/rootfs', readonly: true };
  spec.process.terminal = false;
  spec.process.args = args;
  spec.annotations = annotations;
  const f = join(out, `bundle-${name}.json`);
  writeFileSync(f, JSON.stringify(spec));
  file(`/opt/bundles/${name}/config.json`, f, '0644');
}
const list = join(out, 'runtime.list');
writeFileSync(list, `${lines.join('\n')}\n`);
process.stdout.write(`${list}\n`);
