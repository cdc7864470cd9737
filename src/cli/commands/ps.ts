import { existsSync, readFileSync } from 'node:fs';
import type { Runtime } from '../../lifecycle/runtime.js';
import { writeErr, writeOut } from '../../log/out.js';
import { adaptiveLog } from '../../adaptive/paths.js';
import { PREFIX } from '../../policy/keys.js';
import { StateStore, type ContainerState } from '../../store/state.js';
import type { Cgroups } from '../../kernel/cgroups/index.js';

const HELP = `Usage: vkernel-runtime [--root R] [--runc BIN] ps [--format table|json]

Containers under a runc root (--root, default /run/runc) that vkernel-runtime manages, with their
policy, backend and module. (\`ps <id>\` is runc's ps.)

  -f, --format F      table (default) or json
`;

/** an rt v2 container's supervision (its supervisor and sentinel, its tasks' policies), an scx container's scheduler, else '' */
async function supervision(state: ContainerState, cgroups: () => Cgroups): Promise<string> {
  if (state.backend !== 'rt-v2' && state.backend !== 'scx') return '';
  const undo = (state.applied.find((a) => a.name === 'sched-policy')?.undo as { backendUndo?: unknown } | undefined)?.backendUndo;
  if (!undo) return '';
  if (state.backend === 'scx') {
    const { scxText } = await import('../../kernel/backends/scx.js');
    const { scxStatus } = await import('../../kernel/backends/scx-control.js');
    return scxText(scxStatus());
  }
  try {
    const { supervisionStatus } = await import('../../kernel/backends/rt-v2.js');
    return supervisionStatus(cgroups(), undo).text;
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

/**
 * `ps` without a container id, in the engine (a node without Node.js): our containers under the
 * root. With an id the launcher passes `ps` to runc.
 */
export async function psCommand(rt: Runtime): Promise<number> {
  const { parseArgs } = await import('node:util');
  let values;
  try {
    ({ values } = parseArgs({
      args: [...rt.inv.args],
      options: { format: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' } },
      strict: true, allowPositionals: false,
    }));
  } catch (e) {
    writeErr(`vkernel-runtime ps: ${(e as Error).message}\n${HELP}`);
    return 1;
  }
  if (values.help) {
    writeOut(HELP);
    return 0;
  }
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') {
    writeErr(`vkernel-runtime ps: --format: ${JSON.stringify(format)} is not one of table, json\n`);
    return 1;
  }
  const root = rt.root;
  const runc = rt.runc;
  const { runcCapture } = await import('../../oci/runc.js');
  const store = new StateStore(root);
  const rows = [];
  for (const id of store.list()) {
    const s = store.read(id);
    if (!s) continue;
    const st = await runcCapture(runc, ['--root', root, 'state', id]);
    const status = st.status === 0 ? (JSON.parse(st.stdout) as { status: string }).status : 'gone (leftover: delete --force cleans it)';
    const log = adaptiveLog(root, id);
    const last = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').at(-1) ?? '' : '';
    rows.push({
      id, status,
      policy: Object.entries(s.policy).map(([k, v]) => `${PREFIX}${k}=${String(v)}`).join(' '),
      backend: s.backend ?? '-', module: s.module ?? '-', cgroup: s.cgroupPath ?? '-',
      helpers: s.helpers, supervision: await supervision(s, () => rt.cgroups()), adaptive: /-> (\w+)|mode (\w+)/.exec(last)?.slice(1).find(Boolean) ?? '',
    });
  }
  if (format === 'json') {
    writeOut(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const lines = [['ID', 'STATUS', 'BACKEND', 'MODULE', 'CGROUP', 'POLICY'].join('\t')];
  for (const r of rows) lines.push([r.id, r.status, r.backend + (r.adaptive ? ` (now ${r.adaptive})` : '') + (r.supervision ? `: ${r.supervision}` : ''), r.module, r.cgroup, r.policy].join('\t'));
  writeOut(`${lines.join('\n')}\n`);
  return 0;
}
