import { KEYS } from '../../policy/keys.js';
import { describeRule, OPEN_POLICY } from '../../policy/operator.js';
import type { RuntimeConfig } from '../../policy/config.js';
import type { PolicyKey } from '../../policy/types.js';
import { RT_DEFAULTS } from '../../kernel/backends/backend.js';
import type { LedgerDoc } from '../../kernel/backends/rt-ledger.js';
import { statSync } from 'node:fs';

/** what the RT ledger says is held now: live holders (their group exists) and stale ones */
export function rtUse(doc: LedgerDoc | undefined): { percent: number; containers: number; stale: number; raisedParents: number } {
  const hs = Object.entries(doc?.holders ?? {});
  // the group exists and is the one the budget was granted to (rt-ledger.ts holderLive)
  const live = hs.filter(([dir, h]) => { const st = statSync(dir, { throwIfNoEntry: false }); return st !== undefined && (h.ino === undefined || h.ino === st.ino); });
  return {
    percent: Math.round(live.reduce((s, [, h]) => s + h.percent, 0) * 100) / 100,
    containers: live.length, stale: hs.length - live.length, raisedParents: Object.keys(doc?.parents ?? {}).length,
  };
}

/** The operator policy as `doctor` shows it: which sources count, the node's limits, per key what tenants may set. */
export function policyView(config: RuntimeConfig | undefined, ledger?: { file: string; doc?: LedgerDoc; error?: string }): { text: string[]; json: Record<string, unknown> } {
  const op = config?.operator ?? OPEN_POLICY;
  const rt = config?.rt ?? RT_DEFAULTS;
  const l = op.limits;
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const fits = Math.floor(l.rtBudgetPercent / rt.budgetPercent + 1e-9);
  const use = rtUse(ledger?.doc);
  const keys = Object.fromEntries(KEYS.map((k) => [k.key, describeRule(op, k.key as PolicyKey)]));
  const text = [
    `operator policy (${config ? config.path : 'no config file: built-in defaults'})`,
    `  sources         annotations ${yes(op.sources.annotations)}, env ${yes(op.sources.env)}, runtime args ${yes(op.sources.runtimeArgs)}`,
    `  limits          RT budget of all vkernel containers ${l.rtBudgetPercent} % of each CPU (${rt.budgetPercent} % per fifo/adaptive container: ${fits} at a time)`,
    `                  adaptive interval ≥ ${l.adaptiveIntervalMinMs} ms; per-container modules ${l.modules ? 'allowed' : 'not allowed'}; futex buckets ${l.futexBucketsMax === undefined ? 'module default (256 per CPU)' : `≤ ${l.futexBucketsMax}`}; rt v2 supervisor CPU ≤ ${rt.supervisorCpuPercent ?? 20} % of one CPU each`,
    ledger?.error
      ? `  RT in use       cannot read the RT ledger: ${ledger.error}`
      : `  RT in use       ${use.percent} % of each CPU (${use.containers} container${use.containers === 1 ? '' : 's'}) of the ${l.rtBudgetPercent} % limit${use.stale ? `; ${use.stale} holder(s) whose group is gone, returned at the next fifo create or gc` : ''} (${ledger?.file ?? 'no ledger'})`,
    `  keys            what tenants (annotations, env) may set${op.tenantKeys === 'listed' ? ' — only keys listed with tenant: true' : ''}`,
    ...KEYS.map((k) => `    io.vkernel.${k.key.padEnd(30)} ${keys[k.key]}`),
  ];
  return {
    text,
    json: { path: config?.path ?? null, sources: op.sources, tenantKeys: op.tenantKeys, limits: l, rt, keys, rules: op.keys, rtInUse: { ...use, ledger: ledger?.file, error: ledger?.error } },
  };
}
