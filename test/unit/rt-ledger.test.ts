import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendDeps } from '../../src/kernel/backends/backend.js';
import { rtBackend } from '../../src/kernel/backends/rt.js';
import { ledgerFile, readLedger } from '../../src/kernel/backends/rt-ledger.js';
import { tidyLedger } from '../../src/kernel/backends/rt.js';
import { MemoryCgroups } from '../doubles/cgroups.js';
import { FakeHost } from '../doubles/host-ops.js';

/**
 * The RT ledger through the rt backend, on the cgroups double: whatever order containers come and
 * go in, and after a crash between the raise and the state record, the parents end exactly as they
 * were; the node-wide cap counts every holder. (test/integration/rt-ledger.test.ts: on real cgroups.)
 */
const RT = 'cpu.rt_runtime_us';
const P = 'cpu.rt_period_us';
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'vk-ledger-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** root 950000; /docker 0 and /kubepods/burstable 0 (nested); containers appear as tests add them */
function host(parentBudget = 0) {
  const cg = new MemoryCgroups()
    .add('/', { [RT]: 950_000, [P]: 1_000_000 })
    .add('/docker', { [RT]: parentBudget, [P]: 1_000_000 })
    .add('/kubepods', { [RT]: 0, [P]: 1_000_000 })
    .add('/kubepods/burstable', { [RT]: 0, [P]: 1_000_000 });
  const d: BackendDeps = { cgroups: cg, host: new FakeHost(), lockDir: mkdtempSync(join(dir, 'l-')), self: ['/x'] };
  let pid = 100;
  const start = async (path: string, limit = 50) => {
    cg.add(path, { [RT]: 0, [P]: 1_000_000 }, [pid++]);
    return rtBackend.setup(d, cg.group(path), pid - 1, 'fifo', false, { priority: 1, budgetPercent: 25, nodeLimitPercent: limit, id: path.split('/').pop() });
  };
  /** what runc + our delete do: release while the group exists, runc removes it, teardown */
  const stop = async (path: string, undo: unknown) => {
    await rtBackend.release!(d, undo);
    cg.remove(path);
    await rtBackend.teardown(d, undo);
  };
  const budgets = () => ({ docker: cg.value('/docker', RT), kubepods: cg.value('/kubepods', RT), burstable: cg.value('/kubepods/burstable', RT) });
  return { cg, d, start, stop, budgets };
}

const ORIGINAL = { docker: '0', kubepods: '0', burstable: '0' };

test('A, B, delete A, delete B (the issue\'s case: the parent kept 25 % forever) and B before A: the parent ends at 0', async () => {
  for (const order of [['a', 'b'], ['b', 'a']]) {
    const h = host();
    const undo: Record<string, unknown> = { a: await h.start('/docker/a'), b: await h.start('/docker/b') };
    expect(h.budgets().docker).toBe('500000');
    await h.stop(`/docker/${order[0]}`, undo[order[0]]);
    expect(h.budgets().docker).toBe('250000');
    await h.stop(`/docker/${order[1]}`, undo[order[1]]);
    expect(h.budgets()).toEqual(ORIGINAL);
    expect(readLedger(ledgerFile(h.d.lockDir))).toEqual({ version: 1, parents: {}, holders: {} });
  }
});

test('interleaved creates and deletes across nested parents: every parent back to what it was', async () => {
  const h = host();
  const a = await h.start('/kubepods/burstable/a');
  const b = await h.start('/docker/b');
  expect(h.budgets()).toEqual({ docker: '250000', kubepods: '250000', burstable: '250000' });
  await h.stop('/kubepods/burstable/a', a);
  const c = await h.start('/kubepods/burstable/c');
  await h.stop('/docker/b', b);
  const d = await h.start('/docker/d');
  await h.stop('/kubepods/burstable/c', c);
  expect(h.budgets()).toEqual({ docker: '250000', kubepods: '0', burstable: '0' });
  await h.stop('/docker/d', d);
  expect(h.budgets()).toEqual(ORIGINAL);
});

test('a parent that had its own budget keeps it; one raised above it by us comes back to it', async () => {
  const h = host(300_000);
  const a = await h.start('/docker/a');
  const b = await h.start('/docker/b');
  expect(h.budgets().docker).toBe('500000'); // 300000 had room for a, not for a + b
  await h.stop('/docker/a', a);
  await h.stop('/docker/b', b);
  expect(h.budgets().docker).toBe('300000');
});

test('killed between the raise and the state record: the holder is in the ledger; once its group is gone, the next ledger operation puts the parents back', async () => {
  const h = host();
  const a = await h.start('/docker/a');
  await h.start('/docker/killed'); // its undo never reaches a state file
  expect(h.budgets().docker).toBe('500000');
  h.cg.remove('/docker/killed'); // runc delete --force, without our teardown
  await h.stop('/docker/a', a);
  expect(h.budgets()).toEqual(ORIGINAL);
  expect(readLedger(ledgerFile(h.d.lockDir)).holders).toEqual({});
  // and a create after such a crash does not count the dead holder against the cap either
  const k = host();
  await k.start('/docker/k1');
  await k.start('/docker/k2');
  k.cg.remove('/docker/k2');
  await expect(k.start('/docker/k3')).resolves.toBeDefined();
});

test('a fifo container deleted by runc alone (no release, no teardown: its group keeps its budget to the end): the next create drops its holder and leaves room for the group the kernel may still count; the next ledger operation (gc) puts the parents back', async () => {
  const h = host();
  await h.start('/docker/a');
  expect(h.budgets().docker).toBe('250000');
  h.cg.remove('/docker/a'); // runc's delete, the launcher passing it straight to runc
  const b = await h.start('/docker/b');
  // b's 25 % and room for a's group until the kernel frees it
  expect(h.budgets().docker).toBe('500000');
  expect(Object.keys(readLedger(ledgerFile(h.d.lockDir)).holders)).toEqual(['/cg/docker/b']);
  expect(readLedger(ledgerFile(h.d.lockDir)).parents).toEqual({ '/cg/docker': { original: 0 } });
  expect(b).toMatchObject({ ledger: true });
  h.cg.remove('/docker/b'); // runc's delete again
  expect(tidyLedger(h.cg, ledgerFile(h.d.lockDir))).toEqual(['/cg/docker/b']); // gc
  expect(h.budgets()).toEqual(ORIGINAL);
  expect(readLedger(ledgerFile(h.d.lockDir))).toEqual({ version: 1, parents: {}, holders: {} });
});

test('no room under the root for a removed group too: the plan without it (the write waits for the kernel instead)', async () => {
  const h = host();
  h.cg.add('/', { [RT]: 500_000 });
  await h.start('/docker/a');
  h.cg.remove('/docker/a');
  await h.start('/docker/b');
  await h.start('/docker/c');
  expect(h.budgets().docker).toBe('500000');
});

test('a group made again under the same path (the id used again by a container without a request) is another group: the old holder neither counts nor keeps a parent raised', async () => {
  const h = host();
  await h.start('/docker/a');
  await h.start('/docker/b');
  h.cg.remove('/docker/a');
  h.cg.add('/docker/a', { [RT]: 0, [P]: 1_000_000 }); // runc created it again, without us
  // a's holder would fill the 50 % cap with b's
  await expect(h.start('/docker/c')).resolves.toBeDefined();
  expect(Object.keys(readLedger(ledgerFile(h.d.lockDir)).holders).sort()).toEqual(['/cg/docker/b', '/cg/docker/c']);
  // the same path granted again (a fifo container of that id): one holder, of the new group
  h.cg.remove('/docker/b');
  await h.start('/docker/a');
  const holders = readLedger(ledgerFile(h.d.lockDir)).holders;
  expect(Object.keys(holders).sort()).toEqual(['/cg/docker/a', '/cg/docker/c']);
  expect(holders['/cg/docker/a'].ino).toBe(h.cg.group('/docker/a').id());
});

test('node cap: all holders count, whatever parent they are under; a refusal names the use and the limit and writes no budget', async () => {
  const h = host();
  await h.start('/docker/a');
  await h.start('/kubepods/burstable/b');
  const writes = h.cg.writes.length;
  await expect(h.start('/docker/c')).rejects.toThrow('node RT budget 50 % in use (2 containers), limit 50 %');
  expect(h.cg.writes.length).toBe(writes);
  expect(h.cg.value('/docker/c', RT)).toBe('0');
  expect(Object.keys(readLedger(ledgerFile(h.d.lockDir)).holders)).toEqual(['/cg/docker/a', '/cg/kubepods/burstable/b']);
  // a higher limit lets it in
  await expect(h.start('/docker/c2', 75)).resolves.toBeDefined();
});

test('a parent write the kernel refuses at release (a removed group it still counts) stays in the ledger until a later release', async () => {
  const h = host();
  const a = await h.start('/docker/a');
  h.cg.refuse('/docker', RT, 'EBUSY');
  await rtBackend.release!(h.d, a);
  h.cg.remove('/docker/a');
  await rtBackend.teardown(h.d, a);
  expect(h.budgets().docker).toBe('250000');
  expect(readLedger(ledgerFile(h.d.lockDir)).parents).toEqual({ '/cg/docker': { original: 0 } });
  h.cg.allow('/docker', RT);
  const b = await h.start('/docker/b');
  await h.stop('/docker/b', b);
  expect(h.budgets()).toEqual(ORIGINAL);
});

test('a ledger that is not one is an error, never overwritten', async () => {
  const h = host();
  writeFileSync(ledgerFile(h.d.lockDir), '{"holders": []}');
  await expect(h.start('/docker/a')).rejects.toThrow('not an RT ledger');
  expect(h.budgets()).toEqual(ORIGINAL);
});

test('no fsync: a ledger torn by a host crash (unreadable, written before this boot) reads as empty; one torn in this boot is an error', () => {
  const f = join(mkdtempSync(join(dir, 't-')), 'rt-ledger.json');
  writeFileSync(f, '{"version": 1, "parents": {"/sys/fs/cgroup/cpu/docker": {"orig');
  const stat = (btime: number) => {
    const p = join(mkdtempSync(join(dir, 's-')), 'stat');
    writeFileSync(p, `cpu  1 2 3 4\nbtime ${btime}\nprocesses 9\n`);
    return p;
  };
  const now = Math.floor(Date.now() / 1000);
  expect(readLedger(f, stat(now + 60))).toEqual({ version: 1, parents: {}, holders: {} }); // booted after the write
  expect(() => readLedger(f, stat(now - 60))).toThrow('not an RT ledger'); // written in this boot: never guessed
  expect(() => readLedger(f, join(dir, 'no-such-stat'))).toThrow('not an RT ledger');
});

test('journal: called with the undo record after the ledger has the holder and before any budget is raised', async () => {
  const h = host();
  h.cg.add('/docker/j', { [RT]: 0, [P]: 1_000_000 }, [500]);
  const seen: { undo: unknown; writes: number; holders: string[] }[] = [];
  const undo = await rtBackend.setup(h.d, h.cg.group('/docker/j'), 500, 'fifo', false, { priority: 1, budgetPercent: 25 }, (u) => {
    seen.push({ undo: u, writes: h.cg.writes.length, holders: Object.keys(readLedger(ledgerFile(h.d.lockDir)).holders) });
  });
  expect(seen).toEqual([{ undo, writes: 0, holders: ['/cg/docker/j'] }]);
  expect(h.budgets().docker).toBe('250000');
  // teardown from the journaled record alone (what a state file keeps after a crash) puts the parent back
  h.cg.remove('/docker/j');
  await rtBackend.teardown(h.d, seen[0].undo);
  expect(h.budgets()).toEqual(ORIGINAL);
});
