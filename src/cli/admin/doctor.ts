import { Flags } from '@oclif/core';
import { AdminCommand } from './base.js';
import { hostChecks } from './checks.js';

export default class Doctor extends AdminCommand {
  static override description = 'What this host supports: runc, cgroups, patched kernel, modules, headers, RT group scheduling. Exit 1 when containers cannot run.';
  static override flags = {
    runc: Flags.string({ description: 'runc binary to check', default: process.env.VKERNEL_RUNC ?? 'runc' }),
    json: Flags.boolean({ description: 'machine-readable output' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const { checks, required } = await hostChecks(flags.runc);
    const { findLeftovers, knownRoots } = await import('../../lifecycle/leftovers.js');
    const leftovers = await findLeftovers(flags.runc, knownRoots());
    checks.push({
      name: 'leftovers', ok: leftovers.length === 0,
      detail: leftovers.length ? leftovers.map((l) => `${l.state.id}${l.state.module ? ` (${l.state.module})` : ''}`).join(', ') : 'none',
      consequence: leftovers.length ? 'vkernel-runtime gc removes them' : undefined,
    });
    const failed = checks.filter((c) => !c.ok && required.includes(c.name));
    if (flags.json) {
      this.log(JSON.stringify({ ok: failed.length === 0, checks }, null, 2));
    } else {
      this.log('vkernel-runtime doctor');
      for (const c of checks) {
        this.log(`  ${c.ok ? 'ok  ' : required.includes(c.name) ? 'FAIL' : 'no  '}  ${c.name.padEnd(15)} ${c.detail}`);
        if (c.consequence) this.log(`        ${''.padEnd(15)} → ${c.consequence}`);
      }
      this.log(failed.length ? `\nnot ready: ${failed.map((c) => c.name).join(', ')}` : '\nready: containers run through vkernel-runtime on this host');
    }
    if (failed.length) this.exit(1);
  }
}
