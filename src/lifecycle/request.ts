import { readSpec, type Spec } from '../oci/spec.js';
import { requestsFeature, resolvePolicy } from '../policy/resolve.js';
import type { Resolved } from '../policy/types.js';
import type { ContainerState } from '../store/state.js';
import type { Applier, HostContext } from './applier.js';
import { plan } from './plan.js';
import { faultPoint } from '../store/fault.js';
import { procRef, startTime } from '../store/proc.js';
import type { Runtime } from './runtime.js';
import { timed } from '../profile.js';

export interface Request extends Resolved {
  spec: Spec;
  /** undefined: no vkernel feature requested, behave exactly like runc */
  appliers?: Applier[];
  /** the host the request is for (the runtime's) */
  host: HostContext;
}

/** Reads config.json, resolves and validates the policy, plans the appliers: all before any side effect. */
export function readRequest(rt: Runtime, id: string, bundle: string): Request {
  return timed('policy', () => readRequestNow(rt, id, bundle));
}

function readRequestNow(rt: Runtime, id: string, bundle: string): Request {
  let spec: Spec;
  try {
    spec = readSpec(bundle);
  } catch (e) {
    // no config.json, or not JSON: runc refuses the container itself, with its own words (as
    // without us); there is nothing a request could apply to
    rt.log.debug(`${id}: ${(e as Error).message}: runc decides`);
    return { spec: {}, policy: {}, sources: {}, host: rt };
  }
  const resolved = resolvePolicy({
    annotations: spec.annotations,
    env: spec.process?.env,
    sets: rt.inv.sets,
    config: rt.config && { path: rt.config.path, defaults: rt.config.defaults },
    operator: rt.config?.operator,
  });
  for (const line of resolved.ignored ?? []) rt.log.warn(`${id}: ${line}`);
  if (!requestsFeature(resolved.policy)) return { spec, ...resolved, host: rt };
  const check = { id, spec, systemdCgroup: rt.inv.globals.systemdCgroup, config: rt.config, probe: rt.probe(), host: rt };
  return { spec, ...resolved, host: rt, appliers: plan(resolved.policy, resolved.sources, rt.probe(), rt.log, check) };
}

/** `owner`: the process the call is for (this one; the engine server's client: Runtime.callerPid) */
export function newState(id: string, bundle: string, req: Request, owner = process.pid): ContainerState {
  return { version: 1, id, bundle, created: new Date().toISOString(), owner: procRef(owner), policy: req.policy, sources: req.sources, helpers: {}, applied: [] };
}

/** The appliers' prepare steps (ARCHITECTURE.md: validate → prepare → runc create → apply). */
export async function prepareAll(appliers: readonly Applier[], req: Request): Promise<void> {
  for (const a of appliers) await timed(`prepare ${a.name}`, async () => a.prepare?.(req.policy, req.host));
}

/**
 * Runs the appliers in order, recording each in the state file as soon as it has applied.
 * `pidStart`: the init's start time when the caller has just read it (runc's state file, checked
 * against /proc); else read here. `writeFirst`: the state is written (with the init's pid, and
 * `creating`) before the first applier runs; create does without (see there).
 */
export async function applyAll(rt: Runtime, appliers: readonly Applier[], state: ContainerState, spec: Spec, pid: number,
  pidStart?: string, writeFirst = true): Promise<void> {
  state.pid = pid;
  state.pidStart = pidStart ?? startTime(pid);
  // until the write that records the last applier: `start` refuses to run a container whose create
  // was killed before its whole request was in force (lifecycle/start.ts)
  state.creating = true;
  if (writeFirst) rt.store.write(state);
  const probe = rt.probe();
  for (const [i, a] of appliers.entries()) {
    faultPoint(`applying:${a.name}`);
    let entry: ContainerState['applied'][number] | undefined;
    const journal = (undo: unknown) => {
      if (entry) entry.undo = undo;
      else state.applied.push((entry = { name: a.name, undo }));
      rt.store.write(state);
    };
    const undo = await timed(`apply ${a.name}`, () => a.apply({
      id: state.id, bundle: state.bundle, spec, policy: state.policy, pid, probe, log: rt.log, state, config: rt.config, systemdCgroup: rt.inv.globals.systemdCgroup,
      env: rt.env, host: rt.host, cgroups: () => rt.cgroups(), journal,
    }));
    faultPoint(`applied:${a.name}`);
    if (entry) entry.undo = undo;
    else state.applied.push({ name: a.name, undo });
    if (i === appliers.length - 1) delete state.creating;
    rt.store.write(state);
    rt.log.debug(`${state.id}: applied ${a.name}`);
  }
  if (state.creating) { // (no applier: nothing was left to apply)
    delete state.creating;
    rt.store.write(state);
  }
  faultPoint('applied-all');
}
