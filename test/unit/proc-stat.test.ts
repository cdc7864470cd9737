// /proc/<pid>/stat parsing (store/proc.ts): a comm may hold spaces and parentheses, so fields after
// it are counted from its last ')'. Fake /proc trees stand for the kernel's text here.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskPolicy } from '../../src/kernel/backends/rt-v2.js';
import { readRuncInit, runcStateHead } from '../../src/oci/runc-state.js';
import { isSameProcess, liveStartTime, startTime, statField, statFields } from '../../src/store/proc.js';

/** a stat line of pid 42 with comm `comm`: field n (from 3) holds "f<n>" (3, the state: `state`), 22 the start time, 41 the policy */
function statLine(comm: string, state?: string): string {
  const rest = Array.from({ length: 50 }, (_, i) => (i + 3 === 22 ? '98765' : i + 3 === 41 ? '1' : i + 3 === 3 && state ? state : `f${i + 3}`));
  return `42 (${comm}) ${rest.join(' ')}\n`;
}

describe('statFields', () => {
  it.each(['sh', 'a b', 'x) (y z', ') )', 'vkernel-engine'])('counts fields after comm "%s" from its last ")"', (comm) => {
    const st = statLine(comm);
    expect(statFields(st, 2, 3, 14, 15)).toEqual([comm, 'f3', 'f14', 'f15']);
    expect(statField(st, 22)).toBe('98765');
    expect(statField(st, 41)).toBe('1');
  });

  it('start time and policy from a /proc tree, undefined where the process is gone', () => {
    const proc = mkdtempSync(join(tmpdir(), 'vk-proc-'));
    try {
      mkdirSync(join(proc, '42'));
      writeFileSync(join(proc, '42', 'stat'), statLine('x) 7 (y'));
      expect(startTime(42, proc)).toBe('98765');
      expect(taskPolicy(42, proc)).toBe(1);
      expect(startTime(43, proc)).toBeUndefined();
      expect(taskPolicy(43, proc)).toBeUndefined();
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });

  it.each([['S', '98765'], ['R', '98765'], ['D', '98765'], ['Z', undefined], ['X', undefined], ['x', undefined]])('a process in state %s: live start time %s', (state, live) => {
    const proc = mkdtempSync(join(tmpdir(), 'vk-proc-'));
    try {
      mkdirSync(join(proc, '42'));
      writeFileSync(join(proc, '42', 'stat'), statLine('Z) X (', state));
      expect(startTime(42, proc)).toBe('98765');
      expect(liveStartTime(42, proc)).toBe(live);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});

describe('a process that ended and is not reaped yet (a zombie)', () => {
  // a real one: the child of a perl that never waits for it (SIGCHLD at its default)
  it('keeps its /proc entry and start time, but is not the process it was (isSameProcess), nor a live init (readRuncInit)', async () => {
    const parent = spawn('perl', ['-e', 'my $p = fork() // die "fork: $!"; exit 0 unless $p; $| = 1; print "$p\n"; sleep 30;'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(b.toString()))));
      const start = startTime(pid);
      expect(start).toBeDefined();
      for (let i = 0; i < 100 && statField(readFileSync(`/proc/${pid}/stat`, 'utf8'), 3) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(statField(readFileSync(`/proc/${pid}/stat`, 'utf8'), 3)).toBe('Z');
      expect(startTime(pid)).toBe(start);
      expect(liveStartTime(pid)).toBeUndefined();
      expect(isSameProcess({ pid, start })).toBe(false);
      expect(isSameProcess(pid, () => true)).toBe(false);
      // runc's state file naming it as a container's init: stopped
      const root = mkdtempSync(join(tmpdir(), 'vk-runc-root-'));
      try {
        mkdirSync(join(root, 'c'));
        writeFileSync(join(root, 'c', 'state.json'), JSON.stringify({ init_process_pid: pid, init_process_start: Number(start) }));
        writeFileSync(join(root, 'c', 'exec.fifo'), '');
        expect(readRuncInit(root, 'c')).toEqual({ pid, status: 'stopped' });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
      // and the running parent is what it was
      expect(isSameProcess({ pid: parent.pid as number, start: startTime(parent.pid as number) })).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

describe('runc\'s state file (readRuncInit): its head, or the whole file', () => {
  const head = (id: string, pid: number, start: string) => `{"id":"${id}","init_process_pid":${pid},"init_process_start":${start},"created":"2026-12-06T00:00:00Z","config":{"rootfs":"/r"}}`;

  it('the pid and start time from the head, for that id only; another layout or id: none (parsed whole)', () => {
    expect(runcStateHead(head('c1', 42, '98765'), 'c1')).toEqual({ init_process_pid: 42, init_process_start: '98765' });
    expect(runcStateHead(head('c1', 42, '98765'), 'c2')).toBeUndefined();
    expect(runcStateHead(head('c1', 42, '98765'), 'c')).toBeUndefined();
    expect(runcStateHead(JSON.stringify({ id: 'c1', init_process_pid: 42, init_process_start: 98765 }, null, 1), 'c1')).toBeUndefined();
    expect(runcStateHead(JSON.stringify({ init_process_pid: 42, id: 'c1', init_process_start: 98765 }), 'c1')).toBeUndefined();
    expect(runcStateHead('{"id":"c1","init_process_pid":-1,"init_process_start":5,', 'c1')).toBeUndefined();
    expect(runcStateHead('{"id":"c1","init_process_pid":42,"init_process_start":"5",', 'c1')).toBeUndefined();
  });

  it('a live init (this process) read from either: created while exec.fifo is there, else running or paused; a start time that differs: stopped', () => {
    const root = mkdtempSync(join(tmpdir(), 'vk-runc-root-'));
    const start = startTime(process.pid) as string;
    try {
      mkdirSync(join(root, 'c'));
      for (const text of [head('c', process.pid, start), JSON.stringify({ init_process_start: Number(start), init_process_pid: process.pid }, null, 2)]) {
        writeFileSync(join(root, 'c', 'state.json'), text);
        writeFileSync(join(root, 'c', 'exec.fifo'), '');
        expect(readRuncInit(root, 'c')).toEqual({ pid: process.pid, start, status: 'created' });
        rmSync(join(root, 'c', 'exec.fifo'));
        expect(readRuncInit(root, 'c')).toEqual({ pid: process.pid, start, status: 'running-or-paused' });
      }
      writeFileSync(join(root, 'c', 'state.json'), head('c', process.pid, `${start}1`));
      expect(readRuncInit(root, 'c')).toEqual({ pid: process.pid, status: 'stopped' });
      // another id's head: the whole file decides (here: its pid and start time, the same numbers)
      writeFileSync(join(root, 'c', 'state.json'), head('d', process.pid, start));
      expect(readRuncInit(root, 'c')).toEqual({ pid: process.pid, start, status: 'running-or-paused' });
      writeFileSync(join(root, 'c', 'state.json'), '{"id":"c","init_process_pid":');
      expect(readRuncInit(root, 'c')).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
