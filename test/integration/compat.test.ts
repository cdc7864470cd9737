/**
 * runc compatibility on every path (issue 10 §2): each behaviour through the launcher's pass-through,
 * through the engine (our global flag sends any call there), and with a config file whose
 * `defaults:` sends every create/run into the engine.
 */
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeBundle, requireRoot, runc, tempRoot, uid, vk, leftovers } from '../helpers/fixtures.js';

beforeAll(requireRoot);

const defaultsConfig = join(tmpdir(), `${uid('cfg')}.yaml`);
writeFileSync(defaultsConfig, 'defaults: {}\n');
/** [name, global flags, env]: the three ways a call can go */
const PATHS: [string, string[], Record<string, string>][] = [
  ['launcher', [], {}],
  ['engine (our flag)', ['--vkernel-set', 'strict=false'], {}],
  ['engine (config defaults)', [], { VKERNEL_RUNTIME_CONFIG: defaultsConfig }],
];

describe('--version: runc\'s lines first, unchanged, ours after', () => {
  test.each(PATHS)('%s', async (_name, flags, env) => {
    const theirs = await runc(['--version']);
    expect(theirs.stdout).toMatch(/^runc version \S+\ncommit: .*\nspec: /);
    for (const form of [['--version'], ['-v'], ['--version', 'state', 'nope']]) {
      const ours = await vk([...flags, ...form], { env });
      expect([form, ours.exitCode]).toEqual([form, 0]);
      expect(ours.stdout.startsWith(`${theirs.stdout}\n`)).toBe(true);
      expect(ours.stdout.slice(theirs.stdout.length + 1)).toMatch(/^vkernel-runtime version \d+\.\d+\.\d+\n/);
    }
  });
});

const SUBCOMMANDS = ['checkpoint', 'create', 'delete', 'events', 'exec', 'features', 'kill', 'list', 'pause', 'ps', 'restore',
  'resume', 'run', 'spec', 'start', 'state', 'update'];

describe('<subcommand> -h/--help: runc\'s help, exit 0', () => {
  test.each(PATHS)('%s', async (_name, flags, env) => {
    const bundle = await makeBundle({ args: ['true'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
    for (const cmd of SUBCOMMANDS) {
      for (const args of [['-h'], ['--help'], ['--bundle', bundle, 'some-id', '-h']]) {
        if (args.length > 1 && !['create', 'run'].includes(cmd)) continue;
        const theirs = await runc([cmd, ...args]);
        const ours = await vk([...flags, cmd, ...args], { env, cwd: bundle });
        expect(theirs.exitCode).toBe(0);
        expect(theirs.stdout).toContain(`runc ${cmd} - `);
        expect([cmd, args, ours.exitCode, ours.stdout, ours.stderr]).toEqual([cmd, args, 0, theirs.stdout, theirs.stderr]);
      }
    }
    const theirs = await runc(['--help']);
    const ours = await vk([...flags, '--help'], { env });
    expect([ours.exitCode, ours.stdout]).toEqual([0, theirs.stdout]);
  }, 120000);
});

describe('runc 1.2 value flags are read as taking a value', () => {
  // runc 1.1.5 does not know --pidfd-socket: every path must hand argv to runc and show its verdict,
  // which needs --pidfd-socket's value read as a value, not as the container id
  test.each(PATHS)('%s', async (_name, flags, env) => {
    const bundle = await makeBundle({ args: ['true'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
    const root = tempRoot();
    for (const cmd of ['create', 'run']) {
      const id = uid('pidfd');
      const args = [cmd, '--pidfd-socket', '/nonexistent.sock', '--bundle', bundle, id];
      const theirs = await runc(['--root', root, ...args]);
      const ours = await vk(['--root', root, ...flags, ...args], { env });
      expect([cmd, ours.exitCode, ours.stdout, ours.stderr.replace(/time="[^"]*"/g, 'T')])
        .toEqual([cmd, theirs.exitCode, theirs.stdout, theirs.stderr.replace(/time="[^"]*"/g, 'T')]);
      expect(leftovers(root, id)).toEqual([]);
    }
  });
});

/** a bundle whose config.json spells the key with a JSON escape (`\u002e` is `.`, `\u005f` is `_`) */
async function escapedBundle(kind: 'annotation' | 'env', value: string): Promise<string> {
  const bundle = await makeBundle({ args: ['sh', '-c', 'echo ran'], ...(kind === 'annotation'
    ? { annotations: { 'ESCAPED-KEY': value } }
    : { env: [`ESCAPED-ENV=${value}`] }) });
  const file = join(bundle, 'config.json');
  const text = readFileSync(file, 'utf8')
    .replace('"ESCAPED-KEY"', '"io\\u002evkernel.sched.policy"')
    .replace('"ESCAPED-ENV=', '"VKERNEL\\u005fSCHED_POLICY=');
  writeFileSync(file, text);
  expect(text).not.toMatch(/io\.vkernel|VKERNEL_/);
  return bundle;
}

describe('a request spelled with a JSON escape is honoured or refused, never dropped', () => {
  test.each([['annotation'], ['env']] as const)('a bad value (%s) is refused before anything exists', async (kind) => {
    const bundle = await escapedBundle(kind, 'fast');
    const root = tempRoot();
    const id = uid('esc');
    const r = await vk(['--root', root, 'run', '--bundle', bundle, id]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).not.toContain('ran');
    expect(r.stderr).toContain('io.vkernel.sched.policy: \\"fast\\" is not one of cfs, fifo, adaptive');
    expect(leftovers(root, id)).toEqual([]);
  });

  test.each([['annotation'], ['env']] as const)('a good value (%s) is applied', async (kind) => {
    const bundle = await escapedBundle(kind, 'cfs');
    const root = tempRoot();
    const id = uid('esc');
    const out = join(tmpdir(), `${id}.out`);
    const { openSync } = await import('node:fs');
    const fd = openSync(out, 'w');
    const r = await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: fd, stderr: fd });
    expect([r.exitCode, readFileSync(out, 'utf8')]).toEqual([0, '']);
    const state = JSON.parse(readFileSync(join(root, `vkernel@${id}.json`), 'utf8'));
    expect(state.policy['sched.policy']).toBe('cfs');
    expect((await vk(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
    expect(existsSync(join(root, `vkernel@${id}.json`))).toBe(false);
  });
});
