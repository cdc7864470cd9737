import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/policy/config.js';

const file = (text: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'vk-cfg-')), 'config.yaml');
  writeFileSync(f, text);
  return f;
};

describe('runtime config file', () => {
  test('runc, defaults and rt settings', async () => {
    const c = await loadConfig(file('runc: /usr/sbin/runc\ndefaults:\n  io.vkernel.sched.policy: fifo\n  strict: false\nrt:\n  priority: 10\n  budget_percent: 40\n'));
    expect(c).toMatchObject({ runc: '/usr/sbin/runc', defaults: { 'io.vkernel.sched.policy': 'fifo', strict: false }, rt: { priority: 10, budgetPercent: 40 } });
  });

  test('absent default file: no config; absent explicit file: error', async () => {
    const prev = process.env.VKERNEL_RUNTIME_CONFIG;
    delete process.env.VKERNEL_RUNTIME_CONFIG;
    try {
      await expect(loadConfig('/nonexistent/config.yaml')).rejects.toThrow('cannot read vkernel-runtime config /nonexistent/config.yaml');
    } finally {
      if (prev !== undefined) process.env.VKERNEL_RUNTIME_CONFIG = prev;
    }
  });

  test.each([
    ['runc: [a]\n', 'runc must be a path'],
    ['defaults: 3\n', 'defaults must be a mapping of io.vkernel.* keys to values'],
    ['colour: red\n', 'unknown key(s) colour; allowed: runc, defaults, rt'],
    ['rt:\n  priority: 0\n', 'rt.priority must be an integer from 1 to 99'],
    ['rt:\n  budget_percent: 99\n', 'rt.budget_percent must be a number above 0 and at most 95'],
    ['rt:\n  burst: 1\n', 'rt: unknown key(s) burst'],
    ['runc: "unterminated\n', 'invalid YAML'],
    ['- a\n- b\n', 'expected a mapping'],
  ])('%j → %s', async (text, message) => {
    await expect(loadConfig(file(text))).rejects.toThrow(message);
  });
});
