import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dockerd } from '../helpers/engines.js';
import { requireRoot } from '../helpers/fixtures.js';
import { expectedAbi, parseConsole, type TestLine } from '../vm/lib/vm.js';

/**
 * Dockerfile.vm end to end, the way a user without a registry builds it (deploy/vm/README.md):
 * a Debian 12 base from debootstrap, `docker import`, `docker build --network host` against a
 * dockerd started here; the image turned into kernel + initramfs by scripts/vm-image.sh and booted
 * under qemu (TCG) by scripts/vm-boot.sh, where the image's own dockerd runs containers through
 * vkernel-runtime on the patched kernel (test/e2e/vm-image/guest.sh prints the checks).
 *
 * Cached outside the repo, under $VKERNEL_CACHE/vm: the debootstrap tarball and the dockerd
 * data-root, so that docker's layer cache keeps the kernel stage (10-20 min fresh) while kernel/
 * is unchanged. Dangling images of older builds are pruned after each build.
 */
const CACHE = join(process.env.VKERNEL_CACHE ?? '/var/cache/vkernel-runtime', 'vm');
const DEBOOTSTRAP = ['--variant=minbase', 'bookworm'];
/** this machine's Debian mirror for a suite, from its apt sources (scripts/debian-mirror.sh) */
const mirror = (suite: string) => execFileSync('scripts/debian-mirror.sh', [suite], { encoding: 'utf8' }).trim();
const MIRROR = mirror('bookworm');
/** what Docker Hub's debian:bookworm has: the point release, updates and security (linux-source-6.1 6.1.192 is there) */
const SOURCES = [
  `deb ${MIRROR} bookworm main`, `deb ${mirror('bookworm-updates')} bookworm-updates main`,
  `deb ${mirror('bookworm-security')} bookworm-security main`, '',
].join('\n');
/** the base tarball and image are named after their recipe */
const BASE_ID = createHash('sha256').update(JSON.stringify([DEBOOTSTRAP, MIRROR, SOURCES])).digest('hex').slice(0, 12);
const BASE_TAR = join(CACHE, `bookworm-minbase-${BASE_ID}.tar`);
const BASE = `vkernel/bookworm-base:${BASE_ID}`;
const IMAGE = 'vkernel-vm:test';
const MIN = 60_000;

const CHECKS = [
  'vm.docker_runtimes', 'vm.fifo_real_policy', 'vm.fifo_runtime_set', 'vm.plain_is_cfs', 'vm.wakeup_granularity',
  'vm.module_denies_syscall', 'vm.module_unloaded', 'vm.bad_value_message', 'vm.nothing_left',
];

/** PEM certificates the host trusts beyond Debian's (a TLS-intercepting proxy in front of npm) */
function extraCaCerts(): string {
  const dir = '/usr/local/share/ca-certificates';
  if (!existsSync(dir)) return '';
  return readdirSync(dir).filter((n) => n.endsWith('.crt')).sort().map((n) => readFileSync(join(dir, n), 'utf8').trim()).join('\n');
}

async function ensureBaseTar(): Promise<void> {
  if (existsSync(BASE_TAR)) return;
  const root = mkdtempSync(join(CACHE, 'bootstrap.'));
  try {
    await execa('debootstrap', [...DEBOOTSTRAP, root, MIRROR], { timeout: 15 * MIN });
    writeFileSync(join(root, 'etc/apt/sources.list'), SOURCES);
    await execa('tar', ['-C', root, '-cf', `${BASE_TAR}.tmp`, '.']);
    renameSync(`${BASE_TAR}.tmp`, BASE_TAR);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

let results = new Map<string, TestLine>();
let console_ = '';

beforeAll(requireRoot);

describe('Dockerfile.vm: built with docker build, booted under qemu, docker run --runtime=vkernel-runtime inside', () => {
  const d = new Dockerd(join(CACHE, 'docker'));
  const out = mkdtempSync(join(tmpdir(), 'vk-vmimage-'));

  beforeAll(async () => {
    mkdirSync(CACHE, { recursive: true });
    await ensureBaseTar();
    d.writeConfig({});
    await d.start();
    if ((await d.docker(['image', 'inspect', BASE])).exitCode !== 0) {
      const r = await d.docker(['import', BASE_TAR, BASE]);
      if (r.exitCode !== 0) throw new Error(`docker import: ${r.stderr}`);
    }
    const t0 = Date.now();
    // the runtime and kernel stages are tagged too: untagged, they would be dangling images that the
    // prune below removes, and the next run would build the kernel again
    const common = ['--network', 'host', '--build-arg', `BASE=${BASE}`, '--build-arg', `EXTRA_CA_CERTS=${extraCaCerts()}`, '-f', 'Dockerfile.vm'];
    for (const [target, tag] of [['runtime', `${IMAGE}-runtime-stage`], ['kernel', `${IMAGE}-kernel-stage`], [undefined, IMAGE]]) {
      const ts = Date.now();
      const build = await d.docker(['build', ...common, ...(target ? ['--target', target] : []), '-t', tag!, '.'], { all: true, timeout: 60 * MIN });
      if (build.exitCode !== 0) throw new Error(`docker build -f Dockerfile.vm${target ? ` --target ${target}` : ''} failed:\n${String(build.all).slice(-4000)}`);
      // the stage times deploy/vm/README.md quotes (a cached stage takes seconds)
      console.log(`docker build -f Dockerfile.vm --target ${target ?? '(image)'}: ${((Date.now() - ts) / 1000).toFixed(0)} s`);
    }
    console.log(`docker build -f Dockerfile.vm: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    await d.docker(['image', 'prune', '-f']);

    const img = await execa('scripts/vm-image.sh', [IMAGE, out], { env: { DOCKER: '/usr/bin/docker', DOCKER_HOST: `unix://${d.sock}` }, all: true, reject: false });
    if (img.exitCode !== 0) throw new Error(`scripts/vm-image.sh: ${img.all}`);
    const t1 = Date.now();
    const boot = await execa('scripts/vm-boot.sh', [out, 'test/e2e/vm-image/guest.sh', '900'], { all: true, reject: false, timeout: 16 * MIN });
    console_ = String(boot.all);
    console.log(`VM boot + checks: ${((Date.now() - t1) / 1000).toFixed(0)} s\n${console_.split('\n').filter((l) => /vkernel-vm:|VKDONE/.test(l)).join('\n')}`);
    results = parseConsole(console_).results;
  }, 80 * MIN);

  afterAll(async () => {
    await d.stop();
    rmSync(out, { recursive: true, force: true });
  }, 2 * MIN);

  test.each(CHECKS)('%s', (name) => {
    const r = results.get(name);
    if (r === undefined) throw new Error(`no result for ${name}; guest console (tail):\n${console_.slice(-3000)}`);
    expect(`${r.status} ${r.detail}`).toMatch(/^PASS/);
  });

  test('the image boots its own kernel: the patched one, with every vkernel feature', () => {
    // the ABI the series in kernel/ defines (as the VM tier checks each of its boots)
    expect(console_).toMatch(new RegExp(`vkernel-vm: kernel \\S+, vkernel abi ${expectedAbi()}, features: real_policy sched_params sysctl_write printk_ns mm_policy syscall_table futex_table`));
  });
});
