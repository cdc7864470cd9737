import { Flags } from '@oclif/core';
import { AdminCommand } from './base.js';
import { hostChecks } from './checks.js';
import { readEnv } from '../../env.js';
import { loadConfig } from '../../policy/config.js';
import { policyView } from './policy-view.js';

export default class Doctor extends AdminCommand {
  static override description = 'What this host supports: runc, cgroups, patched kernel, modules, headers, RT group scheduling; the operator policy of config.yaml (sources, limits, what tenants may set). Exit 1 when containers cannot run or the config is invalid.';
  static override flags = {
    runc: Flags.string({ description: 'runc binary to check', default: process.env.VKERNEL_RUNC ?? 'runc' }),
    json: Flags.boolean({ description: 'machine-readable output' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const { checks, required } = await hostChecks(flags.runc);
    const { findLeftovers, knownRoots } = await import('../../lifecycle/leftovers.js');
    try {
      const leftovers = await findLeftovers(flags.runc, knownRoots(readEnv().rootsDir));
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
      config = await loadConfig(undefined, readEnv().configPath);
      checks.push({ name: 'config', ok: true, detail: config ? `${config.path}: valid` : 'none (/etc/vkernel-runtime/config.yaml absent: built-in defaults)' });
    } catch (e) {
      checks.push({ name: 'config', ok: false, detail: (e as Error).message, consequence: 'every create with a vkernel request fails until it is fixed' });
      required.push('config');
    }
    const { ledgerFile, readLedger } = await import('../../kernel/backends/rt-ledger.js');
    const file = ledgerFile(readEnv().lockDir);
    let ledger: Parameters<typeof policyView>[1];
    try {
      ledger = { file, doc: readLedger(file) };
    } catch (e) {
      ledger = { file, error: (e as Error).message };
    }
    const policy = policyView(config, ledger);
    const failed = checks.filter((c) => !c.ok && required.includes(c.name));
    if (flags.json) {
      this.log(JSON.stringify({ ok: failed.length === 0, checks, policy: policy.json }, null, 2));
    } else {
      this.log('vkernel-runtime doctor');
      for (const c of checks) {
        this.log(`  ${c.ok ? 'ok  ' : required.includes(c.name) ? 'FAIL' : 'no  '}  ${c.name.padEnd(15)} ${c.detail}`);
        if (c.consequence) this.log(`        ${''.padEnd(15)} → ${c.consequence}`);
      }
      this.log('');
      for (const line of policy.text) this.log(line);
      this.log(failed.length ? `\nnot ready: ${failed.map((c) => c.name).join(', ')}` : '\nready: containers run through vkernel-runtime on this host');
    }
    if (failed.length) this.exit(1);
  }
}
