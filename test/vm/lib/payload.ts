// The real runtime in the guest with the per-container module: the payload (lib/runtime-payload.mjs)
// carries the module built on the host against the patched tree, in the guest's cache, so the
// patched kernel's out dir is needed first.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_TIMEOUT_MS, buildKernel } from './vm.js';

/** Call at a suite's top level, before its vmFeature()s: sets VKVM_CPU and VKVM_EXTRA_LIST for them. */
export function withModulePayload(): void {
  // the bun-built engine needs SSE4.2/POPCNT, which TCG's default CPU model lacks
  process.env.VKVM_CPU = 'max';
  beforeAll(async () => {
    const kdir = await buildKernel('patched');
    process.env.VKVM_EXTRA_LIST = execFileSync('node', ['test/vm/lib/runtime-payload.mjs', mkdtempSync(join(tmpdir(), 'vk-payload-'))], {
      encoding: 'utf8',
      env: { ...process.env, VKVM_PAYLOAD_MODULE_KDIR: kdir },
    }).trim();
  }, BUILD_TIMEOUT_MS + 5 * 60 * 1000);
}
