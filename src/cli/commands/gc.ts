import type { Runtime } from '../../lifecycle/runtime.js';
import { writeErr, writeOut } from '../../log/out.js';

const HELP = `Usage: vkernel-runtime [--root R] gc [--root R]... [--runc BIN] [--dry-run]

Remove what vkernel-runtime left behind: state of containers runc no longer knows (undoing RT
budgets, helpers, modules), temp and lock files of killed runtimes, private bundles, the
controllers' and supervisors' own cgroups (vkernel-adaptive-<id>, vkernel-rt-<id>) and vkernel
modules no container uses. Exit 1 when something could not be removed (each is listed).

  --root R    a runc --root to clean, may repeat (default: every root with state of ours:
              runc, crun, containerd, docker, our hook, and the roots our state was written under)
  --runc BIN  runc binary (default: $VKERNEL_RUNC, else runc)
  --dry-run   report, change nothing
`;

/**
 * `gc` in the engine: the same work as the admin command on hosts without Node.js (a Kubernetes
 * node with only the compiled engine, the VM guests). Lines on stdout, "no leftovers" if none.
 */
export async function gcCommand(rt: Runtime): Promise<number> {
  // node:util on first use: bun hoists a static import of a builtin to the engine's start-up
  const { parseArgs } = await import('node:util');
  let values;
  try {
    ({ values } = parseArgs({
      args: [...rt.inv.args],
      options: {
        root: { type: 'string', multiple: true }, runc: { type: 'string' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        proc: { type: 'string' }, rmmod: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    writeErr(`vkernel-runtime gc: ${(e as Error).message}\n${HELP}`);
    return 1;
  }
  if (values.help || rt.inv.help) {
    writeOut(HELP);
    return 0;
  }
  const { gc } = await import('../../lifecycle/gc.js');
  const { hostGcOptions } = await import('../../lifecycle/gc-host.js');
  const roots = [...(rt.inv.globals.root ? [rt.inv.globals.root] : []), ...(values.root ?? [])];
  let said = 0;
  const failed = await gc(hostGcOptions(rt.env, {
    roots, runc: values.runc ?? rt.runc, dryRun: values['dry-run'] ?? false, proc: values.proc ?? '/proc', rmmod: values.rmmod ?? 'rmmod',
  }, rt.log, (line) => { said++; writeOut(`${line}\n`); }));
  if (!said) writeOut('no leftovers\n');
  return failed.length ? 1 : 0;
}
