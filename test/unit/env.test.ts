import { readEnv, selfCommand } from '../../src/env.js';

describe('RuntimeEnv: the environment read once', () => {
  test('defaults when nothing is set', () => {
    const e = readEnv({}, '/usr/local/bin/vkernel-engine', undefined);
    expect(e).toMatchObject({
      cgroupRoot: '/sys/fs/cgroup', lockDir: '/run/vkernel-runtime/locks', runBundles: '/run/vkernel-runtime/bundles',
      rootsDir: '/run/vkernel-runtime/roots', listenFds: 0,
      moduleCache: '/var/cache/vkernel-runtime/modules', make: 'make', rmmodTimeoutMs: 10_000,
      engineSocket: '/run/vkernel-runtime/engine.sock', engineIdleMs: 600_000,
      self: ['/usr/local/bin/vkernel-engine'], path: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    });
    for (const k of ['kernelBuild', 'moduleSource', 'home', 'selfPath', 'futexBuckets', 'runc', 'configPath', 'testFault', 'listenPid'] as const) expect(e[k]).toBeUndefined();
    expect(Object.isFrozen(e)).toBe(true);
  });

  test('every variable it honours, and empty ones count as unset', () => {
    const e = readEnv({
      VKERNEL_CGROUP_ROOT: '/cg', VKERNEL_LOCK_DIR: '/l', VKERNEL_RUN_BUNDLES: '/rb', VKERNEL_CACHE: '/c',
      VKERNEL_KERNEL_BUILD: '/k', VKERNEL_MODULE_SOURCE: '/src', VKERNEL_RUNTIME_HOME: '/h', VKERNEL_RUNTIME_SELF: '/bin/vk',
      VKERNEL_MAKE: '/m', VKERNEL_FUTEX_BUCKETS: '4096', VKERNEL_RMMOD_TIMEOUT_MS: '300', VKERNEL_RUNC: '/r',
      VKERNEL_RUNTIME_CONFIG: '/cfg.yaml', VKERNEL_RUNTIME_TEST_FAULT: 'after-create', PATH: '/bin', VKERNEL_MAKE_X: 'ignored',
      VKERNEL_ROOTS_DIR: '/roots', LISTEN_FDS: '2', LISTEN_PID: '77', VKERNEL_SCX_LOADER: '/scx',
      VKERNEL_ENGINE_SOCKET: '/s.sock', VKERNEL_ENGINE_IDLE_MS: '5000',
    }, '/usr/bin/node', '/x/main.js');
    expect(e).toEqual({
      cgroupRoot: '/cg', lockDir: '/l', runBundles: '/rb', rootsDir: '/roots', listenFds: 2, listenPid: '77', moduleCache: '/c/modules', kernelBuild: '/k', moduleSource: '/src',
      home: '/h', selfPath: '/bin/vk', self: ['/bin/vk'], make: '/m', futexBuckets: 4096, rmmodTimeoutMs: 300, runc: '/r',
      configPath: '/cfg.yaml', testFault: 'after-create', path: '/bin', scxLoader: '/scx', engineSocket: '/s.sock', engineIdleMs: 5000,
      // passed on to the hooks of `run` (runc gives a hook only its spec's env): ours, not LISTEN_*, PATH or unknown ones
      own: [
        'VKERNEL_CGROUP_ROOT=/cg', 'VKERNEL_LOCK_DIR=/l', 'VKERNEL_RUN_BUNDLES=/rb', 'VKERNEL_ROOTS_DIR=/roots', 'VKERNEL_CACHE=/c',
        'VKERNEL_KERNEL_BUILD=/k', 'VKERNEL_MODULE_SOURCE=/src', 'VKERNEL_RUNTIME_HOME=/h', 'VKERNEL_RUNTIME_SELF=/bin/vk', 'VKERNEL_MAKE=/m',
        'VKERNEL_FUTEX_BUCKETS=4096', 'VKERNEL_RMMOD_TIMEOUT_MS=300', 'VKERNEL_RUNC=/r', 'VKERNEL_RUNTIME_CONFIG=/cfg.yaml',
        'VKERNEL_RUNTIME_TEST_FAULT=after-create', 'VKERNEL_SCX_LOADER=/scx', 'VKERNEL_ENGINE_SOCKET=/s.sock', 'VKERNEL_ENGINE_IDLE_MS=5000',
      ],
    });
    expect(readEnv({ VKERNEL_CGROUP_ROOT: '', VKERNEL_RUNC: '' }, '/e', undefined)).toMatchObject({ cgroupRoot: '/sys/fs/cgroup', runc: undefined, own: [] });
  });

  test('numbers that are not positive integers are ignored (the defaults apply)', () => {
    for (const bad of ['0', '-4', '1.5', 'lots', ' ']) {
      const e = readEnv({ VKERNEL_FUTEX_BUCKETS: bad, VKERNEL_RMMOD_TIMEOUT_MS: bad }, '/e', undefined);
      expect([e.futexBuckets, e.rmmodTimeoutMs]).toEqual([undefined, 10_000]);
    }
  });

  test('how to start us again: the launcher when known, else the bun binary, else node and its script', () => {
    expect(selfCommand('/usr/local/bin/vkernel-runtime', '/usr/bin/node', '/x/main.js')).toEqual(['/usr/local/bin/vkernel-runtime']);
    expect(selfCommand(undefined, '/opt/vk/dist/vkernel-engine', '/$bunfs/root/vkernel-engine')).toEqual(['/opt/vk/dist/vkernel-engine']);
    expect(selfCommand(undefined, '/usr/bin/node', '/x/dist/src/cli/main.js')).toEqual(['/usr/bin/node', '/x/dist/src/cli/main.js']);
    expect(selfCommand(undefined, '/usr/bin/nodejs', '/x/main.js')).toEqual(['/usr/bin/nodejs', '/x/main.js']);
  });
});
