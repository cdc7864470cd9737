import type { Runtime } from '../../lifecycle/runtime.js';
import { writeErr, writeOut } from '../../log/out.js';
import { loadConfig } from '../../policy/config.js';

const HELP = `Usage: vkernel-runtime doctor [--runc BIN] [--json]

What this host supports: runc, cgroups, patched kernel, modules, headers, RT group scheduling;
leftovers of ours; the operator policy of config.yaml (sources, limits, what tenants may set, the
RT budget in use). Exit 1 when containers cannot run or the config is invalid.

  --runc BIN  runc binary to check (default: $VKERNEL_RUNC, else runc)
  --json      machine-readable output
`;

/**
 * `doctor` in the engine (like gc: a node with only the launcher and the compiled engine, and the
 * VM guests, have no Node.js). One screen, or JSON with --json.
 */
export async function doctorCommand(rt: Runtime): Promise<number> {
  const { parseArgs } = await import('node:util');
  let values;
  try {
    ({ values } = parseArgs({
      args: [...rt.inv.args],
      options: { runc: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true, allowPositionals: false,
    }));
  } catch (e) {
    writeErr(`vkernel-runtime doctor: ${(e as Error).message}\n${HELP}`);
    return 1;
  }
  if (values.help || rt.inv.help) {
    writeOut(HELP);
    return 0;
  }
  const runc = values.runc ?? rt.runc;
  const { hostChecks } = await import('./host-checks.js');
  const { checks, required } = await hostChecks(runc, rt.env);
  const { findLeftovers, knownRoots } = await import('../../lifecycle/leftovers.js');
  try {
    const leftovers = await findLeftovers(runc, knownRoots(rt.env.rootsDir));
    checks.push({
      name: 'leftovers', ok: leftovers.length === 0,
      detail: leftovers.length ? leftovers.map((l) => `${l.state.id}${l.state.module ? ` (${l.state.module})` : ''}`).join(', ') : 'none',
      consequence: leftovers.length ? 'vkernel-runtime gc removes them' : undefined,
    });
  } catch (e) {
    // asking runc which containers it still has needs runc: the runc line above says why not
    checks.push({ name: 'leftovers', ok: false, detail: `cannot tell: ${(e as Error).message}` });
  }
  let config;
  try {
    config = await loadConfig(undefined, rt.env.configPath);
    checks.push({ name: 'config', ok: true, detail: config ? `${config.path}: valid` : 'none (/etc/vkernel-runtime/config.yaml absent: built-in defaults)' });
  } catch (e) {
    checks.push({ name: 'config', ok: false, detail: (e as Error).message, consequence: 'every create with a vkernel request fails until it is fixed' });
    required.push('config');
  }
  const { ledgerFile, readLedger } = await import('../../kernel/backends/rt-ledger.js');
  const { policyView } = await import('./policy-view.js');
  const file = ledgerFile(rt.env.lockDir);
  let ledger: Parameters<typeof policyView>[1];
  try {
    ledger = { file, doc: readLedger(file) };
  } catch (e) {
    ledger = { file, error: (e as Error).message };
  }
  const policy = policyView(config, ledger);
  const failed = checks.filter((c) => !c.ok && required.includes(c.name));
  if (values.json) {
    writeOut(`${JSON.stringify({ ok: failed.length === 0, checks, policy: policy.json }, null, 2)}\n`);
  } else {
    const lines = ['vkernel-runtime doctor'];
    for (const c of checks) {
      lines.push(`  ${c.ok ? 'ok  ' : required.includes(c.name) ? 'FAIL' : 'no  '}  ${c.name.padEnd(15)} ${c.detail}`);
      if (c.consequence) lines.push(`        ${''.padEnd(15)} → ${c.consequence}`);
    }
    lines.push('', ...policy.text);
    lines.push(failed.length ? `\nnot ready: ${failed.map((c) => c.name).join(', ')}` : '\nready: containers run through vkernel-runtime on this host');
    writeOut(`${lines.join('\n')}\n`);
  }
  return failed.length ? 1 : 0;
}
