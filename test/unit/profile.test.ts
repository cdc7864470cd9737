import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flushProfile, profileCall, profileTo, timed } from '../../src/profile.js';

const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('profile (VKERNEL_PROFILE)', () => {
  test('off: nothing recorded, the function still runs', () => {
    profileTo(undefined);
    expect(timed('x', () => 7)).toBe(7);
    expect(() => flushProfile()).not.toThrow();
  });

  test('the server: one line per served call, with its own phases only and no start-up', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vk-prof-')), 'p.jsonl');
    profileTo(f);
    timed('server-start', () => undefined); // before any call: not a call's phase
    profileCall('create', performance.now() - 3);
    timed('policy', () => undefined);
    await timed('runc-create', () => new Promise((r) => setTimeout(r, 20)));
    flushProfile();
    profileCall('create');
    timed('policy', () => undefined);
    flushProfile();
    flushProfile(); // the server's exit: no line of its own
    expect(lines(f)).toHaveLength(2);
    const [a, b] = lines(f);
    expect(a).toMatchObject({ cmd: 'create', served: true, startup: 0, pid: process.pid });
    expect(Object.keys(a.phases as object).sort()).toEqual(['policy', 'read + check the call', 'runc-create']);
    expect((a.phases as Record<string, number[]>)['read + check the call'][0]).toBeGreaterThanOrEqual(3);
    expect((a.phases as Record<string, number[]>)['runc-create'][0]).toBeGreaterThanOrEqual(15);
    expect(a.total as number).toBeGreaterThanOrEqual(15);
    expect(a.total as number).toBeLessThan(5000);
    expect(Object.keys(b.phases as object)).toEqual(['read + check the call', 'policy']);
    expect((b.phases as Record<string, number[]>).policy[1]).toBe(1);
    expect(b.total as number).toBeLessThan(a.total as number);
    profileTo(undefined);
  });
});
