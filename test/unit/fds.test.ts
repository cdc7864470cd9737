import { mkdtempSync, openSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callersFd, extraFds } from '../../src/oci/runc.js';

describe('the fds runc gets besides stdio: only our caller\'s (issue 10 §2, --preserve-fds)', () => {
  test('where the caller has no fd, runc gets nothing (ignore), trailing ones dropped', () => {
    expect(extraFds(2, 0, () => true)).toEqual([3, 4]);
    expect(extraFds(2, 0, (fd) => fd === 4)).toEqual(['ignore', 4]);
    expect(extraFds(2, 0, (fd) => fd === 3)).toEqual([3]);
    expect(extraFds(2, 0, () => false)).toEqual([]);
    expect(extraFds(1, 3, () => true)).toEqual([3, 4, 5]);
    expect(extraFds(Number.NaN, 0, () => true)).toEqual([]);
  });

  test('a caller\'s fd is open without close-on-exec (fdinfo flags); ours are O_CLOEXEC', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vk-fdinfo-'));
    mkdirSync(join(dir, 'fdinfo'));
    writeFileSync(join(dir, 'fdinfo/3'), 'pos:\t0\nflags:\t0100002\nmnt_id:\t25\nino:\t1\n'); // O_RDWR|O_LARGEFILE, inherited
    writeFileSync(join(dir, 'fdinfo/4'), 'pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t2\n'); // O_CLOEXEC: an epoll of ours
    expect([3, 4, 5].map((fd) => callersFd(fd, join(dir, 'fdinfo')))).toEqual([true, false, false]);
    // and on the real /proc: a file this (node) process opened is close-on-exec, never the caller's
    const mine = openSync(join(dir, 'fdinfo/3'), 'r');
    expect(callersFd(mine)).toBe(false);
  });
});
