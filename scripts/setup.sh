#!/bin/sh
# Installs what the demo and the tests need on Debian 12 (as root), then builds.
#   scripts/setup.sh [demo|test|scx]   (scx: what `npm run test:scx` needs, the same as test's)
set -eu
cd "$(dirname "$0")/.."
what=${1:-test}
[ "$(id -u)" = 0 ] || { echo "vkernel-runtime: run as root (containers are started with runc)" >&2; exit 1; }

# musl-tools: the C entry point and client are linked against musl (scripts/build.mjs)
pkgs="runc busybox-static util-linux jq musl-tools"
if [ "$what" = test ] || [ "$what" = scx ]; then
  # VM tier: the patched kernel is built from Debian's linux-source-6.1 and booted under qemu
  # e2e tier: the real engines
  pkgs="$pkgs containerd docker.io podman diffutils"
  # integration tier (test/integration/systemd-driver.test.ts): a real systemd, booted as PID 1 of
  # a sandbox for runc's --systemd-cgroup (the host's init need not be systemd)
  pkgs="$pkgs systemd"
  # integration tier (test/integration/adaptive.test.ts): strace counts a helper's file opens
  pkgs="$pkgs strace"
  pkgs="$pkgs linux-source-6.1 build-essential flex bison bc libelf-dev libssl-dev cpio qemu-system-x86 kmod"
  # module tests (test/unit/module-elf.test.ts): build a real module against Debian's kernel headers
  pkgs="$pkgs linux-headers-amd64"
  # Dockerfile.vm test (test/e2e/vm-image.test.ts): a local Debian 12 base image
  pkgs="$pkgs debootstrap"
fi
if [ "$what" = test ] || [ "$what" = scx ]; then
  # the scx backend's suite (test/scx/suite.ts; its stock-kernel half is in the VM tier): the BPF
  # scheduler (clang >= 16: tools/sched_ext/README.md). The 6.12 kernel's BTF (npm run test:scx)
  # needs pahole >= 1.25 (bookworm's dwarves has 1.24): kernel/build-scx.sh fetches trixie's into its
  # cache, nothing is installed for it here.
  pkgs="$pkgs clang-16"
fi
missing=""
for p in $pkgs; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "==> apt-get install$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -o DPkg::Lock::Timeout=600 >/dev/null
  apt-get install -y -o DPkg::Lock::Timeout=600 $missing >/dev/null
fi
# never through a symlink: a worktree whose node_modules links to another checkout's would have
# `npm ci` empty that checkout's modules (it did once: a rebase made package-lock.json newer)
if [ -L node_modules ]; then
  echo "==> node_modules is a link ($(readlink node_modules)): not installing through it"
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi
echo "==> build"
node scripts/build.mjs >/dev/null
