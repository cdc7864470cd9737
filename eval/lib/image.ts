/** The VM image of Dockerfile.vm as qemu boots it (bzImage + rootfs.cpio), built the way the e2e
 * tier builds it (test/e2e/vm-image.test.ts: debootstrap base, docker build against a private
 * dockerd whose data-root under $VKERNEL_CACHE/vm keeps the layer cache, the host's patched kernel
 * handed in through .vm-kernel/), then exported by scripts/vm-image.sh into a directory named
 * after the image's id, so an unchanged image is not exported again. */
import { execa } from 'execa';
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildVmTarget, DOCKER_DATA_ROOT, ensureBaseImage, stagePrebuiltKernel, VM_CACHE } from '../../test/helpers/debian-base.js';
import { Dockerd } from '../../test/helpers/engines.js';

/** the same tags as the e2e tier's: both share one layer cache per $VKERNEL_CACHE */
const IMAGE = 'vkernel-vm:test';

export interface VmImage {
  dir: string;
  /** the patched kernel's cache key (kernel/build.sh) */
  kernelKey: string;
  imageId: string;
}

export async function prepareImage(log: (s: string) => void): Promise<VmImage> {
  const d = new Dockerd(DOCKER_DATA_ROOT);
  d.writeConfig({});
  await d.start();
  try {
    await ensureBaseImage(d);
    const { key: kernelKey } = await stagePrebuiltKernel();
    for (const [target, tag] of [['runtime', `${IMAGE}-runtime-stage`], ['kernel', `${IMAGE}-kernel-stage`], [undefined, IMAGE]] as const) {
      await buildVmTarget(d, target, tag);
    }
    await d.docker(['image', 'prune', '-f']);
    const imageId = (await d.docker(['image', 'inspect', '-f', '{{.Id}}', IMAGE])).stdout.trim().replace(/^sha256:/, '').slice(0, 12);
    const dir = join(VM_CACHE, `eval-image-${imageId}`);
    if (!existsSync(join(dir, 'rootfs.cpio'))) {
      // older exports of other images go: each is as large as the image (~600 MB)
      for (const n of readdirSync(VM_CACHE)) if (n.startsWith('eval-image-')) rmSync(join(VM_CACHE, n), { recursive: true, force: true });
      const tmp = `${dir}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      const r = await execa('scripts/vm-image.sh', [IMAGE, tmp], { env: { DOCKER: '/usr/bin/docker', DOCKER_HOST: `unix://${d.sock}` }, all: true, reject: false });
      if (r.exitCode !== 0) throw new Error(`scripts/vm-image.sh: ${r.all}`);
      writeFileSync(join(tmp, 'kernel-key'), `${kernelKey}\n`);
      renameSync(tmp, dir);
    }
    log(`eval: image ${imageId} (kernel ${kernelKey}) at ${dir}`);
    return { dir, kernelKey, imageId };
  } finally {
    await d.stop();
  }
}
