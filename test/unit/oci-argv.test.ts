import { containerId, flagSet, flagValue, helpRequested, parseArgv, parseCommandArgs, replaceFlag, UsageError } from '../../src/oci/argv.js';

describe('global flags (runc forms)', () => {
  const cases: [string[], Partial<ReturnType<typeof parseArgv>['globals']>][] = [
    [['--debug', 'state', 'x'], { debug: true }],
    [['--debug=false', 'state', 'x'], { debug: false }],
    [['-debug', 'state', 'x'], { debug: true }],
    [['--log', '/l', 'state', 'x'], { log: '/l' }],
    [['--log=/l', 'state', 'x'], { log: '/l' }],
    [['-log', '/l', 'state', 'x'], { log: '/l' }],
    [['--log-format', 'json', 'state', 'x'], { logFormat: 'json' }],
    [['--log-format=json', 'state', 'x'], { logFormat: 'json' }],
    [['--root', '/r', 'state', 'x'], { root: '/r' }],
    [['--root=/r', 'state', 'x'], { root: '/r' }],
    [['--criu', '/c', 'state', 'x'], { criu: '/c' }],
    [['--criu=/c', 'state', 'x'], { criu: '/c' }],
    [['--systemd-cgroup', 'state', 'x'], { systemdCgroup: true }],
    [['--systemd-cgroup=true', 'state', 'x'], { systemdCgroup: true }],
    [['--rootless', 'true', 'state', 'x'], { rootless: 'true' }],
    [['--rootless=auto', 'state', 'x'], { rootless: 'auto' }],
  ];
  test.each(cases)('%j', (argv, expected) => {
    const inv = parseArgv(argv);
    expect(inv.globals).toMatchObject(expected);
    expect(inv.command).toBe('state');
    expect(inv.args).toEqual(['x']);
    // runc gets its own globals back unchanged
    expect(inv.runcGlobals).toEqual(argv.slice(0, argv.indexOf('state')));
  });

  test('our flags in both forms are parsed and removed from what runc sees', () => {
    const inv = parseArgv(['--root', '/r', '--vkernel-set', 'sched.policy=fifo', '--vkernel-set=strict=false',
      '--vkernel-config', '/c.yaml', '--runc=/usr/sbin/runc', '--log-format=json', 'create', '--bundle', '/b', 'id1']);
    expect(inv.sets).toEqual(['sched.policy=fifo', 'strict=false']);
    expect(inv.vkernelConfig).toBe('/c.yaml');
    expect(inv.runc).toBe('/usr/sbin/runc');
    expect(inv.runcGlobals).toEqual(['--root', '/r', '--log-format=json']);
    expect(inv.command).toBe('create');
    expect(inv.args).toEqual(['--bundle', '/b', 'id1']);
    const inv2 = parseArgv(['--vkernel-config=/d.yaml', '--runc', '/x', 'state', 'a']);
    expect(inv2.vkernelConfig).toBe('/d.yaml');
    expect(inv2.runc).toBe('/x');
    expect(inv2.runcGlobals).toEqual([]);
  });

  test('a value flag without its value is a usage error', () => {
    expect(() => parseArgv(['--root'])).toThrow(UsageError);
    expect(() => parseArgv(['--log-format', 'xml', 'state'])).toThrow('invalid log format "xml": must be text or json');
    expect(() => parseArgv(['--debug=maybe', 'state'])).toThrow('invalid boolean value "maybe" for flag --debug');
  });

  test('boolean globals take Go\'s ParseBool words', () => {
    expect(parseArgv(['--debug=1', 'state']).globals.debug).toBe(true);
    expect(parseArgv(['--debug=F', 'state']).globals.debug).toBe(false);
    expect(parseArgv(['--version=false', 'state']).version).toBe(false);
    expect(parseArgv(['--help=t']).help).toBe(true);
  });

  test('--version and no subcommand', () => {
    expect(parseArgv(['--version'])).toMatchObject({ version: true });
    expect(parseArgv(['--version']).command).toBeUndefined();
    expect(parseArgv(['-v'])).toMatchObject({ version: true });
    expect(parseArgv([]).command).toBeUndefined();
  });

  test('the subcommand is the first non-flag; later words are its arguments', () => {
    const inv = parseArgv(['--debug', 'exec', '--tty', 'id', 'sh', '-c', 'echo --root']);
    expect(inv.command).toBe('exec');
    expect(inv.args).toEqual(['--tty', 'id', 'sh', '-c', 'echo --root']);
    expect(inv.globals.root).toBeUndefined();
  });
});

describe('subcommand arguments', () => {
  test('flags before and after the id (urfave reorders)', () => {
    for (const args of [['--bundle', '/b', 'c1'], ['c1', '--bundle', '/b'], ['c1', '--bundle=/b'], ['-b', '/b', 'c1'], ['c1', '-b=/b']]) {
      const c = parseCommandArgs('create', args);
      expect(containerId('create', c)).toBe('c1');
      expect(flagValue(c, 'bundle', 'b')).toBe('/b');
    }
    const d = parseCommandArgs('delete', ['c1', '--force']);
    expect(containerId('delete', d)).toBe('c1');
    expect(flagSet(d, 'force', 'f')).toBe(true);
    expect(flagSet(parseCommandArgs('delete', ['-f', 'c1']), 'force', 'f')).toBe(true);
    expect(flagSet(parseCommandArgs('delete', ['c1']), 'force', 'f')).toBe(false);
  });

  test('every value flag of create consumes its value', () => {
    const c = parseCommandArgs('create', ['--console-socket', '/s', '--pid-file', '/p', '--preserve-fds', '2', '--no-pivot', 'c9']);
    expect(c.positionals).toEqual(['c9']);
    expect(flagValue(c, 'preserve-fds')).toBe('2');
    expect(flagValue(c, 'console-socket')).toBe('/s');
    expect(flagSet(c, 'no-pivot')).toBe(true);
  });

  test('runc 1.2 value flags consume their value (create, run, exec)', () => {
    for (const cmd of ['create', 'run']) {
      const c = parseCommandArgs(cmd, ['--pidfd-socket', '/pidfd.sock', '--console-socket=/c', 'c9']);
      expect(c.positionals).toEqual(['c9']);
      expect(flagValue(c, 'pidfd-socket')).toBe('/pidfd.sock');
    }
    const e = parseCommandArgs('exec', ['--pidfd-socket', '/p', '--cgroup', 'cpu:/x', '-g', '10', '--preserve-fds', '2', 'c9', 'sh', '-c', 'echo --preserve-fds 5']);
    expect(flagValue(e, 'preserve-fds')).toBe('2');
    expect(e.positionals).toEqual(['c9', 'sh', '-c', 'echo --preserve-fds 5']);
  });

  test('exec: flags end at the container id (runc does not reorder exec)', () => {
    const e = parseCommandArgs('exec', ['c1', 'ls', '--preserve-fds', '3', '-h']);
    expect(e.flags.size).toBe(0);
    expect(helpRequested('exec', ['c1', 'ls', '-h'])).toBe(false);
    expect(helpRequested('exec', ['-h', 'c1'])).toBe(true);
  });

  test('help: any alias and form, before or after the id, not after -- nor as a value', () => {
    for (const args of [['-h'], ['--help'], ['c1', '-h'], ['--help=true', 'c1'], ['-help=1'], ['--bundle', '/b', '-h', 'c1']]) {
      expect([args, helpRequested('create', args)]).toEqual([args, true]);
    }
    for (const args of [['c1'], ['--', '-h'], ['--help=false', 'c1'], ['--bundle', '-h', 'c1'], ['--pid-file', '--help', 'c1']]) {
      expect([args, helpRequested('create', args)]).toEqual([args, false]);
    }
  });

  test('exactly one container id', () => {
    expect(() => containerId('start', parseCommandArgs('start', []))).toThrow('"start" requires exactly 1 argument (the container id), got 0');
    expect(() => containerId('start', parseCommandArgs('start', ['a', 'b']))).toThrow('got 2');
  });

  test('replaceFlag swaps every form of the bundle flag for one', () => {
    expect(replaceFlag('run', ['-b', '/x', '--pid-file', '/p', 'id', '--bundle=/y', '-d'], ['bundle', 'b'], '/new'))
      .toEqual(['--bundle', '/new', '--pid-file', '/p', 'id', '-d']);
    expect(replaceFlag('run', ['id'], ['bundle', 'b'], '/new')).toEqual(['--bundle', '/new', 'id']);
    // a boolean flag before the id keeps working (urfave pairs a flag with the next word)
    expect(replaceFlag('run', ['--no-pivot', 'id'], ['bundle', 'b'], '/new')).toEqual(['--bundle', '/new', '--no-pivot', 'id']);
  });
});
