import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendDeps } from '../../src/kernel/backends/backend.js';
import { rtBackend, type RtUndo } from '../../src/kernel/backends/rt.js';
import { releaseLater } from '../../src/kernel/backends/rt-release.js';
import { ledgerFile, readLedger } from '../../src/kernel/backends/rt-ledger.js';
import { MemoryCgroups } from '../doubles/cgroups.js';
import { FakeHost } from '../doubles/host-ops.js';

const RT = 'cpu.rt_runtime_us';
const settings = { priority: 5, budgetPercent: 25 };
let locks: string;
beforeAll(() => { locks = mkdtempSync(join(tmpdir(), 'vk-rt-locks-')); });
afterAll(() => rmSync(locks, { recursive: true, force: true }));

/** root 950000 µs; /docker without a budget; the container /docker/c1 with init pid 100 */
function host(): { cg: MemoryCgroups; fake: FakeHost; d: BackendDeps } {
  const cg = new MemoryCgroups()
    .add('/', { [RT]: 950_000, 'cpu.rt_period_us': 1_000_000 })
    .add('/docker', { [RT]: 0, 'cpu.rt_period_us': 1_000_000 })
    .add('/docker/c1', { [RT]: 0, 'cpu.rt_period_us': 1_000_000 }, [100]);
  const fake = new FakeHost();
  // each test its own lock dir, and so its own RT ledger
  return { cg, fake, d: { cgroups: cg, host: fake, lockDir: mkdtempSync(join(locks, 'l-')), self: ['/usr/local/bin/vkernel-runtime'] } };
}

describe('rt backend through the cgroups and HostOps interfaces (doubles)', () => {
  test('fifo: the parent is raised before the container gets its budget, then the init task becomes SCHED_FIFO', async () => {
    const { cg, fake, d } = host();
    const undo = await rtBackend.setup(d, cg.group('/docker/c1'), 100, 'fifo', false, settings);
    expect(cg.writes).toEqual([
      { path: '/docker', file: RT, value: '250000' },
      { path: '/docker/c1', file: RT, value: '250000' },
    ]);
    expect(fake.calls).toEqual([{ op: 'setScheduler', args: [100, 'fifo', 5] }]);
    expect(undo).toEqual({ dir: '/cg/docker/c1', base: '/cg', raised: [], ledger: true });
    // the ledger recorded the holder and the parent's original before the raise
    expect(readLedger(ledgerFile(d.lockDir))).toMatchObject({
      parents: { '/cg/docker': { original: 0 } },
      holders: { '/cg/docker/c1': { us: 250000, percent: 25, chain: ['/cg/docker'] } },
    });
  });

  test('cfs changes nothing; adaptive gets the budget but its tasks start as they are', async () => {
    const a = host();
    expect(await rtBackend.setup(a.d, a.cg.group('/docker/c1'), 100, 'cfs', false, settings)).toBeUndefined();
    expect(a.cg.writes).toEqual([]);
    expect(a.fake.calls).toEqual([]);
    const b = host();
    await rtBackend.setup(b.d, b.cg.group('/docker/c1'), 100, 'cfs', true, settings);
    expect(b.cg.value('/docker/c1', RT)).toBe('250000');
    expect(b.fake.calls).toEqual([]);
  });

  test('no room under the root: refused before any write or chrt', async () => {
    const { cg, fake, d } = host();
    cg.add('/other', { [RT]: 800_000 });
    await expect(rtBackend.setup(d, cg.group('/docker/c1'), 100, 'fifo', false, settings)).rejects.toThrow('RT budget exhausted: 250000 µs per period asked, 150000 µs left under /cg');
    expect(cg.writes).toEqual([]);
    expect(fake.calls).toEqual([]);
  });

  test('the container group refusing its budget: the raised parent is put back and the error names the file', async () => {
    const { cg, fake, d } = host();
    cg.refuse('/docker/c1', RT, 'EBUSY');
    await expect(rtBackend.setup(d, cg.group('/docker/c1'), 100, 'fifo', false, settings))
      .rejects.toThrow('cannot set /cg/docker/c1/cpu.rt_runtime_us to 250000: the RT budgets below it would exceed its own, or RT tasks need the budget');
    expect(cg.value('/docker', RT)).toBe('0');
    expect(fake.calls).toEqual([]);
  });

  test('release demotes every task and frees the budget while the group exists; a task gone meanwhile is fine', async () => {
    const { cg, fake, d } = host();
    const undo = await rtBackend.setup(d, cg.group('/docker/c1'), 100, 'fifo', false, settings);
    cg.add('/docker/c1', {}, [101]);
    fake.goneTasks.add(101);
    await rtBackend.release!(d, undo);
    expect(fake.ops('setThreadsScheduler')).toEqual([[[100, 101], 'other', undefined]]);
    expect(cg.value('/docker/c1', RT)).toBe('0');
  });

  test('teardown returns the parent to its original, or to what groups created since need', async () => {
    const a = host();
    const undoA = await rtBackend.setup(a.d, a.cg.group('/docker/c1'), 100, 'fifo', false, settings);
    a.cg.remove('/docker/c1');
    await rtBackend.teardown(a.d, undoA);
    expect(a.cg.value('/docker', RT)).toBe('0');

    const b = host();
    const undoB = await rtBackend.setup(b.d, b.cg.group('/docker/c1'), 100, 'fifo', false, settings);
    b.cg.add('/docker/c2', { [RT]: 100_000 });
    b.cg.remove('/docker/c1');
    await rtBackend.teardown(b.d, undoB);
    expect(b.cg.value('/docker', RT)).toBe('100000');
    expect(b.fake.ops('startHelper')).toEqual([]);
  });

  test('teardown the kernel refuses for now: finished by a detached vkernel-rt-release with the undo record', async () => {
    const { cg, fake, d } = host();
    const undo = await rtBackend.setup(d, cg.group('/docker/c1'), 100, 'fifo', false, settings) as RtUndo;
    cg.remove('/docker/c1');
    cg.refuse('/docker', RT, 'EBUSY'); // the removed group still counts in the kernel
    await rtBackend.teardown(d, undo);
    expect(fake.ops('startHelper')).toEqual([[['/usr/local/bin/vkernel-runtime', 'vkernel-rt-release', JSON.stringify(undo)]]]);
    expect(cg.value('/docker', RT)).toBe('250000');
    // the helper, once the kernel lets go
    cg.allow('/docker', RT);
    expect(await releaseLater(JSON.stringify(undo), d)).toBe(0);
    expect(cg.value('/docker', RT)).toBe('0');
  });

  test('vkernel-rt-release writes nothing outside the cgroup hierarchy, whatever its argument says', async () => {
    const { cg, d } = host();
    await expect(releaseLater(JSON.stringify({ dir: '/etc', base: '/cg', raised: [] }), d)).rejects.toThrow('vkernel-rt-release: /etc is not a group of the cgroup hierarchy /cg');
    await expect(releaseLater(JSON.stringify({ dir: '/cg/x', base: '/cg', raised: [{ dir: '/cg/../etc', original: 0 }] }), d)).rejects.toThrow('is not a group');
    await expect(releaseLater('{"dir":', d)).rejects.toThrow('vkernel-rt-release: bad argument');
    await expect(releaseLater(undefined, d)).rejects.toThrow('vkernel-rt-release: bad argument');
    expect(cg.writes).toEqual([]);
  });

  test('switchTo sets every thread of the group in one host call (no process per task); a thread that exited meanwhile is skipped, a live one failing is an error', async () => {
    const { cg, fake, d } = host();
    cg.add('/docker/c1', {}, [999_999_999]);
    fake.goneTasks.add(999_999_999);
    await rtBackend.switchTo(d, cg.group('/docker/c1'), 'fifo', settings);
    expect(fake.ops('setThreadsScheduler')).toEqual([[[100, 999_999_999], 'fifo', 5]]);
    expect(fake.ops('setScheduler')).toEqual([]);
    cg.add('/docker/c1', {}, [process.pid]);
    fake.goneTasks.add(process.pid);
    await expect(rtBackend.switchTo(d, cg.group('/docker/c1'), 'cfs', settings)).rejects.toThrow('No such process');
  });
});
