import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { hasState, keepBesideRunc, leftovers, makeBundle, requireRoot, runc, stateFile, tempRoot, uid, vk } from '../helpers/fixtures.js';

beforeAll(requireRoot);

test('doctor: one screen of what this host supports, exit 0 when containers can run', async () => {
  const r = await vk(['doctor']);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain((await runc(['--version'])).stdout.split('\n')[0]);
  for (const name of ['runc', 'cgroup', 'kernel', 'modules', 'headers', 'argument rules', 'caps ceiling', 'file rules', 'rt group sched', 'fifo backend']) {
    expect(r.stdout).toMatch(new RegExp(`^  \\S+\\s+${name} `, 'm'));
  }
  // whether the kernel enforces io.vkernel.syscall.namespaces/personality and caps.max (this host: a stock kernel)
  const features = existsSync('/sys/kernel/vkernel/features') ? readFileSync('/sys/kernel/vkernel/features', 'utf8') : '';
  expect(r.stdout).toMatch(features.includes('caps_max') ? /caps ceiling +the kernel enforces io\.vkernel\.caps\.max/ : /caps ceiling +no caps_max in \/sys\/kernel\/vkernel\/features/);
  expect(r.stdout).toMatch(features.includes('syscall_args') ? /argument rules +the kernel enforces/ : /argument rules +no syscall_args in \/sys\/kernel\/vkernel\/features/);
  expect(r.stdout).toMatch(features.includes('fs_rules') ? /file rules +the kernel enforces io\.vkernel\.fs\.rules/ : /file rules +no fs_rules in \/sys\/kernel\/vkernel\/features/);
  // io.vkernel.log=private needs printk_ns (this host: a stock kernel, where the kernel line names it)
  expect(r.stdout).toMatch(features.includes('printk_ns') ? /kernel log +own kernel log per container/ : /kernel +\S+, stock .*\n.*kernel-only keys \(.*\blog\b/);
  expect(r.stdout.split('\n').length).toBeLessThan(50);
  // the operator policy: which sources count, the node's limits, per key what tenants may set
  expect(r.stdout).toMatch(/^operator policy \(/m);
  expect(r.stdout).toMatch(/^  limits +RT budget of all vkernel containers 50 % of each CPU/m);
  expect(r.stdout).toMatch(/^    io\.vkernel\.sched\.policy +tenants: yes, values: one of cfs, fifo, adaptive$/m);
  const json = JSON.parse((await vk(['doctor', '--json'])).stdout);
  expect(json.ok).toBe(true);
  expect(json.checks.find((c: { name: string }) => c.name === 'modules').ok).toBe(existsSync('/proc/modules'));
}, 30000);

test('doctor shows the operator policy of config.yaml, and fails on an invalid one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vk-doctor-'));
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, 'sources: {env: false}\ntenant_keys: listed\nkeys:\n  sched.policy: {tenant: true, values: [cfs, adaptive]}\n  sched.adaptive.interval_ms: {tenant: true, min: 500}\nlimits: {rt_budget_percent: 30, modules: false}\n');
  const r = await vk(['doctor'], { env: { VKERNEL_RUNTIME_CONFIG: cfg } });
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain(`operator policy (${cfg})`);
  expect(r.stdout).toMatch(/^  sources +annotations yes, env no, runtime args yes$/m);
  expect(r.stdout).toMatch(/RT budget of all vkernel containers 30 % of each CPU \(25 % per fifo\/adaptive container: 1 at a time\)/);
  expect(r.stdout).toContain('per-container modules not allowed');
  expect(r.stdout).toMatch(/^    io\.vkernel\.sched\.policy +tenants: yes, values: cfs, adaptive$/m);
  expect(r.stdout).toMatch(/^    io\.vkernel\.sched\.adaptive\.interval_ms +tenants: yes, range: 500\.\.60000$/m);
  expect(r.stdout).toMatch(/^    io\.vkernel\.module +tenants: no$/m);
  const json = JSON.parse((await vk(['doctor', '--json'], { env: { VKERNEL_RUNTIME_CONFIG: cfg } })).stdout);
  expect(json.policy).toMatchObject({ path: cfg, sources: { env: false }, limits: { rtBudgetPercent: 30, modules: false }, keys: { module: 'tenants: no' } });
  writeFileSync(cfg, 'limits: {rt_budget_percent: 200}\n');
  const bad = await vk(['doctor'], { env: { VKERNEL_RUNTIME_CONFIG: cfg } });
  expect(bad.exitCode).toBe(1);
  expect(bad.stdout).toMatch(/^  FAIL +config +.*limits\.rt_budget_percent must be a number from 0 to 95/m);
  expect(bad.stdout).toContain('not ready: config');
}, 30000);

test('doctor: exit 1 and says why when runc is missing', async () => {
  const r = await vk(['doctor', '--runc', '/nonexistent/runc']);
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toContain('not ready: runc');
}, 30000);

test('doctor, ps, gc, install and uninstall run without Node.js (a node with only the launcher and the compiled engine, the VM guests): a `node` first in PATH is never run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vk-no-node-'));
  const marker = join(dir, 'node-was-run');
  writeFileSync(join(dir, 'node'), `#!/bin/sh\necho "$@" >> '${marker}'\necho 'node was run' >&2\nexit 99\n`, { mode: 0o755 });
  const env = { PATH: `${dir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
  const root = tempRoot();
  const id = uid('nn');
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { env, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })).exitCode).toBe(0);
  try {
    const doctor = await vk(['doctor'], { env });
    expect([doctor.exitCode, doctor.stderr]).toEqual([0, '']);
    expect(doctor.stdout).toMatch(/^ready: containers run through vkernel-runtime on this host$/m);
    expect(JSON.parse((await vk(['doctor', '--json'], { env })).stdout).ok).toBe(true);
    expect((await vk(['doctor', '--help'], { env })).stdout).toMatch(/^Usage: vkernel-runtime doctor /);
    const ps = await vk(['--root', root, 'ps'], { env });
    expect([ps.exitCode, ps.stderr]).toEqual([0, '']);
    expect(ps.stdout).toMatch(new RegExp(`^${id}\tcreated\t(rt|kernel)\t-\t/${id}\tio\.vkernel\.sched\.policy=cfs$`, 'm'));
    expect(JSON.parse((await vk(['--root', root, 'ps', '-f', 'json'], { env })).stdout).map((r: { id: string }) => r.id)).toEqual([id]);
    const gc = await vk(['--root', root, 'gc', '--dry-run'], { env });
    expect([gc.exitCode, gc.stderr]).toEqual([0, '']);
    const daemon = join(dir, 'daemon.json');
    const inst = await vk(['install', 'docker', '--config-path', daemon, '--runtime-path', '/usr/local/bin/vkernel-runtime'], { env });
    expect([inst.exitCode, inst.stderr]).toEqual([0, '']);
    expect(JSON.parse(readFileSync(daemon, 'utf8')).runtimes['vkernel-runtime']).toEqual({ path: '/usr/local/bin/vkernel-runtime' });
    expect((await vk(['uninstall', 'docker', '--config-path', daemon], { env })).exitCode).toBe(0);
    expect((await vk(['install', 'kubernetes'], { env })).stdout).toContain('kind: RuntimeClass');
    expect((await vk(['install', '--help'], { env })).stdout).toMatch(/^Usage: vkernel-runtime install /);
    // runc's ps of one container, and runc's help of ps, are still runc's
    expect((await vk(['--root', root, 'ps', id], { env })).stdout).toMatch(/^UID\s+PID/);
    expect((await vk(['ps', '--help'], { env })).stdout).toMatch(/runc ps/);
    expect(existsSync(marker) ? readFileSync(marker, 'utf8') : '').toBe('');
  } finally {
    await vk(['--root', root, 'delete', '--force', id]);
  }
}, 60000);

test('ps lists our containers with policy and backend; delete --force clears a leftover runc forgot', async () => {
  const root = tempRoot();
  const id = uid('ps');
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
  const ps = await vk(['--root', root, 'ps']);
  expect(ps.exitCode).toBe(0);
  expect(ps.stdout).toMatch(new RegExp(`^${id}\\tcreated\\t(rt|kernel)\\t-\\t/${id}\\tio\\.vkernel\\.sched\\.policy=cfs$`, 'm'));
  // runc ps <id> is still runc's
  expect((await vk(['--root', root, 'ps', id])).stdout).toMatch(/^UID\s+PID/);
  // runc forgets the container behind our back: our state is a leftover (a cfs container's state
  // lives in runc's directory and goes with it: staged beside it, as a create killed before its
  // handover leaves it)
  keepBesideRunc(root, id);
  expect((await runc(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
  expect(hasState(root, id)).toBe(true);
  expect((await vk(['--root', root, 'ps', '--format', 'json'])).stdout).toContain('gone (leftover: delete --force cleans it)');
  expect((await vk(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
  expect(leftovers(root, id)).toEqual([]);
  expect((await vk(['--root', root, 'delete', '--force', id])).exitCode).toBe(0);
}, 30000);

test('gc removes the state, budgets and helpers of containers runc forgot, and nothing else', async () => {
  const root = tempRoot();
  const keep = uid('keep');
  const lost = uid('lost');
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  for (const id of [keep, lost]) {
    const out = openSync(join(tmpdir(), `${id}.out`), 'w');
    expect((await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: out, stderr: out })).exitCode).toBe(0);
  }
  // a cfs container's state is in runc's directory (keep's stays there: gc must find it and keep
  // it); lost's is staged beside it, as a create killed before its handover leaves it
  expect(stateFile(root, keep)).toBe(join(root, keep, 'vkernel.json'));
  keepBesideRunc(root, lost);
  await runc(['--root', root, 'delete', '--force', lost]);
  const dry = await vk(['--root', root, 'gc', '--dry-run']);
  expect(dry.stdout).toContain(`would remove ${root}: ${lost}`);
  expect(hasState(root, lost)).toBe(true);
  const r = await vk(['--root', root, 'gc']);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain(`removing ${root}: ${lost}`);
  expect(leftovers(root, lost)).toEqual([]);
  expect(stateFile(root, keep)).toBe(join(root, keep, 'vkernel.json'));
  expect((await vk(['--root', root, 'gc'])).stdout).toContain('no leftovers');
  await vk(['--root', root, 'delete', '--force', keep]);
}, 120000); // two creates and four node admin commands (oclif): 3-5 s each at load 15-20
