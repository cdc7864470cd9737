/**
 * The compiled engine takes nothing from the directory it is started in. A bun executable by
 * default loads `.env` and `bunfig.toml` from its working directory at start-up: a `.env` there
 * set the engine's environment (e.g. VKERNEL_RUNC: another program run as runc), a bunfig.toml
 * `preload` ran any JavaScript inside the engine, as root — from whatever directory the caller
 * (containerd's shim: the bundle directory; a user with sudo: anywhere) runs the runtime in. It
 * also walked every directory from / to the working directory (getdents64 of each) at every start.
 * scripts/build.mjs compiles with --no-compile-autoload-dotenv --no-compile-autoload-bunfig.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, requireRoot, runc, tempRoot, uid, vk } from '../helpers/fixtures.js';

beforeAll(requireRoot);

/** a working directory with a .env and a bunfig.toml preload that leaves `marker` when it runs */
function hostileCwd(): { dir: string; marker: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vk-cwd-'));
  const marker = join(dir, 'PRELOAD-RAN');
  writeFileSync(join(dir, '.env'), 'VKERNEL_RUNC=/bin/echo\nVKERNEL_RUNTIME_TEST_FAULT=kill-at=prepared\n');
  writeFileSync(join(dir, 'evil.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
  writeFileSync(join(dir, 'bunfig.toml'), 'preload = ["./evil.js"]\n[run]\npreload = ["./evil.js"]\n');
  return { dir, marker };
}

test('--version through the engine from a directory with .env and bunfig.toml: runc\'s own lines, no preload', async () => {
  const { dir, marker } = hostileCwd();
  try {
    const theirs = await runc(['--version']);
    const ours = await vk(['--version'], { cwd: dir });
    expect([ours.exitCode, ours.stdout.slice(0, theirs.stdout.length), existsSync(marker)]).toEqual([0, theirs.stdout, false]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30000);

test('create with a request from such a directory: runc creates it (no VKERNEL_RUNC, no fault from .env), no preload', async () => {
  const { dir, marker } = hostileCwd();
  const root = tempRoot();
  const id = uid('cwd');
  try {
    const bundle = await makeBundle({ args: ['true'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
    // (the container's stdio is a file: a pipe would stay open in the created container)
    const outFile = join(dir, 'out');
    const out = openSync(outFile, 'w');
    const r = await vk(['--root', root, 'create', '--bundle', bundle, id], { cwd: dir, stdin: 'ignore', stdout: out, stderr: out });
    closeSync(out);
    expect([r.exitCode, r.signal, readFileSync(outFile, 'utf8'), existsSync(marker)]).toEqual([0, undefined, '', false]);
    expect(JSON.parse((await runc(['--root', root, 'state', id])).stdout).status).toBe('created');
  } finally {
    await vk(['--root', root, 'delete', '--force', id]);
    rmSync(dir, { recursive: true, force: true });
  }
}, 30000);
