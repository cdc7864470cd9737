// A lock taker for test/integration/locks.test.ts, run by node or bun on the built code (dist/), so
// each engine's flock mechanism (util-linux child / bun:ffi) is the one exercised.
//   hold <root> <name> <step>      take the lock, stop at <step> (prints "AT <step>"), wait to be killed
//   hold-child <root> <name>        take the lock, start a `sleep` child, stop (prints "AT held")
//   take <root> <name> <timeoutMs> take and release once, print "TOOK <ms>"
//   race <root> <name> <n> <dir>    n times: take, check nobody else is inside, count, release
//   time <root> <n>                 n uncontended take+release of fresh names, print "US <µs each>"
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = new URL('../../dist/src/', import.meta.url);
const { withLock } = await import(new URL('store/lock.js', dist).href);
const mech = await import(new URL('store/flock.js', dist).href).then(async (m) => (await m.fileLocker()).mechanism, () => 'none');
const [mode, root, name, arg, dir] = process.argv.slice(2);
const forever = () => new Promise(() => { setInterval(() => {}, 1 << 30); });
const say = (s) => process.stdout.write(`${s}\n`);
say(`MECH ${mech}`);

// a process that has exited is no holder, though its parent may not have reaped it yet: a zombie
// answers kill(pid, 0) (the test's SIGKILLed victims are zombies until jest's loop reaps them, and
// the kernel drops a dead holder's flock before that: seen once as a false "BOTH" under load)
const alive = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch { return false; }
};

if (mode === 'hold') {
  await withLock(root, name, async () => { if (arg === 'in-fn') { say('AT in-fn'); await forever(); } }, {
    at: async (step) => { if (step === arg) { say(`AT ${step}`); await forever(); } },
  });
} else if (mode === 'hold-child') {
  await withLock(root, name, async () => {
    const c = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    c.unref();
    say(`CHILD ${c.pid}`);
    say('AT held');
    await forever();
  });
} else if (mode === 'take') {
  const t0 = performance.now();
  await withLock(root, name, async () => { say(`TOOK ${(performance.now() - t0).toFixed(1)}`); }, { timeoutMs: Number(arg) });
} else if (mode === 'race') {
  const inside = join(dir, 'inside');
  const count = join(dir, 'count');
  for (let i = 0; i < Number(arg); i++) {
    await withLock(root, name, async () => {
      if (existsSync(inside)) {
        const other = Number(readFileSync(inside, 'utf8'));
        // a holder the test SIGKILLed inside leaves its mark; a live one is a second holder
        if (alive(other)) { say(`BOTH ${other} ${process.pid}`); process.exit(3); }
      }
      writeFileSync(inside, String(process.pid));
      const n = existsSync(count) ? Number(readFileSync(count, 'utf8')) : 0;
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      writeFileSync(count, String(n + 1));
      rmSync(inside);
    });
  }
  say('DONE');
} else if (mode === 'time') {
  const n = Number(name);
  for (let i = 0; i < 5; i++) await withLock(root, `warm${i}`, async () => {});
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await withLock(root, `t${i}`, async () => {});
  say(`US ${(((performance.now() - t0) * 1000) / n).toFixed(0)}`);
} else {
  throw new Error(`unknown mode ${mode}`);
}
