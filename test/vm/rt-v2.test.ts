// The rt v2 backend (issue 16 §1) in the VM, on Debian's own stock kernel (linux-image-amd64 of
// bookworm: cgroup v2, no RT group scheduling), fetched and cached by test/vm/stock-kernel.sh: every
// check must PASS there. The contrast is our own unpatched kernel (same harness, built by
// kernel/build.sh --unpatched, which has CONFIG_RT_GROUP_SCHED=y): there the runtime must not choose
// rt v2, and every check must FAIL with the runtime's reason.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { undeclared, type Check } from './lib/feature.js';
import { buildKernel, BUILD_TIMEOUT_MS, guestTimeoutS, MAX_TIMEOUT_SCALE, repoRoot, runProblems, runVm, type VmRun } from './lib/vm.js';

const SCRIPTS = ['79-rt-none.sh', '80-rt-v2.sh', '81-rt-v2-systemd.sh'];
const CHECKS: Check[] = [
  { name: 'rtnone.refused_clean', title: 'cgroup v1 on a kernel without RT group scheduling (neither rt v1 nor rt v2): fifo refused at create with the reason, nothing left' },
  { name: 'rtv2.backend_chosen', title: 'features says rt v2 and a fifo container\'s state says backend rt-v2' },
  { name: 'rtv2.tasks_fifo', title: 'the container\'s init is SCHED_FIFO 1, the supervisor SCHED_FIFO 99 in its own group beside the container\'s, with its sentinel' },
  { name: 'rtv2.exec_follows', title: 'a task started later by exec becomes SCHED_FIFO within 150 ms + 10 of the supervisor\'s sweeps (the lag and the sweep are printed)' },
  { name: 'rtv2.budget_held', title: 'a busy fifo container (2 CPU-bound tasks, 2 vCPUs) against a host load: its tasks\' FIFO time, by their own count, at most 31 % of 2 CPUs (budget 25 %), at least 20 % (less what its self-limit made it wait and one window: fifofloor) unless its supervisor demoted early (self-limit)' },
  { name: 'rtv2.host_responsive', title: 'a host task sleeping 1 ms at a time while the busy fifo container runs: p99 lateness below a third, max below half of the max without the supervisor (~1 s), same boot (a span in which the supervisor\'s samples cost over 40 ms of CPU, the guest starved by its host, is measured again once: both printed)' },
  { name: 'rtv2.delete_clean', title: 'delete --force leaves no state, cgroup, supervisor (group, process, log) or ledger holder' },
  { name: 'rtv2.supervisor_killed_recovers', title: 'the supervisor SIGKILLed under a busy fifo container while its tasks are FIFO: within 1 s they are SCHED_OTHER or supervised again (its sentinel), then, once the new supervisor runs, held to the budget again (its tasks\' FIFO time at most 31 %)' },
  { name: 'rtv2.supervisor_killed_clean', title: 'after SIGKILL of the supervisor and its sentinel together, delete --force still leaves nothing' },
  { name: 'rtv2.refused_at_create', title: 'what rt v2 cannot do is refused at create with its reason, leaving nothing: rt.priority 99 in the config, sched.policy=adaptive' },
  { name: 'rtv2.killed_mid_create_clean', title: 'the runtime SIGKILLed mid-create (before and after the supervisor starts): delete --force leaves nothing' },
  { name: 'rtv2.fifo_arrival_order', title: 'arrival order (the check of real_policy.fifo_arrival_order and scx.fifo_arrival_order): a fifo container\'s 4 CPU-bound tasks on one CPU: under an operator budget of 60 % (more than one CPU can use) in arrival order, none interleaved, unless the supervisor demoted the group; under the default 25 % demoted (spans measured)' },
  { name: 'rtv2.hackbench', title: 'measured (issue 16: the three ways to a FIFO group): `vkt bench hackbench 10` in a fifo container (SCHED_FIFO, held to its budget) and a cfs container, 3 rounds each; every run gives a figure' },
  { name: 'rtv2sd.scope_fifo', title: 'systemd cgroup driver (a real systemd as PID 1 of a sandbox, runc --systemd-cgroup): a fifo container is the active transient scope system.slice/vk-<name>.scope, its init SCHED_FIFO 1, the supervisor SCHED_FIFO 99 beside the scope, state backend rt-v2' },
  { name: 'rtv2sd.budget_held', title: 'systemd cgroup driver: a busy fifo container in its scope against a host load: its tasks\' FIFO time at most 31 % of 2 CPUs (budget 25 %), at least 20 % (less its self-limit\'s waits and one window: fifofloor) unless its supervisor demoted early' },
  { name: 'rtv2sd.delete_clean', title: 'systemd cgroup driver: delete --force leaves no unit, scope group, supervisor group or process, state or ledger holder' },
];

// the bun-built engine needs SSE4.2/POPCNT, which TCG's default CPU model lacks
process.env.VKVM_CPU = 'max';

/**
 * The initramfs payload: the runtime's (lib/runtime-payload.mjs), plus rtload (in the host's /bin
 * and the container image), two fifo bundles, and the kernel's config at /boot/config-<release>
 * as a distribution installs it (the runtime reads it on cgroup v2 to tell RT group scheduling).
 */
function payload(kdir: string): string {
  const out = mkdtempSync(join(tmpdir(), 'vk-rtv2-payload-'));
  const list = execFileSync('node', ['test/vm/lib/runtime-payload.mjs', out], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const rtload = join(out, 'rtload');
  execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', rtload, join(repoRoot, 'test/vm/guest/rtload.c')]);
  const base = JSON.parse(readFileSync(join(out, 'spec/config.json'), 'utf8'));
  const lines = [
    'dir /boot 0755 0 0',
    `file /boot/config-${readFileSync(join(kdir, 'kernelrelease'), 'utf8').trim()} ${join(kdir, 'config')} 0644 0 0`,
    `file /bin/rtload ${rtload} 0755 0 0`,
    `file /opt/rootfs/bin/rtload ${rtload} 0755 0 0`,
  ];
  for (const [name, args, policy] of [['rtidle', ['rtload', 'idle'], 'fifo'], ['rtburn', ['rtload', 'fifoburn', '2'], 'fifo'], ['rtadapt', ['rtload', 'idle'], 'adaptive'], ['sdidle', ['rtload', 'idle'], 'fifo'], ['sdburn', ['rtload', 'fifoburn', '2'], 'fifo'],
    // rtorder: 1 s idle first (what runc's init used at create, costly under TCG, is owed by the
    // first windows), then the init's policy, then vkt fifo
    ['rtorder', ['sh', '-c', 'sleep 1; read -r l </proc/$$/stat; set -- $l; echo policy=${41}; exec vkt fifo 4 150 -'], 'fifo']] as const) {
    const spec = structuredClone(base);
    // 81-rt-v2-systemd.sh: runc's --systemd-cgroup names the group slice:prefix:name
    if (name.startsWith('sd')) spec.linux.cgroupsPath = `system.slice:vk:${name}`;
    spec.root = { path: '/opt/rootfs', readonly: true };
    spec.process.terminal = false;
    spec.process.args = args;
    spec.annotations = { 'io.vkernel.sched.policy': policy };
    const f = join(out, `bundle-${name}.json`);
    writeFileSync(f, JSON.stringify(spec));
    lines.push(`dir /opt/bundles/${name} 0755 0 0`, `file /opt/bundles/${name}/config.json ${f} 0644 0 0`);
  }
  lines.push(...systemdPayload());
  const all = join(out, 'rtv2.list');
  writeFileSync(all, `${readFileSync(list, 'utf8')}${lines.join('\n')}\n`);
  return all;
}

/**
 * 81-rt-v2-systemd.sh's: Debian 12's systemd and systemctl, util-linux's unshare, mount and umount
 * (busybox's lack what the sandbox script uses), with their shared libraries at the host's paths (the
 * runtime payload brings glibc's), and the host tier's sandbox script
 */
function systemdPayload(): string[] {
  const bins = ['/usr/lib/systemd/systemd', '/usr/bin/systemctl', '/usr/bin/unshare', '/usr/bin/mount', '/usr/bin/umount'];
  const files = new Map<string, string>([['/usr/bin/systemd', '/usr/lib/systemd/systemd']]);
  for (const b of bins) {
    files.set(b, b);
    for (const m of execFileSync('ldd', [b], { encoding: 'utf8' }).matchAll(/(\/\S+\.so[.\d]*)/g)) files.set(m[1], realpathSync(m[1]));
  }
  files.set('/opt/vkr/systemd-sandbox.sh', join(repoRoot, 'test/helpers/systemd-sandbox.sh'));
  const dirs = new Set<string>();
  const lines: string[] = [];
  for (const [dst, src] of files) {
    for (let d = dirname(dst); d !== '/' && !dirs.has(d); d = dirname(d)) dirs.add(d);
    lines.push(`file ${dst} ${src} 0755 0 0`);
  }
  // parents first; gen_init_cpio accepts a dir line for one the runtime payload also has
  return [...[...dirs].sort((a, b) => a.split('/').length - b.split('/').length).map((d) => `dir ${d} 0755 0 0`), ...lines];
}

async function boot(label: string, kdir: string): Promise<VmRun> {
  process.env.VKVM_EXTRA_LIST = payload(kdir);
  const run = await runVm(kdir, SCRIPTS, guestTimeoutS(700));
  const summary = [...run.results].map(([n, r]) => `\n  ${n} ${r.status} ${r.detail}`).join('');
  // eslint-disable-next-line no-console
  console.log(`[vm ${label}] ${SCRIPTS.join(',')}: ${run.boot ? `release ${run.boot.release} cpus=${run.boot.cpus}, ` : ''}boot ${run.bootSeconds}s (guest), done ${run.doneSeconds}s, wall ${run.wallMs} ms, exit ${run.exitCode}; ${summary}`);
  return run;
}

const tail = (run: VmRun) => run.log.split('\n').slice(-40).join('\n');

describe('rt v2 backend on Debian\'s stock kernel (cgroup v2, no RT group scheduling)', () => {
  const runs: Record<'stock' | 'rtgroup', VmRun> = {} as never;

  beforeAll(async () => {
    const stock = execFileSync('bash', [join(repoRoot, 'test/vm/stock-kernel.sh')], { cwd: repoRoot, encoding: 'utf8', timeout: 10 * 60 * 1000 }).trim().split('\n').pop()!;
    const rtgroup = await buildKernel('unpatched');
    runs.stock = await boot('debian-stock', stock);
    runs.rtgroup = await boot('unpatched (RT group sched)', rtgroup);
  }, BUILD_TIMEOUT_MS + 10 * 60 * 1000 + MAX_TIMEOUT_SCALE * 700 * 1000);

  for (const k of ['stock', 'rtgroup'] as const) {
    it(`${k === 'stock' ? 'Debian\'s stock kernel' : 'the kernel with RT group scheduling'}: boots (abi=none), the script completes, every check is listed`, () => {
      const problems = [...runProblems(runs[k], 'unpatched', SCRIPTS), ...undeclared(runs[k], CHECKS).map((l) => `not listed in the suite: ${l}`)];
      if (k === 'stock' && runs[k].boot && !/-amd64$/.test(runs[k].boot!.release)) problems.push(`booted ${runs[k].boot!.release}, not Debian's -amd64 kernel`);
      if (problems.length) throw new Error(`${problems.join('\n')}\n--- console tail ---\n${tail(runs[k])}`);
    });
  }

  for (const c of CHECKS) {
    it(`${c.title} [${c.name}]`, () => {
      const problems: string[] = [];
      const s = runs.stock.results.get(c.name);
      if (!s) problems.push(`absent on Debian's stock kernel\n${tail(runs.stock)}`);
      else if (s.status !== 'PASS') problems.push(`Debian's stock kernel: ${s.status} ${s.detail}`);
      const r = runs.rtgroup.results.get(c.name);
      if (!r) problems.push(`absent on the kernel with RT group scheduling (every check must FAIL with a reason there)\n${tail(runs.rtgroup)}`);
      else if (r.status === 'PASS') problems.push(`passes on the kernel with RT group scheduling, where rt v2 must not be chosen: ${r.detail}`);
      else if (!r.detail) problems.push('FAIL without a reason on the kernel with RT group scheduling');
      if (problems.length) throw new Error(problems.join('\n'));
    });
  }
});
