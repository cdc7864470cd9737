import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildVmTarget, DOCKER_DATA_ROOT, ensureBaseImage, stagePrebuiltKernel } from '../helpers/debian-base.js';
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
const IMAGE = 'vkernel-vm:test';
const MIN = 60_000;

const CHECKS = [
  'vm.docker_runtimes', 'vm.fifo_real_policy', 'vm.fifo_runtime_set', 'vm.plain_is_cfs', 'vm.wakeup_granularity',
  'vm.module_denies_syscall', 'vm.module_unloaded', 'vm.bad_value_message', 'vm.nothing_left',
];

let results = new Map<string, TestLine>();
let console_ = '';

beforeAll(requireRoot);

describe('Dockerfile.vm: built with docker build, booted under qemu, docker run --runtime=vkernel-runtime inside', () => {
  const d = new Dockerd(DOCKER_DATA_ROOT);
  const out = mkdtempSync(join(tmpdir(), 'vk-vmimage-'));

  beforeAll(async () => {
    d.writeConfig({});
    await d.start();
    await ensureBaseImage(d);
    const { key, dir: kernelDir } = await stagePrebuiltKernel();
    const t0 = Date.now();
    for (const [target, tag] of [['runtime', `${IMAGE}-runtime-stage`], ['kernel', `${IMAGE}-kernel-stage`], [undefined, IMAGE]] as const) {
      await buildVmTarget(d, target, tag);
    }
    console.log(`docker build -f Dockerfile.vm: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    await d.docker(['image', 'prune', '-f']);

    const img = await execa('scripts/vm-image.sh', [IMAGE, out], { env: { DOCKER: '/usr/bin/docker', DOCKER_HOST: `unix://${d.sock}` }, all: true, reject: false });
    if (img.exitCode !== 0) throw new Error(`scripts/vm-image.sh: ${img.all}`);
    // the kernel the host built (and the VM tier boots) went into the image, not a second build of it
    // (a kernel built in the image differs in its build timestamp)
    const hostKernel = join(kernelDir, 'bzImage');
    if (!readFileSync(join(out, 'bzImage')).equals(readFileSync(hostKernel))) throw new Error(`Dockerfile.vm built its own kernel instead of taking ${key} from .vm-kernel/`);
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
