import { Flags } from '@oclif/core';
import { AdminCommand } from './base.js';
import { run } from '../../host/spawn.js';
import { existsSync, readFileSync } from 'node:fs';
import { adaptiveLog } from '../../adaptive/paths.js';
import { PREFIX } from '../../policy/keys.js';
import { DEFAULT_ROOT, StateStore } from '../../store/state.js';

export default class Ps extends AdminCommand {
  static override description = 'Containers under a runc root that vkernel-runtime manages, with their policy, backend and module. (`ps <id>` is runc\'s ps.)';
  static override flags = {
    root: Flags.string({ description: 'runc --root', default: DEFAULT_ROOT }),
    runc: Flags.string({ description: 'runc binary', default: process.env.VKERNEL_RUNC ?? 'runc' }),
    format: Flags.string({ char: 'f', options: ['table', 'json'], default: 'table' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ps);
    const store = new StateStore(flags.root);
    const rows = [];
    for (const id of store.list()) {
      const s = store.read(id);
      if (!s) continue;
      const st = await run(flags.runc, ['--root', flags.root, 'state', id]);
      const status = st.code === 0 ? (JSON.parse(st.stdout) as { status: string }).status : 'gone (leftover: delete --force cleans it)';
      const log = adaptiveLog(flags.root, id);
      const last = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').at(-1) ?? '' : '';
      rows.push({
        id, status,
        policy: Object.entries(s.policy).map(([k, v]) => `${PREFIX}${k}=${String(v)}`).join(' '),
        backend: s.backend ?? '-', module: s.module ?? '-', cgroup: s.cgroupPath ?? '-',
        helpers: s.helpers, adaptive: /-> (\w+)|mode (\w+)/.exec(last)?.slice(1).find(Boolean) ?? '',
      });
    }
    if (flags.format === 'json') {
      this.log(JSON.stringify(rows, null, 2));
      return;
    }
    this.log(['ID', 'STATUS', 'BACKEND', 'MODULE', 'CGROUP', 'POLICY'].join('\t'));
    for (const r of rows) this.log([r.id, r.status, r.backend + (r.adaptive ? ` (now ${r.adaptive})` : ''), r.module, r.cgroup, r.policy].join('\t'));
  }
}
