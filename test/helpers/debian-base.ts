import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Dockerd } from './engines.js';

/**
 * The Debian 12 base image that Dockerfile.vm's stages build on, made the way a user without a
 * registry makes it (deploy/vm/README.md): debootstrap from this machine's Debian mirror (its apt
 * sources, scripts/debian-mirror.sh), `docker import`. Cached outside the repo under
 * $VKERNEL_CACHE/vm (the tarball) and in the dockerd data-root the image tests share
 * ($VKERNEL_CACHE/vm/docker), so that docker's layer cache keeps the stages between runs.
 */
/** the cache kernel/build.sh and these images use ($VKERNEL_CACHE) */
export const CACHE_ROOT = process.env.VKERNEL_CACHE ?? '/var/cache/vkernel-runtime';
export const VM_CACHE = join(CACHE_ROOT, 'vm');
export const DOCKER_DATA_ROOT = join(VM_CACHE, 'docker');
const MIN = 60_000;
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
const BASE_TAR = join(VM_CACHE, `bookworm-minbase-${BASE_ID}.tar`);
export const BASE = `vkernel/bookworm-base:${BASE_ID}`;

/** PEM certificates the host trusts beyond Debian's (a TLS-intercepting proxy in front of npm) */
export function extraCaCerts(): string {
  const dir = '/usr/local/share/ca-certificates';
  if (!existsSync(dir)) return '';
  return readdirSync(dir).filter((n) => n.endsWith('.crt')).sort().map((n) => readFileSync(join(dir, n), 'utf8').trim()).join('\n');
}

async function ensureBaseTar(): Promise<void> {
  if (existsSync(BASE_TAR)) return;
  const root = mkdtempSync(join(VM_CACHE, 'bootstrap.'));
  try {
    await execa('debootstrap', [...DEBOOTSTRAP, root, MIRROR], { timeout: 15 * MIN });
    writeFileSync(join(root, 'etc/apt/sources.list'), SOURCES);
    await execa('tar', ['-C', root, '-cf', `${BASE_TAR}.tmp`, '.']);
    renameSync(`${BASE_TAR}.tmp`, BASE_TAR);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** the base image in `d` (debootstrapped once, imported once per data-root) */
export async function ensureBaseImage(d: Dockerd): Promise<void> {
  mkdirSync(VM_CACHE, { recursive: true });
  await ensureBaseTar();
  if ((await d.docker(['image', 'inspect', BASE])).exitCode === 0) return;
  const r = await d.docker(['import', BASE_TAR, BASE]);
  if (r.exitCode !== 0) throw new Error(`docker import: ${r.stderr}`);
}

/** `docker build` of one Dockerfile.vm target from the repo, tagged (an untagged stage would be a
 * dangling image that a prune removes, and the next run would build it again); returns its output */
export async function buildVmTarget(d: Dockerd, target: string | undefined, tag: string): Promise<string> {
  const ts = Date.now();
  const args = ['build', '--network', 'host', '--build-arg', `BASE=${BASE}`, '--build-arg', `EXTRA_CA_CERTS=${extraCaCerts()}`,
    '-f', 'Dockerfile.vm', ...(target ? ['--target', target] : []), '-t', tag, '.'];
  const build = await d.docker(args, { all: true, timeout: 60 * MIN });
  if (build.exitCode !== 0) throw new Error(`docker build -f Dockerfile.vm${target ? ` --target ${target}` : ''} failed:\n${String(build.all).slice(-4000)}`);
  console.log(`docker build -f Dockerfile.vm --target ${target ?? '(image)'}: ${((Date.now() - ts) / 1000).toFixed(0)} s`);
  return String(build.all);
}

/** scripts/vm-kernel-prebuilt.sh: the patched kernel of kernel/ (built here if not cached, as the
 * VM tier builds it) handed to Dockerfile.vm through .vm-kernel/, so the image does not build it
 * again; returns its cache key and its directory (under $VKERNEL_CACHE, or the seed cache's that
 * kernel/build.sh took it from) */
export async function stagePrebuiltKernel(): Promise<{ key: string; dir: string }> {
  const r = await execa('scripts/vm-kernel-prebuilt.sh', [], { all: true, reject: false, timeout: 60 * MIN });
  if (r.exitCode !== 0) throw new Error(`scripts/vm-kernel-prebuilt.sh: ${String(r.all).slice(-3000)}`);
  return { key: readFileSync('.vm-kernel/key', 'utf8').trim(), dir: readFileSync('.vm-kernel/from', 'utf8').trim() };
}
