/**
 * `npm run demo` (scripts/demo.sh) end to end on this host: a fifo container through the runtime,
 * what was applied, then delete and the demo's own look for leftovers (issue 10 §4: it must check
 * what it claims, and say LEFT BEHIND with exit 1 otherwise). The tier runs on the build it
 * started with, so the demo's setup step (apt, npm ci, build) is left out (VKERNEL_DEMO_SETUP=0).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO, requireRoot } from '../helpers/fixtures.js';
import { needs, RT_GROUPS } from '../helpers/prereq.js';

beforeAll(requireRoot);

needs(RT_GROUPS).test('the demo runs a fifo container, shows it applied, deletes it and finds nothing left (exit 0)', () => {
  const r = spawnSync('sh', [join(REPO, 'scripts/demo.sh')], { cwd: REPO, encoding: 'utf8', timeout: 90_000, env: { ...process.env, VKERNEL_DEMO_SETUP: '0' } });
  const said = `${r.stdout}\n${r.stderr}`;
  expect([r.status, r.signal]).toEqual([0, null]);
  expect(said).toMatch(/inside: policy : 1 {2}\(1 = SCHED_FIFO\)/);
  expect(said).toMatch(/backend: +rt\n/);
  expect(said).toMatch(/init task \d+: +pid \d+'s current scheduling policy: SCHED_FIFO/);
  expect(said).toMatch(/^deleted: no state, no cgroup demo-\d+ in any hierarchy/m);
  expect(said).not.toMatch(/LEFT BEHIND|jq: error/);
}, 120_000);
