import { makeBundle, requireRoot, runc, tempRoot, uid, vk } from '../helpers/fixtures.js';
import { needs, STOCK_KERNEL } from '../helpers/prereq.js';

/** The per-container module on this host (no loadable modules): clear errors, nothing created. */
beforeAll(requireRoot);

test.each([
  [{ 'io.vkernel.syscall.deny': 'mkdir' }, /io\.vkernel\.syscall\.deny=mkdir \(from annotation\): this kernel .* (has no loadable module support|is not the vkernel kernel)/],
  [{ 'io.vkernel.module': 'true' }, /io\.vkernel\.module=true \(from annotation\): this kernel/],
  [{ 'io.vkernel.syscall.deny': 'mkdir,notacall' }, /notacall/],
  // issue 14 §2/§3: the rules need the module, and the ceiling names only Linux 6.1's capabilities
  [{ 'io.vkernel.caps.max': 'CAP_CHOWN' }, /io\.vkernel\.caps\.max=CAP_CHOWN \(from annotation\): this kernel .* (has no loadable module support|is not the vkernel kernel)/],
  [{ 'io.vkernel.syscall.namespaces': 'deny' }, /io\.vkernel\.syscall\.namespaces=deny \(from annotation\): this kernel/],
  [{ 'io.vkernel.syscall.personality': 'linux' }, /io\.vkernel\.syscall\.personality=linux \(from annotation\): this kernel/],
  [{ 'io.vkernel.caps.max': 'CAP_CHOWN,CAP_FLY' }, /io\.vkernel\.caps\.max: \\"CAP_CHOWN,CAP_FLY\\" is not none or comma-separated capability names of Linux 6\.1/],
  // issue 14 §4: file rules need the module (and a kernel with fs_rules); the grammar is checked first
  [{ 'io.vkernel.fs.rules': 'deny-read:/etc/shadow' }, /io\.vkernel\.fs\.rules=deny-read:\/etc\/shadow \(from annotation\): this kernel .* (has no loadable module support|is not the vkernel kernel)/],
  [{ 'io.vkernel.fs.rules': 'read:/etc/shadow' }, /io\.vkernel\.fs\.rules: \\"read:\/etc\/shadow\\" is not comma-separated rules deny-read:PATH, deny-write:PATH or deny-rw:PATH/],
])('%j is refused before anything exists', async (annotations, message) => {
  const bundle = await makeBundle({ args: ['true'], annotations });
  const root = tempRoot();
  const r = await vk(['--root', root, 'run', '--bundle', bundle, uid('mod')]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(message);
  expect((await runc(['--root', root, 'list', '-q'])).stdout).toBe('');
});

needs(STOCK_KERNEL).test('non-strict: the container runs without the module, with a warning', async () => {
  const bundle = await makeBundle({ args: ['echo', 'ran'], annotations: { 'io.vkernel.syscall.deny': 'mkdir', 'io.vkernel.strict': 'false' } });
  const r = await vk(['--root', tempRoot(), 'run', '--bundle', bundle, uid('mod')]);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toBe('ran');
  expect(r.stderr).toMatch(/level=warning .*io\.vkernel\.syscall\.deny=mkdir.*running without it/);
});
