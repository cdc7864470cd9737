// Build: AOT policy validator (ajv standalone) → the launcher's argv patterns (from src/oci/flags.ts) → tsc → single-file engine binary (bun --compile).
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, copyFileSync, rmSync } from 'node:fs';

const bun = 'node_modules/@oven/bun-linux-x64/bin/bun';
// the engine is compiled by the baseline build of bun: it runs on any x86-64 CPU (the default one
// needs AVX2, which older hosts, many VMs and qemu's TCG CPUs lack: "Illegal instruction")
const bunBaseline = 'node_modules/@oven/bun-linux-x64-baseline/bin/bun';
/** JavaScriptCore's tier-up thresholds scale at the engine's start (1: bun's normal policy) */
const JIT_POLICY = 100;
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });

run(bun, ['scripts/gen-validator.ts']);
run(bun, ['scripts/gen-launcher.ts']);
run('node_modules/.bin/tsc', ['-p', 'tsconfig.json']);
mkdirSync('dist/src/policy', { recursive: true });
for (const f of ['validate.generated.js', 'validate-config.generated.js']) copyFileSync(`src/policy/${f}`, `dist/src/policy/${f}`);
// the engine server's client (client/vkernel-client.c): without a C compiler, no client, and the
// launcher takes the engine for every create (bin/vkernel-runtime `client`)
if (process.env.VKERNEL_BUILD_NO_COMPILE !== '1') {
  mkdirSync('dist', { recursive: true });
  try {
    // static: no dynamic loader at each create, and it runs on a node whose libc is not the
    // builder's (the Kubernetes installer copies it there: src/install/node.ts). Against musl where
    // musl-gcc is installed (musl-tools): a glibc static binary's start-up costs ~0.7 ms CPU more on
    // these VMs (perf stat of `int main(void){return 0;}`: 0.91 vs 0.25 ms CPU, 2.25 vs 1.09 ms
    // elapsed), and the C entry point starts at every call (issue 15's note: bench/variants.mjs)
    const args = ['-O2', '-static', '-Wall', '-Wextra', '-Werror', '-o', 'dist/vkernel-client', 'client/vkernel-client.c'];
    try {
      execFileSync('musl-gcc', args, { stdio: 'inherit' });
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
      console.warn('build: no musl-gcc (Debian: musl-tools): the client is linked against glibc (static), ~0.7 ms CPU more per call');
      execFileSync('cc', args, { stdio: 'inherit' });
    }
    // the same program under the runtime's name: the C entry point (launcher mode), which takes the
    // hot calls without the sh launcher's /bin/sh and passes the rest to bin/vkernel-runtime
    rmSync('dist/vkernel-runtime', { force: true });
    linkSync('dist/vkernel-client', 'dist/vkernel-runtime');
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    console.warn('build: no C compiler (cc): no dist/vkernel-client, every create with a request runs the engine');
  }
}
if (process.env.VKERNEL_BUILD_NO_COMPILE !== '1' && existsSync(bunBaseline)) {
  // The engine handles create/run/start/delete/features; bun starts in ~6 ms where node takes ~70.
  // --bytecode: JavaScriptCore bytecode compiled ahead of time (measured: 58 → 16 ms per `state`).
  // --no-compile-autoload-*: a bun executable otherwise loads .env and bunfig.toml from its working
  // directory at every start — the caller's (containerd's shim: the bundle directory; anyone's with
  // sudo): a .env there set our environment (VKERNEL_RUNC ...), a bunfig.toml `preload` ran any
  // JavaScript in the engine as root; and it read every directory from / down to the working
  // directory (getdents64 of /tmp: 20 calls here). Measured at start-up, perf stat task-clock, 30
  // interleaved runs, cwd /tmp: 66.7 -> 54.7 ms CPU (test/integration/engine-cwd.test.ts).
  // --format=esm --splitting: each module a dynamic import() reaches (create's lifecycle, every
  // other command, the installers) is a chunk of its own whose bytecode is loaded only when that
  // import runs, not at every start. --compile-jit-policy: JavaScriptCore's tier-up thresholds
  // scaled up, so a call's run-once code stays in the interpreter instead of keeping JIT threads
  // busy compiling it; the helpers that live as long as a container set the normal policy back
  // (src/cli/main.ts normalJit), the engine server keeps it (each call runs its code once there
  // too). Measured: see issue 15's note (bench/variants.mjs, npm run bench -- --profile).
  run(bunBaseline, ['build', '--compile', '--minify', '--bytecode', '--format=esm', '--splitting', `--compile-jit-policy=${JIT_POLICY}`, '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', 'dist/src/cli/main.js', '--outfile', 'dist/vkernel-engine']);
}
