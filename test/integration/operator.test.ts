import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leftovers, makeBundle, requireRoot, runc, tempRoot, uid, vk, hasState } from '../helpers/fixtures.js';

/**
 * The operator policy of config.yaml on real runc: a request outside it is refused at create, before
 * any side effect, with a message in runc's --log JSON (what containerd shows the user).
 */
beforeAll(requireRoot);

function config(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'vk-opcfg-')), 'config.yaml');
  writeFileSync(f, text);
  return f;
}

/** create through vkernel-runtime the way containerd's shim calls it: --log FILE --log-format json */
async function create(cfg: string, o: { annotations?: Record<string, string>; env?: string[]; args?: string[] }) {
  const bundle = await makeBundle({ args: o.args ?? ['sleep', '30'], annotations: o.annotations, env: o.env });
  const root = tempRoot();
  const id = uid('op');
  const log = join(root, 'log.json');
  const out = openSync(join(tmpdir(), `${id}.out`), 'w');
  const r = await vk(['--root', root, '--log', log, '--log-format', 'json', 'create', '--bundle', bundle, id],
    { stdin: 'ignore', stdout: out, stderr: out, env: { VKERNEL_RUNTIME_CONFIG: cfg } });
  const lines = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string }) : [];
  return { id, root, r, lines };
}

async function nothingCreated(c: { id: string; root: string }) {
  expect((await runc(['--root', c.root, 'list', '-q'])).stdout).toBe('');
  expect(leftovers(c.root, c.id)).toEqual([]);
}

const schedPolicyOf = (pid: number) => Number(/^policy\s*:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/sched`, 'utf8'))?.[1]);

test('a value the operator does not allow is refused at create, named in the --log JSON; strict=false does not bypass it', async () => {
  const cfg = config('keys:\n  sched.policy: {values: [cfs, adaptive]}\n');
  const c = await create(cfg, { annotations: { 'io.vkernel.sched.policy': 'fifo', 'io.vkernel.strict': 'false' } });
  expect(c.r.exitCode).toBe(1);
  expect(c.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([
    `io.vkernel.sched.policy=fifo (from annotation): not allowed on this node; allowed: cfs, adaptive (keys.sched.policy.values in ${cfg})`,
  ]);
  await nothingCreated(c);
  // an allowed value goes through
  const ok = await create(cfg, { annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  expect(ok.r.exitCode).toBe(0);
  expect((await vk(['--root', ok.root, 'delete', '--force', ok.id])).exitCode).toBe(0);
}, 30000);

test('a key tenants may not set, and per-container modules off: refused, nothing created', async () => {
  const cfg = config('keys:\n  backend: {tenant: false}\nlimits:\n  modules: false\n');
  const c = await create(cfg, { annotations: { 'io.vkernel.backend': 'rt', 'io.vkernel.syscall.deny': 'mkdir' } });
  expect(c.r.exitCode).toBe(1);
  const msg = c.lines.find((l) => l.level === 'error')?.msg;
  expect(msg).toBe(`io.vkernel.backend=rt (from annotation): tenants may not set io.vkernel.backend on this node (keys.backend.tenant: false in ${cfg}); `
    + `io.vkernel.syscall.deny=mkdir (from annotation): per-container kernel modules are not allowed on this node (limits.modules: false in ${cfg})`);
  await nothingCreated(c);
}, 30000);

test('adaptive: an interval below the node floor and crossed thresholds are refused', async () => {
  const cfg = config('limits:\n  adaptive_interval_min_ms: 500\n');
  const c = await create(cfg, { annotations: { 'io.vkernel.sched.policy': 'adaptive', 'io.vkernel.sched.adaptive.interval_ms': '200' } });
  expect(c.r.exitCode).toBe(1);
  expect(c.lines.find((l) => l.level === 'error')?.msg)
    .toBe(`io.vkernel.sched.adaptive.interval_ms=200 (from annotation): below this node's minimum adaptive interval 500 ms (limits.adaptive_interval_min_ms in ${cfg})`);
  await nothingCreated(c);
  const x = await create(cfg, { annotations: { 'io.vkernel.sched.policy': 'adaptive', 'io.vkernel.sched.adaptive.ctx_low': '50', 'io.vkernel.sched.adaptive.ctx_high': '50' } });
  expect(x.r.exitCode).toBe(1);
  expect(x.lines.find((l) => l.level === 'error')?.msg)
    .toBe('io.vkernel.sched.adaptive.ctx_low (50, from annotation) must be below io.vkernel.sched.adaptive.ctx_high (50, from annotation)');
  await nothingCreated(x);
}, 30000);

test('env switched off as a source: VKERNEL_* of the image is ignored (a warning says so), the container runs as under runc', async () => {
  const cfg = config('sources:\n  env: false\n');
  const c = await create(cfg, { env: ['VKERNEL_SCHED_POLICY=fifo'] });
  expect(c.r.exitCode).toBe(0);
  expect(c.lines).toEqual([expect.objectContaining({
    level: 'warning', msg: `${c.id}: VKERNEL_SCHED_POLICY (process.env): ignored, not a policy source on this node (sources.env: false in ${cfg})`,
  })]);
  const state = JSON.parse((await runc(['--root', c.root, 'state', c.id])).stdout);
  expect(schedPolicyOf(state.pid)).toBe(0);
  expect(hasState(c.root, c.id)).toBe(false);
  expect((await vk(['--root', c.root, 'delete', '--force', c.id])).exitCode).toBe(0);
  expect(leftovers(c.root, c.id)).toEqual([]);
}, 30000);

test('an invalid config refuses every request with the file\'s problems, and changes nothing', async () => {
  const cfg = config('limits:\n  rt_budget_percent: 200\n');
  const c = await create(cfg, { annotations: { 'io.vkernel.sched.policy': 'cfs' } });
  expect(c.r.exitCode).toBe(1);
  expect(c.lines.find((l) => l.level === 'error')?.msg).toBe(`${cfg}: limits.rt_budget_percent must be a number from 0 to 95 (percent of each CPU)`);
  await nothingCreated(c);
}, 30000);
