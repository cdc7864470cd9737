import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLine, Logger, rfc3339 } from '../../src/log/logger.js';

const t = new Date('2026-11-28T20:45:28.123Z');

test('json lines are what containerd parses (level, msg, time)', () => {
  const line = formatLine('error', 'io.vkernel.sched.policy: "fast" is not one of cfs, fifo, adaptive', 'json', t);
  expect(line).toBe('{"level":"error","msg":"io.vkernel.sched.policy: \\"fast\\" is not one of cfs, fifo, adaptive","time":"2026-11-28T20:45:28Z"}\n');
  expect(JSON.parse(line)).toEqual({ level: 'error', msg: 'io.vkernel.sched.policy: "fast" is not one of cfs, fifo, adaptive', time: '2026-11-28T20:45:28Z' });
});

test('text lines are logrus style, quoting only when needed', () => {
  expect(formatLine('warning', 'plain', 'text', t)).toBe('time="2026-11-28T20:45:28Z" level=warning msg=plain\n');
  expect(formatLine('info', 'two words "q"', 'text', t)).toBe('time="2026-11-28T20:45:28Z" level=info msg="two words \\"q\\""\n');
  expect(rfc3339(t)).toBe('2026-11-28T20:45:28Z');
});

test('Logger appends to --log and echoes errors on stderr like runc; debug only with --debug', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'vk-log-')), 'log.json');
  const writes: string[] = [];
  const log = new Logger({ file, format: 'json', debug: false }, (s) => writes.push(s));
  log.debug('hidden');
  log.warn('w1');
  log.error('e1');
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.map((l) => [l.level, l.msg])).toEqual([['warning', 'w1'], ['error', 'e1']]);
  expect(writes).toEqual(['e1\n']);
});
