// The module rename and build on a real kernel module. This host has no loadable module support,
// so the module is built against Debian's headers (linux-headers-amd64, installed by
// scripts/setup.sh) and checked with kmod's modinfo; loading it is the VM tier's job.
import { execFileSync, execFile } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jest } from '@jest/globals';
import { readEnv } from '../../src/env.js';
import { buildModule, cachedKernelId, cacheKey, defaultKdir, kernelId, PLACEHOLDER, sourceHash } from '../../src/module/build.js';
import { loadModule, unloadModule } from '../../src/module/load.js';
import { ModuleBuild, ModuleRename } from '../../src/cli/admin/module.js';
import { currentName, modinfo, MODULE_NAME_LEN, parseElf, renameModule, THIS_MODULE_NAME_OFFSET } from '../../src/module/elf.js';

jest.setTimeout(600_000);

const REPO = new URL('../../', import.meta.url).pathname;
const FIXTURE = join(REPO, 'test/fixtures/hello-module');
const made: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  made.push(d);
  return d;
};
afterAll(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });
const VKERNEL_SRC = join(REPO, 'modules/vkernel');
const BUN = join(REPO, 'node_modules/@oven/bun-linux-x64/bin/bun');

/**
 * Debian's prepared headers (/usr/src/linux-headers-<ver>-amd64). They build for Debian's kernel,
 * not the running one, so /lib/modules/$(uname -r)/build does not point at them: find them here.
 * Missing: installed with apt when running as root (as scripts/setup.sh does), else a clear failure.
 */
function debianHeaders(): string {
  if (process.env.VKERNEL_TEST_KDIR) return process.env.VKERNEL_TEST_KDIR;
  const find = () => readdirSync('/usr/src')
    .filter((n) => /^linux-headers-.*-amd64$/.test(n))
    .map((n) => join('/usr/src', n))
    .filter((d) => existsSync(join(d, 'include/generated/utsrelease.h')))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  let found = find();
  if (!found.length && process.getuid?.() === 0) {
    process.stderr.write('module-elf.test: no Debian kernel headers; installing linux-headers-amd64 with apt-get\n');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-o', 'DPkg::Lock::Timeout=600'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-o', 'DPkg::Lock::Timeout=600', 'linux-headers-amd64'], { stdio: 'ignore', env });
    found = find();
  }
  if (!found.length) {
    throw new Error('these tests build a real module and need Debian kernel headers: run scripts/setup.sh (or apt-get install linux-headers-amd64 kmod), or set VKERNEL_TEST_KDIR to a prepared kernel tree');
  }
  return found[found.length - 1];
}

const modinfoField = (file: string, field: string) => execFileSync('modinfo', ['-F', field, file], { encoding: 'utf8' }).trim();

let kdir: string;
let ko: Buffer;
let koPath: string;
let cache: string;
let firstBuild: { ms: number; cached: boolean };

beforeAll(async () => {
  kdir = debianHeaders();
  cache = tmp('vk-modcache-');
  const r = await buildModule({ kdir, source: FIXTURE, cacheDir: cache });
  firstBuild = r;
  koPath = r.ko;
  ko = readFileSync(r.ko);
  process.stderr.write(`module-elf.test: fixture built against ${kdir} in ${r.ms} ms\n`);
});

describe('ELF rename on a real module', () => {
  test('the built module parses, and is named the 55-character placeholder in both places', () => {
    const elf = parseElf(ko);
    expect(elf.type).toBe(1); // ET_REL
    expect(elf.machine).toBe(62); // x86_64
    const sec = elf.section('.gnu.linkonce.this_module');
    expect(sec).toBeDefined();
    expect(sec!.size).toBeGreaterThanOrEqual(THIS_MODULE_NAME_OFFSET + MODULE_NAME_LEN);
    expect(elf.section('.modinfo')).toBeDefined();
    expect(currentName(ko)).toBe('hello_placeholder______________________________________');
    expect(currentName(ko)).toHaveLength(55);
    expect(modinfoField(koPath, 'name')).toBe(currentName(ko));
    // the section names agree with binutils
    const readelf = execFileSync('readelf', ['-S', '-W', koPath], { encoding: 'utf8' });
    for (const s of elf.sections.filter((x) => x.name)) expect(readelf).toContain(s.name);
  });

  const names = ['web01', 'vkernel_3f4e5d6c7b8a', 'a', `vkernel_${'z'.repeat(47)}`];
  test.each(names)('rename to %s: modinfo and struct module show the new name, nothing else changes', (name) => {
    const out = renameModule(ko, name);
    const dir = tmp('vk-rename-');
    const file = join(dir, `${name}.ko`);
    writeFileSync(file, out);
    expect(modinfoField(file, 'name')).toBe(name);
    expect(currentName(out)).toBe(name);
    // the rest of .modinfo is intact
    expect(modinfoField(file, 'license')).toBe('GPL');
    expect(modinfoField(file, 'vermagic')).toBe(modinfoField(koPath, 'vermagic'));
    // only the bytes of the two name fields differ
    const elf = parseElf(out);
    const sec = elf.section('.gnu.linkonce.this_module')!;
    const nameAt = sec.offset + THIS_MODULE_NAME_OFFSET;
    const info = modinfo(ko).find((e) => e.key === 'name')!;
    const valueAt = info.offset + 5;
    expect(out.length).toBe(ko.length);
    for (let i = 0; i < out.length; i++) {
      if (out[i] === ko[i]) continue;
      const inName = i >= nameAt && i < nameAt + MODULE_NAME_LEN;
      const inInfo = i >= valueAt && i < valueAt + info.value.length;
      if (!inName && !inInfo) throw new Error(`byte ${i} changed outside the name fields`);
    }
    // the input is not modified
    expect(currentName(ko)).toBe('hello_placeholder______________________________________');
  });

  test('a 55-character name fits; 56 characters and invalid characters are refused', () => {
    expect(currentName(renameModule(ko, 'n'.repeat(55)))).toBe('n'.repeat(55));
    expect(() => renameModule(ko, 'n'.repeat(56))).toThrow('invalid module name');
    expect(() => renameModule(ko, 'bad-name')).toThrow('invalid module name');
    expect(() => renameModule(ko, 'bad.name')).toThrow('invalid module name');
    expect(() => renameModule(ko, '')).toThrow('invalid module name');
    expect(() => renameModule(ko, 'ü')).toThrow('invalid module name');
  });

  test('a name longer than the built one does not fit in .modinfo and is refused', () => {
    const short = renameModule(ko, 'short');
    expect(() => renameModule(short, 'longer_name')).toThrow(/"longer_name" \(11 characters\) does not fit: this module was built as "short" \(5\)/);
    expect(currentName(renameModule(short, 'tiny'))).toBe('tiny');
  });

  test('refuses what is not a module of the known layout', () => {
    expect(() => renameModule(Buffer.from('not an elf file at all, no no no no no no no no no no no no no no no'), 'x')).toThrow('not an ELF file');
    const elf = parseElf(ko);
    const sec = elf.section('.gnu.linkonce.this_module')!;
    // struct module name moved/garbled: the +0x18 constant no longer holds, so no rename
    const bad = Buffer.from(ko);
    bad[sec.offset + THIS_MODULE_NAME_OFFSET] = 'X'.charCodeAt(0);
    expect(() => renameModule(bad, 'web01')).toThrow(/struct module name not found at \+0x18.*refusing to rename/);
    // a 32-bit or big-endian file
    const b32 = Buffer.from(ko);
    b32[4] = 1;
    expect(() => renameModule(b32, 'web01')).toThrow('not a 64-bit ELF file');
    const sh = Buffer.from(ko);
    sh.writeBigUInt64LE(BigInt(ko.length), 0x28);
    expect(() => parseElf(sh)).toThrow('outside the file');
  });
});

describe('modules/vkernel', () => {
  test('builds against Debian\'s headers (no vkernel_attach there: the refusing variant), renames, shows its parameters', async () => {
    const r = await buildModule({ kdir, source: VKERNEL_SRC, cacheDir: cache });
    const image = readFileSync(r.ko);
    expect(currentName(image)).toBe(PLACEHOLDER);
    expect(PLACEHOLDER).toHaveLength(55);
    const dir = tmp('vk-rename-');
    const file = join(dir, 'vkernel_3f4e5d6c7b8a.ko');
    writeFileSync(file, renameModule(image, 'vkernel_3f4e5d6c7b8a'));
    expect(modinfoField(file, 'name')).toBe('vkernel_3f4e5d6c7b8a');
    expect(modinfoField(file, 'license')).toBe('GPL');
    const params = modinfoField(file, 'parm').split('\n').map((l) => l.split(':')[0]);
    expect(params.sort()).toEqual(['caps_max', 'container_id', 'deny', 'deny_ia32', 'deny_x32', 'fs_rules', 'futex_buckets', 'init_pid', 'ns_deny', 'personality']);
    // the code never prints or registers KBUILD_MODNAME: after the rename, the placeholder is
    // left only in debug info and the FILE symbol of the .mod.c, never in code or data
    const out = readFileSync(file);
    const where = parseElf(out).sections
      .filter((s) => s.type !== 8 && out.subarray(s.offset, s.offset + s.size).includes(PLACEHOLDER))
      .map((s) => s.name);
    for (const w of where) expect(w).toMatch(/^(\.debug_|\.strtab$)/);
  });
});

describe('build cache', () => {
  test('build figures: the first build compiles, the second is a cache hit', async () => {
    expect(firstBuild.cached).toBe(false);
    const again = await buildModule({ kdir, source: FIXTURE, cacheDir: cache });
    expect(again.cached).toBe(true);
    expect(again.ko).toBe(koPath);
    process.stderr.write(`module-elf.test: build ${firstBuild.ms} ms, cache hit ${again.ms} ms\n`);
    const meta = JSON.parse(readFileSync(join(cache, again.key, 'meta.json'), 'utf8'));
    expect(meta.release).toBe(modinfoField(koPath, 'vermagic').split(' ')[0]);
    expect(existsSync(join(cache, again.key, 'src/hello.c'))).toBe(true);
  });

  test('key: same inputs give the same key; a changed source, Module.symvers or release a new one', () => {
    const k = kernelId(kdir);
    const src = sourceHash(FIXTURE);
    expect(cacheKey(k, src)).toBe(cacheKey(kernelId(kdir), sourceHash(FIXTURE)));
    const copy = tmp('vk-src-');
    cpSync(FIXTURE, copy, { recursive: true });
    expect(sourceHash(copy)).toBe(src); // names and contents, not where it lives
    writeFileSync(join(copy, 'build-artifact.o'), 'x'); // objects do not count
    expect(sourceHash(copy)).toBe(src);
    appendFileSync(join(copy, 'hello.c'), '\n/* changed */\n');
    expect(sourceHash(copy)).not.toBe(src);
    expect(cacheKey(k, sourceHash(copy))).not.toBe(cacheKey(k, src));
    expect(cacheKey({ ...k, symvers: '0'.repeat(64) }, src)).not.toBe(cacheKey(k, src));
    expect(cacheKey({ ...k, release: '6.1.192-vkernel' }, src)).not.toBe(cacheKey(k, src));
  });

  test('two concurrent builds in one process: make runs once, both get the same module', async () => {
    const counter = join(tmp('vk-count-'), 'makes');
    const make = countingMake(counter);
    const c = tmp('vk-modcache-');
    const [a, b] = await Promise.all([
      buildModule({ kdir, source: FIXTURE, cacheDir: c, make }),
      buildModule({ kdir, source: FIXTURE, cacheDir: c, make }),
    ]);
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
    expect([a.cached, b.cached].sort()).toEqual([false, true]);
    expect(a.ko).toBe(b.ko);
    expect(readdirSync(c).filter((n) => n.startsWith('.build-'))).toEqual([]);
  });

  test('two concurrent builds in two processes: make runs once, the mtime of the module stays', async () => {
    expect(existsSync(BUN)).toBe(true); // bun runs the TypeScript source directly in the children
    const counter = join(tmp('vk-count-'), 'makes');
    const make = countingMake(counter);
    const c = tmp('vk-modcache-');
    const script = `import { buildModule } from ${JSON.stringify(join(REPO, 'src/module/build.ts'))};
      const [kdir, source, cacheDir, make] = process.argv.slice(-4);
      const r = await buildModule({ kdir, source, cacheDir, make });
      console.log(JSON.stringify(r));`;
    const run = () => promisify(execFile)(BUN, ['-e', script, kdir, FIXTURE, c, make], { encoding: 'utf8' });
    const [a, b] = (await Promise.all([run(), run()])).map((r) => JSON.parse(r.stdout) as { ko: string; cached: boolean });
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
    expect([a.cached, b.cached].sort()).toEqual([false, true]);
    expect(a.ko).toBe(b.ko);
    const mtime = statSync(a.ko).mtimeMs;
    const third = await buildModule({ kdir, source: FIXTURE, cacheDir: c, make });
    expect(third.cached).toBe(true);
    expect(statSync(a.ko).mtimeMs).toBe(mtime);
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  test('a build failure gives the compiler\'s last lines and keeps the full log; nothing is cached', async () => {
    const src = tmp('vk-src-');
    cpSync(FIXTURE, src, { recursive: true });
    appendFileSync(join(src, 'hello.c'), '\nstatic int broken(void) { return undeclared_thing; }\n');
    const c = tmp('vk-modcache-');
    const err = await buildModule({ kdir, source: src, cacheDir: c }).then(() => undefined, (e: Error) => e);
    expect(err).toBeDefined();
    expect(err!.message).toMatch(/building the vkernel module for .* failed \(make exited with 2\); last lines of the build \(full log .*\.failed\.log\)/);
    expect(err!.message).toMatch(/hello\.c:\d+:\d+: error: ['‘]undeclared_thing['’] undeclared/);
    expect(err!.message.split('\n').length).toBeLessThanOrEqual(21);
    expect(readdirSync(c).filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual([]);
    expect(readdirSync(c).filter((n) => n.endsWith('.failed.log'))).toHaveLength(1);
  });

  test('the kernel id is remembered by the tree\'s stamp; any change to its files (even with the mtime put back) hashes again', () => {
    const fake = tmp('vk-kdir-');
    const memo = tmp('vk-modcache-');
    mkdirSync(join(fake, 'include/generated'), { recursive: true });
    mkdirSync(join(fake, 'include/config'), { recursive: true });
    writeFileSync(join(fake, 'Makefile'), '');
    writeFileSync(join(fake, 'include/generated/utsrelease.h'), '#define UTS_RELEASE "6.1.0-test"\n');
    writeFileSync(join(fake, 'include/generated/autoconf.h'), '#define CONFIG_X 1\n');
    writeFileSync(join(fake, 'Module.symvers'), 'aaaa\n');
    const first = cachedKernelId(fake, memo);
    expect(first).toEqual(kernelId(fake));
    const [file] = readdirSync(join(memo, '.kernel-ids'));
    expect(JSON.parse(readFileSync(join(memo, '.kernel-ids', file), 'utf8')).id).toEqual(first);
    // a forged or stale memo with another stamp is not believed
    writeFileSync(join(memo, '.kernel-ids', file), JSON.stringify({ stamp: 'x', id: { ...first, symvers: 'forged' } }));
    expect(cachedKernelId(fake, memo).symvers).toBe(first.symvers);
    // the same size and mtime, other content: the ctime moved
    const st = statSync(join(fake, 'Module.symvers'));
    writeFileSync(join(fake, 'Module.symvers'), 'bbbb\n');
    utimesSync(join(fake, 'Module.symvers'), st.atime, st.mtime);
    expect(cachedKernelId(fake, memo).symvers).toBe(kernelId(fake).symvers);
    expect(cachedKernelId(fake, memo).symvers).not.toBe(first.symvers);
  });

  test('a missing kernel build directory: a clear error naming the path and the fix', async () => {
    const missing = '/nonexistent/lib/modules/6.1.0-test/build';
    await expect(buildModule({ kdir: missing, source: FIXTURE, cacheDir: tmp('vk-modcache-') })).rejects.toThrow(
      `kernel build directory ${missing} does not exist, so the vkernel module cannot be built: install the headers of the running kernel (Debian: apt-get install linux-headers-$(uname -r)) or point VKERNEL_KERNEL_BUILD`,
    );
    const notPrepared = tmp('vk-kdir-');
    writeFileSync(join(notPrepared, 'Makefile'), '');
    expect(() => kernelId(notPrepared)).toThrow('run make modules_prepare');
  });

  test('the default is /lib/modules/$(uname -r)/build, overridable by VKERNEL_KERNEL_BUILD', async () => {
    const saved = process.env.VKERNEL_KERNEL_BUILD;
    try {
      delete process.env.VKERNEL_KERNEL_BUILD;
      const def = `/lib/modules/${release()}/build`;
      expect(defaultKdir(readEnv())).toBe(def);
      if (!existsSync(def)) {
        // this host (no modules, no /lib/modules): the runtime's own default path must fail clearly
        await expect(buildModule({ source: FIXTURE, cacheDir: tmp('vk-modcache-') })).rejects.toThrow(`kernel build directory ${def} does not exist`);
      } else {
        process.stderr.write(`module-elf.test: ${def} exists here; its missing-case is covered by the explicit path above\n`);
      }
      process.env.VKERNEL_KERNEL_BUILD = kdir;
      expect(defaultKdir(readEnv())).toBe(kdir);
      expect((await buildModule({ source: FIXTURE, cacheDir: cache })).cached).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.VKERNEL_KERNEL_BUILD;
      else process.env.VKERNEL_KERNEL_BUILD = saved;
    }
  });
});

describe('load and unload (kmod replaced by recording stand-ins: no module support here)', () => {
  const script = (body: string) => {
    const file = join(tmp('vk-kmod-'), 'tool');
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  };

  test('insmod gets the renamed copy and the parameters as separate arguments', async () => {
    const out = tmp('vk-insmod-');
    const insmod = script(`cp "$1" '${out}/module.ko'; echo "$1" > '${out}/file'; shift; printf '%s\\n' "$@" > '${out}/args'`);
    const r = await loadModule({
      id: '3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899', pid: 4242, deny: ['mkdir', 'unshare'],
      futexBuckets: 1024, build: { kdir, source: VKERNEL_SRC, cacheDir: cache }, insmod,
    });
    expect(r.name).toBe('vkernel_3f4e5d6c7b8a');
    expect(readFileSync(join(out, 'file'), 'utf8').trim()).toMatch(/\/vkernel_3f4e5d6c7b8a\.ko$/);
    expect(modinfoField(join(out, 'module.ko'), 'name')).toBe('vkernel_3f4e5d6c7b8a');
    expect(readFileSync(join(out, 'args'), 'utf8').trim().split('\n')).toEqual([
      'init_pid=4242', 'container_id=3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899',
      'futex_buckets=1024', 'deny=83,272', 'deny_x32=83,272', 'deny_ia32=39,310',
    ]);
    // the temporary copy is gone
    expect(existsSync(readFileSync(join(out, 'file'), 'utf8').trim())).toBe(false);
  });

  test('an insmod failure is an error naming the module and where the kernel says why', async () => {
    const insmod = script(`echo "insmod: ERROR: could not insert module $1: Operation not supported" >&2; exit 1`);
    await expect(loadModule({ id: 'web01', pid: 7, deny: [], futexBuckets: 16, build: { kdir, source: VKERNEL_SRC, cacheDir: cache }, insmod }))
      .rejects.toThrow(/insmod vkernel_web01 failed: insmod: ERROR: could not insert module .*vkernel_web01\.ko: Operation not supported \(the kernel log says why: dmesg \| grep vkernel_web01\)/);
  });

  test('rmmod retries while the module is in use (its namespace still alive), then succeeds', async () => {
    const proc = tmp('vk-proc-');
    writeFileSync(join(proc, 'modules'), 'vkernel_web01 16384 1 - Live 0x0000000000000000\n');
    const count = join(proc, 'count');
    const rmmod = script(`echo x >> '${count}'; [ "$(wc -l < '${count}')" -ge 3 ] && { : > '${proc}/modules'; exit 0; }; echo "rmmod: ERROR: Module $1 is in use" >&2; exit 1`);
    expect(await unloadModule('vkernel_web01', { rmmod, proc, timeoutMs: 5000 })).toEqual({ attempts: 3 });
  });

  test('rmmod gives up after the bound with a clear error; a module that is not loaded counts as removed', async () => {
    const proc = tmp('vk-proc-');
    writeFileSync(join(proc, 'modules'), 'vkernel_web01 16384 1 - Live 0x0000000000000000\n');
    const busy = script('echo "rmmod: ERROR: Module $1 is in use" >&2; exit 1');
    await expect(unloadModule('vkernel_web01', { rmmod: busy, proc, timeoutMs: 300 })).rejects.toThrow(/rmmod vkernel_web01 still failing after \d+ attempts in 300 ms .*is in use/);
    const gone = script('echo "rmmod: ERROR: Module $1 is not currently loaded" >&2; exit 1');
    expect(await unloadModule('vkernel_web01', { rmmod: gone, proc, timeoutMs: 300 })).toEqual({ attempts: 1 });
    await expect(unloadModule('bad-name; rm -rf /', { rmmod: gone, proc })).rejects.toThrow('invalid module name');
  });
});

describe('admin commands (oclif)', () => {
  const oclif = { root: REPO } as never;
  const captured = async (fn: () => Promise<unknown>) => {
    const out: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const e = await fn().then(() => undefined, (x: Error) => x);
      return { out: out.join('\n'), error: e };
    } finally {
      spy.mockRestore();
      err.mockRestore();
      // oclif's error path sets process.exitCode for the CLI; in jest's own process it would fail the run
      process.exitCode = undefined;
    }
  };

  test('module build --kdir prints the cached module path; a missing kdir fails with the fix', async () => {
    const ok = await captured(() => ModuleBuild.run(['--kdir', kdir, '--source', FIXTURE, '--cache', cache, '-q'], oclif));
    expect(ok.error).toBeUndefined();
    expect(ok.out).toBe(koPath);
    const bad = await captured(() => ModuleBuild.run(['--kdir', '/nonexistent/build', '--source', FIXTURE, '--cache', cache], oclif));
    expect(bad.error?.message).toMatch('kernel build directory /nonexistent/build does not exist');
    expect((bad.error as { oclif?: { exit?: number } }).oclif?.exit).toBe(1);
  });

  test('module rename <in.ko> <out.ko> <name> writes a copy that modinfo names', async () => {
    const out = join(tmp('vk-cli-'), 'web01.ko');
    const r = await captured(() => ModuleRename.run([koPath, out, 'vkernel_web01'], oclif));
    expect(r.error).toBeUndefined();
    expect(r.out).toBe(`${out}: hello_placeholder______________________________________ -> vkernel_web01`);
    expect(modinfoField(out, 'name')).toBe('vkernel_web01');
    const bad = await captured(() => ModuleRename.run([koPath, out, 'x'.repeat(56)], oclif));
    expect(bad.error?.message).toMatch(`module rename ${koPath}: invalid module name`);
    expect(modinfoField(out, 'name')).toBe('vkernel_web01'); // untouched
  });
});

/** a make that appends a line to `counter` per run, then runs the real make */
function countingMake(counter: string): string {
  const dir = tmp('vk-make-');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'make');
  writeFileSync(file, `#!/bin/sh\necho "$$" >> '${counter}'\nexec make "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

