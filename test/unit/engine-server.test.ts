import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { READ_VARIABLES, readEnv, type RuntimeEnv } from '../../src/env.js';
import { parseArgv } from '../../src/oci/argv.js';
import { callerOf, startedAfter } from '../../src/serve/caller.js';
import { contextOf, credentialsOf, otherContext, procFacts, rlimitsOf } from '../../src/serve/context.js';
import { Decoder, encode, parseEnd, parseRequest, PROTOCOL, type Request } from '../../src/serve/protocol.js';
import { asCaller, callerEnv, Channel, identity, refusal, type Self } from '../../src/serve/server.js';
import { HolderGone } from '../../src/store/lock.js';

/** /proc/self/limits as Linux 6.1 writes it */
const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max data size             unlimited            unlimited            bytes     
Max stack size            8388608              unlimited            bytes     
Max core file size        0                    unlimited            bytes     
Max resident set          unlimited            unlimited            bytes     
Max processes             96367                96367                processes 
Max open files            4096                 4096                 files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max file locks            unlimited            unlimited            locks     
Max pending signals       96367                96367                signals   
Max msgqueue size         819200               819200               bytes     
Max nice priority         0                    0                    
Max realtime priority     0                    0                    
Max realtime timeout      unlimited            unlimited            us        
`;
const RLIMITS = 'rlimits=u:u,u:u,u:u,8388608:u,0:u,u:u,96367:96367,*:4096,8388608:8388608,u:u,u:u,96367:96367,819200:819200,0:0,0:0,u:u';

/** /proc/self/status, its lines that name credentials among others */
const STATUS = ['Name:\tcat', 'Umask:\t0022', 'State:\tR (running)', 'Uid:\t0\t0\t0\t0', 'Gid:\t0\t0\t0\t0', 'FDSize:\t64',
  'Groups:\t0 ', 'CapInh:\t0000000000000000', 'CapPrm:\t000001fffeffffff', 'CapEff:\t000001fffeffffff', 'CapBnd:\t000001fffeffffff',
  'CapAmb:\t0000000000000000', 'NoNewPrivs:\t0', 'Seccomp:\t0', 'Seccomp_filters:\t0', 'Speculation_Store_Bypass:\tvulnerable', ''].join('\n');
const CREDS = 'creds=0.0.0.0,0.0.0.0,0000000000000000,000001fffeffffff,000001fffeffffff,000001fffeffffff,0000000000000000,0,0,0';

/** the Q payload as client/vkernel-client.c writes it */
const q = (engine: string, cwd: string, argv: string[], env: string[]) =>
  Buffer.from([PROTOCOL, engine, cwd, String(argv.length), ...argv, ...env].map((f) => `${f}\0`).join(''));

describe('engine server protocol', () => {
  test('messages split anywhere in the stream come out whole, in order', () => {
    const bytes = Buffer.concat([encode('A'), encode('E', 'héllo\n'), encode('R', 'runc\0create\0')]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new Decoder();
      const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(got.map((m) => [m.type, m.payload.toString()])).toEqual([['A', ''], ['E', 'héllo\n'], ['R', 'runc\0create\0']]);
    }
  });

  test('a taken call\'s A goes out in one write with the message after it (the client woken once); F alone', () => {
    const writes: Buffer[] = [];
    const conn = { write: (b: Buffer) => { writes.push(b); }, end: () => {}, destroy: () => {} };
    const taken = new Channel(conn);
    taken.take();
    expect(writes).toEqual([]);
    taken.send('E', 'warn\n');
    taken.send('X', 'e:0');
    expect(writes).toEqual([Buffer.concat([encode('A'), encode('E', 'warn\n')]), encode('X', 'e:0')]);
    writes.length = 0;
    new Channel(conn).send('F', 'why');
    expect(writes).toEqual([encode('F', 'why')]);
  });

  test('a taken call that sends nothing for 0.1 s (a lock to wait for, a module to build) says A alone then, once: its client waits only so long for it', async () => {
    const writes: Buffer[] = [];
    const conn = { write: (b: Buffer) => { writes.push(b); }, end: () => {}, destroy: () => {} };
    const taken = new Channel(conn);
    taken.take();
    await new Promise((r) => setTimeout(r, 50));
    expect(writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect(writes).toEqual([encode('A')]);
    taken.send('R', 'runc\0create\0');
    expect(writes).toEqual([encode('A'), encode('R', 'runc\0create\0')]);
    await new Promise((r) => setTimeout(r, 150));
    expect(writes).toHaveLength(2);
  });

  test('a channel notes when its client is sent an R (from then on its runc may have changed something: a client gone is HolderGone, its lock file stays)', async () => {
    const conn = { write: () => {}, end: () => {}, destroy: () => {} };
    const ch = new Channel(conn);
    expect(ch.ran).toBe(false);
    const running = ch.run(['runc', 'create', 'x']);
    expect(ch.ran).toBe(true);
    ch.lost();
    expect(await running.then(() => undefined, (x: Error) => x)).toBeInstanceOf(HolderGone);
  });

  test('a call handed over (Y): the client becomes runc; it ends with the connection (runc holding it), or with its process though the connection stays open (a child of runc keeping it), or says its exec failed (S x:), and then the call goes on', async () => {
    const writes: Buffer[] = [];
    const conn = { write: (b: Buffer) => { writes.push(b); }, end: () => {}, destroy: () => {} };
    // the connection's end
    const a = new Channel(conn);
    const ending = a.handOver(['runc', 'create', 'x'], process.pid);
    expect(writes).toEqual([encode('Y', 'runc\0create\0x\0')]);
    expect(a.ran).toBe(true);
    a.send('X', 'e:0'); // nothing more on a connection runc holds
    expect(writes).toHaveLength(1);
    a.lost();
    expect(await ending).toBeUndefined();
    // the process's end, the connection still open
    const child = spawn('sleep', ['0.05']);
    await new Promise((r) => child.once('spawn', r));
    const b = new Channel(conn);
    const t0 = Date.now();
    expect(await b.handOver(['runc'], child.pid as number)).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(2000);
    // an exec that failed: why, and the channel sends again (the call's end)
    writes.length = 0;
    const c = new Channel(conn);
    const failing = c.handOver(['/no/runc'], process.pid);
    c.ended(Buffer.from('x:No such file or directory'));
    expect(await failing).toBe('No such file or directory');
    c.send('X', 'e:1');
    expect(writes.at(-1)).toEqual(encode('X', 'e:1'));
    // a client gone before: nothing sent, refused
    const d = new Channel(conn);
    d.lost();
    await expect(d.handOver(['runc'], process.pid)).rejects.toThrow(/went away before it ran runc/);
  });

  test('a message longer than the limit ends the stream (no unbounded buffer)', () => {
    const head = Buffer.alloc(5);
    head.write('Q', 0, 'latin1');
    head.writeUInt32LE(64 << 20, 1);
    expect(() => new Decoder().push(head)).toThrow(/message of/);
  });

  test('a request: argv and environment as they were, = and odd bytes included, first of a name wins', () => {
    const r = parseRequest(q('/e', '/w', ['--root', '/r', 'create', 'a=b', '$(x)\n'], ['A=1=2', 'A=3', 'B=', 'junk']));
    expect(r).toEqual({ engine: '/e', cwd: '/w', argv: ['--root', '/r', 'create', 'a=b', '$(x)\n'], env: { A: '1=2', B: '' } });
  });

  test('any name is a variable\'s name: __proto__, constructor, hasOwnProperty', () => {
    const r = parseRequest(q('/e', '/w', [], ['__proto__=p', 'constructor=c', 'hasOwnProperty=h', 'constructor=d']));
    expect(Object.entries(r.env).sort()).toEqual([['__proto__', 'p'], ['constructor', 'c'], ['hasOwnProperty', 'h']]);
    expect(r.env.toString).toBeUndefined();
    expect(callerEnv(parseRequest(q('/e', '/w', [], ['VKERNEL_RUNC=/x', 'VKERNEL_RUNC=/y'])), { engine: '/e' }).runc).toBe('/x');
  });

  test('the server keeps only the variables the engine reads: the same RuntimeEnv as from the whole environment', () => {
    const vars = [...READ_VARIABLES].flatMap((k, i) => [`${k}=${i + 1}`, `${k}=second`]);
    const noise = Array.from({ length: 300 }, (_, i) => `npm_config_x${i}=${i}`);
    const payload = q('/e', '/w', ['create', 'VKERNEL_RUNC=/argv'], [...noise.slice(0, 150), ...vars, ...noise.slice(150)]);
    const kept = parseRequest(payload, READ_VARIABLES);
    expect(Object.keys(kept.env).sort()).toEqual([...READ_VARIABLES].sort());
    expect(kept.argv).toEqual(['create', 'VKERNEL_RUNC=/argv']);
    expect(callerEnv(kept, { engine: '/e' })).toEqual(callerEnv(parseRequest(payload), { engine: '/e' }));
    expect(callerEnv(kept, { engine: '/e' }).runc).toBe(String([...READ_VARIABLES].indexOf('VKERNEL_RUNC') + 1));
  });

  test('the client sends every variable the engine reads (client/vkernel-client.c engine_reads: VKERNEL_* and its list)', () => {
    const c = readFileSync(new URL('../../client/vkernel-client.c', import.meta.url), 'utf8');
    const body = /static int engine_reads\(const char \*kv\)\n\{([\s\S]*?)\n\}/.exec(c)?.[1] ?? '';
    const listed = [...(/names\[\] = \{([^}]*)\}/.exec(body)?.[1] ?? '').matchAll(/"([A-Z_]+)="/g)].map((m) => m[1]);
    expect(body).toContain('strncmp(kv, "VKERNEL_", 8)');
    expect(listed.sort()).toEqual(['LISTEN_FDS', 'LISTEN_PID', 'PATH']);
    expect([...READ_VARIABLES].filter((v) => !v.startsWith('VKERNEL_') && !listed.includes(v))).toEqual([]);
  });

  test('a request of another protocol, a count past the fields, or no final NUL is refused', () => {
    expect(() => parseRequest(Buffer.from('vkernel-serve-0\0/e\0/w\x000\0'))).toThrow(/protocol/);
    // (the first protocol's request, which said who its sender was: the caller's context and pid)
    expect(() => parseRequest(Buffer.from('vkernel-serve-1\0/e\0/w\0umask=022\x0042\x000\0'))).toThrow(/protocol "vkernel-serve-1"/);
    expect(() => parseRequest(q('/e', '/w', [], []).subarray(0, -1))).toThrow(/NUL/);
    expect(() => parseRequest(Buffer.from(`${PROTOCOL}\0/e\0/w\x005\0a\0`))).toThrow(/count/);
    expect(() => parseRequest(Buffer.from(`${PROTOCOL}\0/e\0/w\0x\0`))).toThrow(/count/);
  });

  test('runc\'s end: an exit code, a signal, an exec failure; anything else is an error', () => {
    expect(parseEnd(Buffer.from('e:0'))).toEqual({ code: 0 });
    expect(parseEnd(Buffer.from('s:15'))).toEqual({ signal: 15 });
    expect(parseEnd(Buffer.from('x:No such file or directory'))).toEqual({ execError: 'No such file or directory' });
    for (const bad of ['', 'e:', 's:0', 'q:1', 'e:1.5']) expect(() => parseEnd(Buffer.from(bad))).toThrow();
  });

  test('a context: umask, namespaces, resource limits, credentials', () => {
    const own = { limits: LIMITS, status: STATUS, lsm: undefined };
    expect(contextOf({ ...own, umask: 0o22, nsLink: (ns) => `${ns}:[7]` })).toBe(`umask=022 mnt:[7] pid:[7] cgroup:[7] ${RLIMITS} ${CREDS} lsm=-`);
    expect(contextOf({ ...own, umask: 0o7, nsLink: (ns) => `${ns}:[1]` })).toBe(`umask=007 mnt:[1] pid:[1] cgroup:[1] ${RLIMITS} ${CREDS} lsm=-`);
  });

  test('a process\'s context read from its /proc directory: ours through /proc/self and /proc/PID alike; a child\'s other umask or bounding set seen', async () => {
    const ours = contextOf(procFacts('/proc/self'));
    expect(contextOf(procFacts(`/proc/${process.pid}`))).toBe(ours);
    expect(ours).toMatch(new RegExp(`^umask=${process.umask().toString(8).padStart(3, '0')} mnt:\\[[0-9]+\\] pid:\\[[0-9]+\\] cgroup:\\[[0-9]+\\] rlimits=[^ ]+ creds=[^ ]+ lsm=`));
    /** the context of `argv` once it runs sleep (what it set before is inherited through exec) */
    const of = async (argv: string[]): Promise<string> => {
      const c = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
      try {
        for (let i = 0; i < 500 && readFileSync(`/proc/${c.pid}/comm`, 'utf8') !== 'sleep\n'; i++) await new Promise((r) => setTimeout(r, 10));
        return contextOf(procFacts(`/proc/${c.pid}`));
      } finally {
        c.kill('SIGKILL');
      }
    };
    const mask = process.umask() === 0o77 ? '022' : '077';
    expect(otherContext(await of(['sh', '-c', `umask ${mask}; exec sleep 30`]), ours)).toBe(`another umask (umask=${mask})`);
    expect(otherContext(await of(['setpriv', '--bounding-set', '-sys_nice', '--', 'sleep', '30']), ours)).toMatch(/^other credentials \(creds=/);
    expect(otherContext(await of(['sleep', '30']), ours)).toBeUndefined();
    expect(() => procFacts('/proc/0')).toThrow();
  });

  test('credentials as the client writes them: uids, gids, capability sets, no_new_privs, seccomp in the kernel\'s order; the LSM label, spaces as _', () => {
    expect(credentialsOf(STATUS, undefined)).toBe(`${CREDS} lsm=-`);
    expect(credentialsOf(STATUS, '')).toBe(`${CREDS} lsm=-`);
    expect(credentialsOf(STATUS, 'docker-default (enforce)\n')).toBe(`${CREDS} lsm=docker-default_(enforce)`);
    // (a kernel before Seccomp_filters: one line fewer)
    expect(credentialsOf(STATUS.replace(/^Seccomp_filters:.*\n/m, ''), 'unconfined\n')).toBe(`${CREDS.replace(/,0$/, '')} lsm=unconfined`);
    const mine = credentialsOf(readFileSync('/proc/self/status', 'utf8'), undefined);
    expect(mine).toMatch(/^creds=([0-9]+\.){3}[0-9]+,([0-9]+\.){3}[0-9]+,([0-9a-f]{16},){5}[01],[0-2](,[0-9]+)? lsm=-$/);
  });

  test('resource limits as the client writes them: soft:hard in RLIMIT_* order, u for unlimited, the open files\' soft limit * (the server\'s own is raised; runc, the client\'s child, has the caller\'s)', () => {
    expect(rlimitsOf(LIMITS)).toBe(RLIMITS);
    // (a value of 20 digits leaves one space before the next column)
    const big = LIMITS.replace('Max locked memory         8388608              8388608              bytes',
      'Max locked memory         18446744073709551614 18446744073709551614 bytes');
    expect(rlimitsOf(big)).toBe(RLIMITS.replace('8388608:8388608', '18446744073709551614:18446744073709551614'));
    const low = LIMITS.replace('Max open files            4096                 4096', 'Max open files            1024                 4096');
    expect(rlimitsOf(low)).toBe(RLIMITS);
    expect(rlimitsOf(low.replace('1024                 4096', '1024                 8192'))).toBe(RLIMITS.replace('*:4096', '*:8192'));
    expect(rlimitsOf(readFileSync('/proc/self/limits', 'utf8')).split(',')).toHaveLength(16);
  });

  test('a context that differs is named by its first field that does', () => {
    const ours = `umask=022 mnt:[1] pid:[2] cgroup:[3] ${RLIMITS}`;
    expect(otherContext(ours, ours)).toBeUndefined();
    expect(otherContext(ours.replace('umask=022', 'umask=077'), ours)).toBe('another umask (umask=077)');
    expect(otherContext(ours.replace('pid:[2]', 'pid:[9]'), ours)).toBe('another pid namespace (pid:[9])');
    expect(otherContext(ours.replace(',0:u,', ',0:0,'), ours)).toMatch(/^other resource limits \(rlimits=/);
    expect(otherContext(`${ours} lsm=unconfined`, `${ours} lsm=-`)).toBe('other credentials (lsm=unconfined)');
    expect(otherContext(`${ours} ${CREDS.replace(',0,0,0', ',1,0,0')}`, `${ours} ${CREDS}`)).toMatch(/^other credentials \(creds=/);
    // (a client that writes no limits: an older one)
    expect(otherContext('umask=022 mnt:[1] pid:[2] cgroup:[3]', ours)).toBe(`another context (umask=022 mnt:[1] pid:[2] cgroup:[3])`);
  });
});

describe('the caller, from the kernel (callerOf): the socket\'s peer and its /proc directory, not the client\'s word', () => {
  /** a /proc with one process: pid 123, in state `state`, started at `start` ticks; the uptime `uptime` s */
  const fakeProc = (start: number, uptime: number, state = 'S'): string => {
    const proc = mkdtempSync(join(tmpdir(), 'vk-caller-'));
    mkdirSync(join(proc, '123', 'ns'), { recursive: true });
    writeFileSync(join(proc, '123', 'stat'), `123 (a) b) ${state} ${Array(18).fill('0').join(' ')} ${start} 0 0\n`);
    writeFileSync(join(proc, '123', 'status'), STATUS);
    writeFileSync(join(proc, '123', 'limits'), LIMITS);
    for (const ns of ['mnt', 'pid', 'cgroup']) symlinkSync(`${ns}:[5]`, join(proc, '123', 'ns', ns));
    writeFileSync(join(proc, 'uptime'), `${uptime.toFixed(2)} 99.00\n`);
    return proc;
  };
  const peer = { pid: 123, uid: 0, gid: 0 };

  test('the peer\'s pid and the context its /proc directory gives', () => {
    expect(callerOf(peer, 100, fakeProc(1000, 10.5))).toEqual({ pid: 123, context: `umask=022 mnt:[5] pid:[5] cgroup:[5] ${RLIMITS} ${CREDS} lsm=-` });
  });

  test('the LSM label read only where the server has one (lsm): a host without an LSM has no label to read', () => {
    const proc = fakeProc(1000, 10.5);
    mkdirSync(join(proc, '123', 'attr'));
    writeFileSync(join(proc, '123', 'attr', 'current'), 'docker-default (enforce)\n');
    expect(callerOf(peer, 100, proc)).toMatchObject({ context: expect.stringMatching(/ lsm=docker-default_\(enforce\)$/) });
    expect(callerOf(peer, 100, proc, false)).toMatchObject({ context: expect.stringMatching(/ lsm=-$/) });
    expect(procFacts(join(proc, '123'), false).lsm).toBeUndefined();
    expect(procFacts(join(proc, '123')).lsm).toBe('docker-default (enforce)\n');
  });

  test('no peer (node, which has no FFI), a peer gone or a zombie: no caller', () => {
    expect(callerOf(undefined, 0, fakeProc(1000, 10.5))).toMatch(/not known/);
    expect(callerOf({ ...peer, pid: 124 }, 100, fakeProc(1000, 10.5))).toBe('the caller (pid 124) is gone');
    expect(callerOf(peer, 100, fakeProc(1000, 10.5, 'Z'))).toBe('the caller (pid 123) is gone');
  });

  test('a process started after the connection was accepted is not the one that connected (its pid reused)', () => {
    // accepted at 10.40 s (1040 ticks): one tick of slack, then refused
    expect(callerOf(peer, 100, fakeProc(1041, 10.5))).toMatchObject({ pid: 123 });
    expect(callerOf(peer, 100, fakeProc(1042, 10.5))).toMatch(/not the process that connected/);
    expect(callerOf(peer, 0, fakeProc(1052, 10.5))).toMatch(/not the process that connected/);
    expect([startedAfter(1040, 10.5, 100), startedAfter(1041, 10.5, 100), startedAfter(1042, 10.5, 100)]).toEqual([false, false, true]);
    expect(startedAfter(5, 1e6, 0)).toBe(false);
  });
});

describe('what the server leaves to the engine (refusal)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vk-serve-'));
  const engine = join(dir, 'vkernel-engine');
  writeFileSync(engine, 'one build');
  const env = { PATH: '/bin', VKERNEL_RUNC: '/r' };
  const own = readEnv(env, engine, undefined);
  const self = (): Self => ({ engine, identity: identity(engine), context: 'ctx' });
  const req = (argv: string[], o: Partial<Request> = {}): Request => ({ engine, cwd: '/', context: 'ctx', pid: 42, argv, env, ...o });
  const why = (r: Request, s = self()) => refusal(r, parseArgv(r.argv), own, s);
  const create = ['--root', '/run/r', 'create', '--bundle', '/b', 'c1'];

  test('a create with absolute paths, in the same environment and context: served', () => {
    expect(why(req(create))).toBeUndefined();
    expect(why(req(['--root=/run/r', '--log', '/l.log', 'create', '-b=/b', '--pid-file', 'rel.pid', 'c1']))).toBeUndefined();
  });

  test('every difference that would change what the engine does goes to the engine', () => {
    expect(why(req(create, { env: { ...env, VKERNEL_RUNC: '/other' } }))).toBe('another environment');
    expect(why(req(create, { env: { ...env, PATH: '/usr/bin' } }))).toBe('another environment');
    expect(why(req(create, { env: { ...env, LISTEN_FDS: '1', LISTEN_PID: '9' } }))).toMatch(/LISTEN_FDS/);
    expect(why(req(create, { context: 'other' }))).toMatch(/another context/);
    expect(why(req(create, { engine: join(dir, 'nope') }))).toMatch(/another engine/);
    expect(why(req(['--root', 'rel', 'create', '--bundle', '/b', 'c1']))).toMatch(/relative path \(rel\)/);
    expect(why(req(['--log', 'x.log', 'create', '--bundle', '/b', 'c1']))).toMatch(/relative path/);
    expect(why(req(['--vkernel-config', 'c.yaml', 'create', '--bundle', '/b', 'c1']))).toMatch(/relative path/);
    expect(why(req(['create', '--bundle', 'b', 'c1']))).toMatch(/relative path/);
    expect(why(req(['create', 'c1']))).toMatch(/no --bundle/);
    expect(why(req(['create', '--preserve-fds', '2', '--bundle', '/b', 'c1']))).toBe('--preserve-fds');
    expect(why(req(['create', '--help']))).toBe('not a create, start, delete or OCI hook');
    expect(why(req(['delete', '-h']))).toBe('not a create, start, delete or OCI hook');
    expect(why(req(['state', 'c1']))).toBe('not a create, start, delete or OCI hook');
    expect(why(req(['--version']))).toBe('not a create, start, delete or OCI hook');
    expect(why(req(['--root', 'rel', 'start', 'c1']))).toMatch(/relative path \(rel\)/);
    expect(why(req(['--log', 'x.log', 'delete', '--force', 'c1']))).toMatch(/relative path \(x.log\)/);
  });

  test('start and delete (the launcher sends those with work of ours after runc\'s): served, with no bundle', () => {
    expect(why(req(['--root', '/run/r', 'start', 'c1']))).toBeUndefined();
    expect(why(req(['--root', '/run/r', 'delete', '--force', 'c1']))).toBeUndefined();
    expect(why(req(['delete', 'c1']))).toBeUndefined();
  });

  test('the OCI hook as hooks.d runs it (`oci-hook STAGE`, its stage alone): served; another stage, more arguments or help: the engine\'s', () => {
    for (const stage of ['createRuntime', 'prestart', 'poststop']) expect(why(req(['oci-hook', stage]))).toBeUndefined();
    expect(why(req(['--root', '/run/h', 'oci-hook', 'poststop']))).toBeUndefined();
    for (const argv of [['oci-hook', 'poststart'], ['oci-hook'], ['oci-hook', 'createRuntime', 'x'], ['oci-hook', '--help'], ['oci-hook', 'createRuntime', '-h']]) {
      expect(why(req(argv))).toBe('not a create, start, delete or OCI hook');
    }
    expect(why(req(['--root', 'rel', 'oci-hook', 'poststop']))).toMatch(/relative path \(rel\)/);
  });

  test('the launcher the caller ran (VKERNEL_RUNTIME_SELF) is no difference: served, and its helpers are started by that launcher', () => {
    const viaC = { ...env, VKERNEL_RUNTIME_SELF: '/opt/vkr/dist/vkernel-runtime' };
    const viaSh = { ...env, VKERNEL_RUNTIME_SELF: '/opt/vkr/bin/vkernel-runtime' };
    const ownSh = readEnv(viaSh, engine, undefined);
    expect(refusal(req(create, { env: viaC }), parseArgv(create), ownSh, self())).toBeUndefined();
    expect(asCaller(ownSh, callerEnv(req(create, { env: viaC }), { engine })).self).toEqual(['/opt/vkr/dist/vkernel-runtime']);
    expect(asCaller(ownSh, callerEnv(req(create, { env: viaC }), { engine })).selfPath).toBe('/opt/vkr/dist/vkernel-runtime');
    // none: the engine's own path, as the engine exec'd would take
    expect(asCaller(ownSh, callerEnv(req(create), { engine })).self).toEqual([engine]);
    const sorted = (e: RuntimeEnv) => ({ ...e, own: [...e.own].sort() });
    expect(sorted(asCaller(ownSh, callerEnv(req(create, { env: viaC }), { engine })))).toEqual(sorted(readEnv(viaC, engine, undefined)));
  });

  test('a test aid in the caller\'s environment: the engine (it is per process); the profiler only as the server\'s own', () => {
    const withFault = { ...env, VKERNEL_RUNTIME_TEST_FAULT: 'x' };
    expect(refusal(req(create, { env: withFault }), parseArgv(create), readEnv(withFault, engine, undefined), self())).toMatch(/test aid/);
    const withProfile = { ...env, VKERNEL_PROFILE: join(dir, 'p.jsonl') };
    expect(why(req(create, { env: withProfile }))).toBe('another environment');
    expect(refusal(req(create, { env: withProfile }), parseArgv(create), readEnv(withProfile, engine, undefined), self())).toBeUndefined();
  });

  test('an engine rebuilt at the same path: refused as rebuilt (the server then ends)', () => {
    const before = self();
    writeFileSync(engine, 'another build, longer');
    expect(why(req(create), before)).toBe('the engine was rebuilt since this server started');
    expect(why(req(create))).toBeUndefined();
  });
});
