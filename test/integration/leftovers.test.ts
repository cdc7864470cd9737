import { existsSync, openSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cgroupCandidates, cgroupDirsOf, cgroupHierarchies, leftovers, makeBundle, requireRoot, runc, stateFile, tempRoot, uid, vk } from '../helpers/fixtures.js';

/**
 * leftovers() is what most "nothing left behind" assertions of the suite rest on: it must see a
 * live container's runc directory, our state and its cgroup in EVERY mounted hierarchy, v1 and v2
 * (including memory, which runc nests under the caller's own cgroup here), at the default place and
 * at a nested linux.cgroupsPath — or those assertions could not fail.
 */
beforeAll(requireRoot);

async function create(cgroupsPath?: string) {
  const bundle = await makeBundle({ args: ['sleep', '30'], annotations: { 'io.vkernel.sched.policy': 'cfs', 'io.vkernel.strict': 'false' }, cgroupsPath });
  const root = tempRoot();
  const id = uid('left');
  const fd = openSync(join(tmpdir(), `${id}.out`), 'w');
  const r = await vk(['--root', root, 'create', '--bundle', bundle, id], { stdin: 'ignore', stdout: fd, stderr: fd });
  expect(r.exitCode).toBe(0);
  const pid = JSON.parse((await runc(['--root', root, 'state', id])).stdout).pid as number;
  return { root, id, pid };
}

test.each([
  ['default cgroup (/<id>)', undefined],
  ['nested linux.cgroupsPath', 'nested'],
])('a live container is seen in every hierarchy, v1 and v2; nothing once deleted (%s)', async (_what, nested) => {
  const parent = `vkleft-${process.pid}-${Date.now().toString(36)}`;
  const c = await create(nested ? `/${parent}/ctr` : undefined);
  const cgroupsPath = nested ? `/${parent}/ctr` : undefined;
  try {
    const real = cgroupDirsOf(c.pid);
    // every hierarchy mounted here, v2 included, holds the container
    expect(real).toHaveLength(cgroupHierarchies().length);
    expect(cgroupHierarchies().some((h) => h.key === '')).toBe(true);
    for (const d of real) expect(existsSync(d)).toBe(true);
    const seen = leftovers(c.root, c.id, { cgroupsPath });
    expect(seen).toEqual(expect.arrayContaining([
      `runc dir ${join(c.root, c.id)}`,
      `our file ${stateFile(c.root, c.id)}`,
      ...real.map((d) => `cgroup ${d}`),
    ]));
    expect((await vk(['--root', c.root, 'delete', '--force', c.id])).exitCode).toBe(0);
    expect(leftovers(c.root, c.id, { cgroupsPath, cgroupDirs: real })).toEqual([]);
  } finally {
    await vk(['--root', c.root, 'delete', '--force', c.id]);
    // runc leaves the parent of a nested cgroupsPath
    if (nested) for (const d of cgroupCandidates(`/${parent}`)) if (existsSync(d)) rmdirSync(d);
  }
}, 30000);
