import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveStartTime } from '../store/proc.js';

/**
 * What runc itself keeps of a container under its --root (`<root>/<id>/state.json`, written by
 * libcontainer: `init_process_pid`, `init_process_start`; `exec.fifo` while it is created and not
 * started), read without starting `runc state` (one runc process less on create and delete). Any
 * doubt (no file, another layout) is `undefined`: the caller asks `runc state` then.
 */
export interface RuncInit {
  pid: number;
  status: 'created' | 'running-or-paused' | 'stopped';
  /** the init's start time (store/proc.ts), as runc recorded it and /proc/<pid>/stat still says: alive only */
  start?: string;
}

const HEAD = /^\{"id":"([^"\\]*)","init_process_pid":([0-9]{1,10}),"init_process_start":([0-9]{1,20}),/;

/**
 * The init's pid and start time from the head of runc's state file: libcontainer's BaseState begins
 * `{"id":"<id>","init_process_pid":N,"init_process_start":N,` (Go's encoder writes a struct's fields
 * in their order, without spaces), so the rest, the container's whole config (~6 KB), is not parsed
 * on create's path. Another head (another layout, another id): undefined, and the file is parsed whole.
 */
export function runcStateHead(text: string, id: string): { init_process_pid: number; init_process_start: string } | undefined {
  const head = HEAD.exec(text);
  return head && head[1] === id ? { init_process_pid: Number(head[2]), init_process_start: head[3] } : undefined;
}

export function readRuncInit(root: string, id: string): RuncInit | undefined {
  let doc: { init_process_pid?: unknown; init_process_start?: unknown };
  try {
    const text = readFileSync(join(root, id, 'state.json'), 'utf8');
    doc = runcStateHead(text, id) ?? JSON.parse(text) as typeof doc;
  } catch {
    return undefined;
  }
  const pid = doc.init_process_pid;
  const start = doc.init_process_start;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || (typeof start !== 'number' && typeof start !== 'string')) return undefined;
  // runc's own test: the init is alive while a process of that pid has the recorded start time and
  // is no zombie (a dead task's /proc/<pid>/cgroup names the root of every hierarchy)
  if (liveStartTime(pid) !== String(start)) return { pid, status: 'stopped' };
  return { pid, start: String(start), status: existsSync(join(root, id, 'exec.fifo')) ? 'created' : 'running-or-paused' };
}
