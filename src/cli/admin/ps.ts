import { Flags } from '@oclif/core';
import { AdminCommand } from './base.js';
import { run } from '../../host/spawn.js';
import { existsSync, readFileSync } from 'node:fs';
import { adaptiveLog } from '../../adaptive/paths.js';
import { PREFIX } from '../../policy/keys.js';
import { DEFAULT_ROOT, StateStore, type ContainerState } from '../../store/state.js';
import { supervisionStatus } from '../../kernel/backends/rt-v2.js';
import { parseArgv } from '../../oci/argv.js';
import { Runtime } from '../../lifecycle/runtime.js';
import { Logger } from '../../log/logger.js';

/** an rt v2 container's supervision (its supervisor and sentinel, its tasks' policies), else '' */
function supervision(state: ContainerState, root: string, runc: string): string {
  if (state.backend !== 'rt-v2') return '';
  const undo = (state.applied.find((a) => a.name === 'sched-policy')?.undo as { backendUndo?: unknown } | undefined)?.backendUndo;
  if (!undo) return '';
  try {
    return supervisionStatus(new Runtime(parseArgv(['--root', root]), new Logger({ format: 'text', debug: false }), runc).cgroups(), undo).text;
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

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
        helpers: s.helpers, supervision: supervision(s, flags.root, flags.runc), adaptive: /-> (\w+)|mode (\w+)/.exec(last)?.slice(1).find(Boolean) ?? '',
      });
    }
    if (flags.format === 'json') {
      this.log(JSON.stringify(rows, null, 2));
      return;
    }
    this.log(['ID', 'STATUS', 'BACKEND', 'MODULE', 'CGROUP', 'POLICY'].join('\t'));
    for (const r of rows) this.log([r.id, r.status, r.backend + (r.adaptive ? ` (now ${r.adaptive})` : '') + (r.supervision ? `: ${r.supervision}` : ''), r.module, r.cgroup, r.policy].join('\t'));
  }
}
