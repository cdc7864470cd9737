import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot, tempRoot, uid, vk } from '../helpers/fixtures.js';

/**
 * Stored pids (issue 10 §1): everything of ours that signals or waits on a pid it stored checks
 * {pid, start time} right before (under bun through a pidfd). A state that names a live,
 * unrelated process with another start time (the pid was reused) must never get it signalled or
 * waited for: delete --force, gc, kill, the run watcher. Under the compiled engine (bun: pidfds)
 * and under node (start time, then kill(2)).
 */
beforeAll(requireRoot);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const startOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];

/** an unrelated process whose command line even names our helper for `id` (sh stays: `; :`) */
function decoy(id: string): ChildProcess {
  return spawn('sh', ['-c', 'sleep 60; :', 'vkernel-adaptive', id], { stdio: 'ignore' });
}
const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

/** a state of ours naming `pid` as the init and as helpers, with a start time that is not its own */
function reusedState(root: string, id: string, pid: number, extra: object = {}): void {
  const wrong = String(Number(startOf(pid)) - 1);
  writeFileSync(join(root, `vkernel@${id}.json`), JSON.stringify({
    version: 1, id, bundle: '/nonexistent', created: 'now', policy: { 'sched.policy': 'adaptive' }, sources: {},
    pid, pidStart: wrong, backend: 'rt', cgroupPath: `/vk-none-${id}/ctr`,
    // the controller as stored today (pid + start), and a bare pid as older states stored it
    helpers: { adaptive: { pid, start: wrong }, legacy: pid },
    applied: [{ name: 'sched-policy', undo: { backend: 'rt' } }],
    ...extra,
  }));
}

describe.each([['bun (pidfd)', {}], ['node (start time, then kill)', { VKERNEL_ENGINE: 'node' }]])('a reused pid is never signalled nor waited for: %s', (_name, env) => {
  test('delete --force, gc and kill leave the unrelated process alone', async () => {
    const root = tempRoot();
    const [x, y] = [uid('reuse'), uid('reuse')];
    const p = decoy(x);
    try {
      await sleep(200);
      expect(alive(p)).toBe(true);
      reusedState(root, x, p.pid as number);
      const del = await vk(['--root', root, 'delete', '--force', x], { env });
      expect([del.exitCode, del.stderr]).toEqual([0, '']);
      reusedState(root, y, p.pid as number);
      const gc = await vk(['gc', '--root', root], { env });
      // (gc also settles the host-wide RT ledger: a holder a fifo container elsewhere left for lazy
      // release, e.g. by another test or run on this host, is none of this test's business)
      const said = gc.stdout.split('\n').filter((l) => !/^removing RT ledger holder \S+ \(its group is gone\)$/.test(l));
      expect([gc.exitCode, said]).toEqual([0, [`removing ${root}: ${y}`]]);
      expect((await vk(['--root', root, 'kill', x, 'KILL'], { env })).exitCode).not.toBe(0);
      await sleep(300);
      expect(alive(p)).toBe(true);
      expect(readdirSync(root)).toEqual([]);
    } finally {
      p.kill('SIGKILL');
    }
  }, 60000);

  test('the run watcher does not wait on a pid that is no longer runc', async () => {
    const root = tempRoot();
    const id = uid('watch');
    const p = decoy(id);
    try {
      await sleep(200);
      // a run whose prepare step wrote our state, and runc never created the container: the
      // watcher's "runc" is the decoy's pid with another start time, so runc is gone
      reusedState(root, id, p.pid as number, { pid: undefined, pidStart: undefined, helpers: {}, applied: [] });
      const t0 = Date.now();
      const w = await vk(['--root', root, 'vkernel-run-watch', String(p.pid), id, String(Number(startOf(p.pid as number)) - 1)], { env, timeout: 20000 });
      expect([w.exitCode, w.stderr]).toEqual([0, '']);
      expect(Date.now() - t0).toBeLessThan(10000);
      expect(existsSync(join(root, `vkernel@${id}.json`))).toBe(false);
      expect(alive(p)).toBe(true);
    } finally {
      p.kill('SIGKILL');
    }
  }, 60000);
});
