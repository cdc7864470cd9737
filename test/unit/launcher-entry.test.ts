import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { needs, type Prerequisite } from '../helpers/prereq.js';
import { C_HEADER, cHeader } from '../../scripts/launcher-cases.js';
import { encode } from '../../src/serve/protocol.js';

/**
 * The C entry point (dist/vkernel-runtime: client/vkernel-client.c in launcher mode) against the sh
 * launcher (bin/vkernel-runtime) on the same calls: each runs in an installation whose runc and
 * engine are scripts that print the argv they got (and runc the PATH it got, the engine the
 * VKERNEL_RUNTIME_SELF it got), so what each launcher decided is what it printed. Every call must end
 * the same way through both; the calls the C entry point takes itself (to runc, create's client, start
 * and delete without markers) must not reach the sh launcher at all (an installation whose sh launcher
 * only prints SH). The real runc and engine behind both launchers: the integration tier
 * (fast-paths.test.ts, engine-server.test.ts).
 */
const CC: Prerequisite = {
  name: 'a C compiler (cc) that links static binaries',
  ok: spawnSync('cc', ['--version']).status === 0,
  how: 'build-essential (the build compiles client/vkernel-client.c with it)',
};

const REPO = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'vk-entry-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const script = (path: string, body: string) => { writeFileSync(path, `#!/bin/sh\n${body}\n`); chmodSync(path, 0o755); };

/** an installation: bin/vkernel-runtime (the repo's, or `sh` when given), dist/ with the C program and a fake engine */
function installation(name: string, binary: string, sh?: string): string {
  const home = join(work, name);
  mkdirSync(join(home, 'bin'), { recursive: true });
  mkdirSync(join(home, 'dist'));
  if (sh === undefined) copyFileSync(join(REPO, 'bin/vkernel-runtime'), join(home, 'bin/vkernel-runtime'));
  else script(join(home, 'bin/vkernel-runtime'), sh);
  chmodSync(join(home, 'bin/vkernel-runtime'), 0o755);
  copyFileSync(binary, join(home, 'dist/vkernel-client'));
  linkSync(join(home, 'dist/vkernel-client'), join(home, 'dist/vkernel-runtime'));
  script(join(home, 'dist/vkernel-engine'), 'printf ENGINE; printf " [%s]" "$@"; echo " SELF=$VKERNEL_RUNTIME_SELF"');
  return home;
}

interface Case {
  args: string[];
  /** files made under the runc root before the call (relative), and symlinks (name -> target) */
  files?: string[];
  links?: Record<string, string>;
  /** the launcher's config file */
  config?: string;
  env?: Record<string, string>;
  /** the C entry point takes it without the sh launcher */
  fast?: boolean;
  /**
   * --vkernel-set before a call that is not a create: the sh launcher takes it to the engine, which
   * runs runc without them (src/cli/commands/passthrough.ts: callerArgv); the C entry point runs
   * runc without them itself. Its outcome must be the sh launcher's on the argv without them.
   */
  strip?: boolean;
}

const ROOT = join(work, 'root');
const B_PLAIN = join(work, 'plain');
const B_OURS = join(work, 'ours');
const rtGroup = join(work, 'rt-group');
/** an RT group whose budget file cannot be written (a directory of that name) */
const rtRefusing = join(work, 'rt-refusing');
// an RT group link alone: the C entry point zeroes the budget itself, then runc
const RT_LINK_ALONE: Case = { args: ['--root', ROOT, 'delete', 'c1'], files: ['c1/'], links: { 'c1/vkernel.rt-group': rtGroup }, fast: true };
const cases: Case[] = [
  { args: ['state', 'c1'], fast: true },
  { args: ['--root', ROOT, 'state', 'c1'], fast: true },
  { args: ['--log', '/dev/null', '--log-format', 'json', 'kill', 'c1', '9'], fast: true },
  { args: ['--debug', '--systemd-cgroup', 'exec', '-t', 'c1', 'sh'], fast: true },
  { args: ['--', 'state', 'c1'], fast: true },
  { args: ['--root'], fast: true },
  { args: [], fast: true },
  { args: ['--help'], fast: true },
  { args: ['--help=false', 'list'], fast: true },
  { args: ['--version'] },
  { args: ['-v=t'] },
  { args: ['--vkernel-set', 'sched.policy=fifo', 'state', 'c1'], fast: true, strip: true },
  { args: ['--vkernel-set=sched.policy=fifo', '--vkernel-set', 'strict=true', '--root', ROOT, 'start', 'c1'], fast: true, strip: true },
  { args: ['--vkernel-set', 'sched.policy=fifo', '--root', ROOT, 'delete', 'c1'], fast: true, strip: true },
  { args: ['--vkernel-set', 'sched.policy=fifo', '--root', ROOT, 'delete', 'c1'], files: ['vkernel@c1.json'], fast: true },
  { args: ['--vkernel-set', 'sched.policy=fifo', '--help'], fast: true, strip: true },
  { args: ['--vkernel-set', 'sched.policy=cfs', '--root', ROOT, 'create', '--bundle', B_PLAIN, 'c1'], fast: true },
  { args: ['--vkernel-set', 'sched.policy=cfs', '--runc', '/x', 'state', 'c1'] },
  { args: ['--vkernel-set'] },
  { args: ['--runc=/x', 'state', 'c1'] },
  { args: ['--root', ROOT, 'start', 'c1'], fast: true },
  { args: ['--root', ROOT, 'start', 'c1'], files: ['vkernel@c1.start'], fast: true },
  { args: [`--root=${ROOT}`, 'start', 'c1'], files: ['vkernel@c1.lock'], fast: true },
  { args: ['--root', ROOT, 'start', 'c1'], files: ['vkernel@c1.lock', 'vkernel@c1.start'], fast: true },
  { args: ['--root', ROOT, 'start', '--help'] },
  { args: ['--root', ROOT, 'delete', 'c1'], fast: true },
  { args: ['--root', ROOT, 'delete', '--force', 'c1'], files: ['vkernel@c1.json'], fast: true },
  { args: ['--root', ROOT, 'delete', '-f', 'c1'], files: ['vkernel@c1.lock'] },
  { args: ['--root', ROOT, 'delete', 'c1'], files: ['c1/vkernel.module:vkernel_c1 4242'] },
  // no engine reachable: the module is all there is to undo, and the sh launcher does it (VM: module.launcher_delete)
  { args: ['--root', ROOT, 'delete', 'c1'], files: ['c1/vkernel.module:vkernel_c1 4242'], env: { VKERNEL_RUNTIME_HOME: '/nonexistent', VKERNEL_ENGINE: 'node' } },
  RT_LINK_ALONE,
  // the budget not written (the group gone; a file the write fails on, as the kernel's refusal of a
  // group with RT tasks): the sh launcher, which tries again and takes the engine
  { args: ['--root', ROOT, 'delete', 'c1'], files: ['c1/'], links: { 'c1/vkernel.rt-group': join(work, 'none') } },
  { args: ['--root', ROOT, 'delete', 'c1'], files: ['c1/'], links: { 'c1/vkernel.rt-group': rtRefusing } },
  // a link and a module: the sh launcher (zero, runc, then the module's unload)
  { args: ['--root', ROOT, 'delete', 'c1'], files: ['c1/vkernel.module:vkernel_c1 4242'], links: { 'c1/vkernel.rt-group': rtGroup } },
  { args: ['--root', ROOT, 'delete', '..'], fast: true },
  { args: ['--root', ROOT, 'delete', '--', 'c1'], fast: true },
  { args: ['--root', ROOT, 'create', '--bundle', B_PLAIN, 'c1'], fast: true },
  { args: ['--root', ROOT, 'create', `-b=${B_PLAIN}`, '--pid-file', '/x/pid', 'c1'], fast: true },
  { args: ['--root', ROOT, 'create', '--bundle', B_OURS, 'c1'], fast: true },
  { args: ['--root', ROOT, 'create', '--console-socket', B_PLAIN, '--bundle', B_OURS, '--', 'c1'], fast: true },
  { args: ['--root', ROOT, 'create', '--bundle', B_PLAIN, 'c1'], config: 'defaults:\n  sched.policy: cfs\n', fast: true },
  { args: ['--root', ROOT, 'create', '--bundle', B_PLAIN, 'c1'], config: `runc:  '${join(work, 'runc2')}' \n`, fast: true },
  { args: ['--root', ROOT, 'create', '--help'] },
  { args: ['create', 'c1'], fast: true },
  { args: ['--root', ROOT, 'run', '--bundle', B_PLAIN, 'c1'] },
  { args: ['ps'] },
  { args: ['ps', 'c1'] },
  { args: ['features'] },
  // the OCI hook as hooks.d runs it: the C entry point's (the server's, through its client mode)
  { args: ['oci-hook', 'createRuntime'], fast: true },
  { args: ['--root', ROOT, 'oci-hook', 'poststop'], fast: true },
  { args: ['oci-hook', 'poststart'] },
  { args: ['oci-hook', 'createRuntime', 'x'] },
  { args: ['--vkernel-config', '/c.yaml', 'oci-hook', 'prestart'] },
  { args: ['gc'] },
  { args: ['vkernel-rt-supervise', '{}'] },
  { args: ['state', 'c1'], env: { PATH: '' }, fast: true },
];

/** args without the --vkernel-set flags before the subcommand */
function withoutSets(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--vkernel-set') i++;
    else if (!args[i].startsWith('--vkernel-set=')) out.push(args[i]);
  }
  return out;
}

needs(CC).describe('the C entry point decides every call as the sh launcher does', () => {
  let sh: string;
  let fast: string;
  beforeAll(() => {
    const binary = join(work, 'vkernel-client');
    execFileSync('cc', ['-O2', '-static', '-Wall', '-Wextra', '-Werror', '-o', binary, join(REPO, 'client/vkernel-client.c')]);
    sh = installation('home', binary);
    fast = installation('home-sh-prints', binary, 'echo SH');
    for (const b of [B_PLAIN, B_OURS]) mkdirSync(b);
    writeFileSync(join(B_PLAIN, 'config.json'), '{"process":{"env":["PATH=/bin"]}}');
    writeFileSync(join(B_OURS, 'config.json'), '{"annotations":{"io.vkernel.sched.policy":"cfs"}}');
    mkdirSync(rtGroup);
    writeFileSync(join(rtGroup, 'cpu.rt_runtime_us'), '5000\n');
    mkdirSync(join(rtRefusing, 'cpu.rt_runtime_us'), { recursive: true });
    script(join(work, 'runc'), 'printf RUNC; printf " [%s]" "$@"; echo " PATH=$PATH"');
    script(join(work, 'runc2'), 'printf "RUNC (the config file\'s)"; printf " [%s]" "$@"; echo');
  });

  /** one call through one entry point, in a fresh root with the case's files */
  function call(entry: string, c: Case): string {
    rmSync(ROOT, { recursive: true, force: true });
    mkdirSync(ROOT);
    for (const f of c.files ?? []) {
      const [name, text] = f.split(':');
      if (name.endsWith('/')) mkdirSync(join(ROOT, name), { recursive: true });
      else {
        mkdirSync(join(ROOT, name, '..'), { recursive: true });
        writeFileSync(join(ROOT, name), text ?? '');
      }
    }
    for (const [name, target] of Object.entries(c.links ?? {})) symlinkSync(target, join(ROOT, name));
    const config = join(work, 'config.yaml');
    rmSync(config, { force: true });
    if (c.config) writeFileSync(config, c.config);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '', VKERNEL_RUNC: join(work, 'runc'), VKERNEL_RUNTIME_CONFIG: config, VKERNEL_ENGINE_SOCKET: 'off', ...c.env,
    };
    if (env.PATH === '') delete env.PATH;
    const r = spawnSync(entry, c.args, { env, encoding: 'utf8', cwd: work });
    return `${r.stdout.replaceAll(entry, '<self>')}${r.stderr}exit ${r.status}`;
  }

  const title = (c: Case) => [
    c.args.join(' ') || '(no arguments)',
    ...(c.files ?? []).map((f) => `with ${f}`), ...Object.entries(c.links ?? {}).map(([n, t]) => `with ${n} -> ${t}`),
    ...(c.config ? [`config ${JSON.stringify(c.config)}`] : []), ...Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`),
    c.fast ? '(C alone)' : '(through sh)', ...(c.strip ? ['as the sh launcher without --vkernel-set'] : []),
  ].join(', ').replaceAll(work, '<work>');
  test.each(cases.map((c) => [title(c), c] as const))('%s', (_, c) => {
    const viaSh = call(join(sh, 'bin/vkernel-runtime'), c.strip ? { ...c, args: withoutSets(c.args) } : c);
    const viaC = call(join(sh, 'dist/vkernel-runtime'), c);
    expect(viaC).toBe(viaSh);
    expect(viaSh).toMatch(/^(RUNC|ENGINE) /);
    // without the sh launcher, where the C entry point takes the call itself
    const alone = call(join(fast, 'dist/vkernel-runtime'), c);
    if (c.fast) expect(alone.replaceAll(fast, sh)).toBe(viaSh);
    else expect(alone).toMatch(/^SH\n/);
  });

  test('vkernel-client --after MS PROGRAM ARG...: waits, then execs PROGRAM (the same pid); a bad MS runs nothing; SIGTERM while it waits runs nothing', async () => {
    const client = join(work, 'vkernel-client');
    const mark = join(work, 'after-ran');
    const t0 = Date.now();
    const r = spawnSync(client, ['--after', '300', '/bin/sh', '-c', 'echo "$$ $0 $1"', 'x', 'a b'], { encoding: 'utf8' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect([r.status, r.stdout]).toEqual([0, `${r.pid} x a b\n`]);
    const touch = ['/bin/touch', mark];
    for (const bad of [[], ['300'], touch, ['x', ...touch], ['-1', ...touch], ['3600001', ...touch], ['18446744073709551616', ...touch], ['1e3', ...touch]]) {
      const b = spawnSync(client, ['--after', ...bad], { encoding: 'utf8' });
      expect([b.status, b.stderr]).toEqual([2, expect.stringContaining('usage: vkernel-client --after MS')]);
    }
    const waiting = spawn(client, ['--after', '2000', '/bin/touch', mark], { stdio: 'ignore' });
    await new Promise((res) => setTimeout(res, 100));
    waiting.kill('SIGTERM');
    const [, signal] = await new Promise<[number | null, string | null]>((res) => waiting.on('exit', (c, s) => res([c, s])));
    expect(signal).toBe('SIGTERM');
    expect(existsSync(mark)).toBe(false);
  });

  test('a server that does not take the call within VKERNEL_ENGINE_WAIT_MS (stopped, hung): the call is the engine\'s; one that has taken it is waited for past that', async () => {
    const client = join(work, 'vkernel-client');
    const engine = join(work, 'wait-engine');
    script(engine, 'echo "engine $*"');
    const sock = join(work, 'wait.sock');
    const trace = join(work, 'wait.trace');
    /** what the server does with a connection: nothing, then A at once and X 700 ms later */
    let answer: ((c: Socket) => void) | undefined;
    const server = createServer((c) => answer?.(c));
    await new Promise<void>((res) => server.listen(sock, res));
    const viaClient = (wait: string) => new Promise<{ ms: number; code: number | null; out: string }>((res) => {
      const t0 = Date.now();
      const c = spawn(client, [engine, 'runc', '', 'create', 'x'], { env: { ...process.env, VKERNEL_ENGINE_SOCKET: sock, VKERNEL_ENGINE_WAIT_MS: wait, VKERNEL_ENGINE_TRACE: trace } });
      let out = '';
      c.stdout.on('data', (d) => { out += d; });
      c.on('close', (code) => res({ ms: Date.now() - t0, code, out }));
    });
    try {
      const ignored = await viaClient('300');
      expect([ignored.code, ignored.out]).toEqual([0, 'engine create x\n']);
      expect(ignored.ms).toBeGreaterThanOrEqual(300);
      expect(ignored.ms).toBeLessThan(3000);
      expect(readFileSync(trace, 'utf8')).toBe('engine: the server did not take the call within 300 ms\n');
      // (not a number > 0: the default, 5 s)
      answer = (c) => { c.write(encode('A')); setTimeout(() => c.end(encode('X', 'e:7')), 700); };
      for (const wait of ['300', 'x']) {
        const taken = await viaClient(wait);
        expect([taken.code, taken.out]).toEqual([7, '']);
        expect(taken.ms).toBeGreaterThanOrEqual(700);
      }
    } finally {
      server.close();
    }
  });

  test.each([['the sh launcher', () => join(sh, 'bin/vkernel-runtime')], ['the C entry point alone', () => join(fast, 'dist/vkernel-runtime')]] as const)(
    'an RT group link alone: %s zeroes its budget before runc', (_, entry) => {
      writeFileSync(join(rtGroup, 'cpu.rt_runtime_us'), '5000\n');
      expect(call(entry(), RT_LINK_ALONE)).toMatch(/^RUNC /);
      expect(readFileSync(join(rtGroup, 'cpu.rt_runtime_us'), 'utf8')).toBe('0\n');
    });
});

test(`${C_HEADER} holds exactly what src/oci/flags.ts generates (run \`npm run build\`)`, () => {
  expect(readFileSync(join(REPO, C_HEADER), 'utf8')).toBe(cHeader());
});
