import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { libcErrno, libcSymbols } from './libc-ffi.js';

/**
 * init_module(2) and delete_module(2) in-process through bun:ffi, when we run under bun (the
 * compiled engine): loading and unloading a container's module costs a syscall, not a kmod
 * process (its start-up dominated the module's part of create and delete: `npm run bench -- --vm`).
 * What kmod's insmod and rmmod do: the parameters joined by spaces, the kernel parses them; an
 * unload that does not wait (O_NONBLOCK). Under node (tests of the sources) or without the symbols:
 * undefined, and the caller runs insmod/rmmod.
 */
export interface ModuleCalls {
  /** init_module of the .ko file's image with `params`: undefined, or the errno's name */
  load(file: string, params: readonly string[]): string | undefined;
  /** delete_module(name, O_NONBLOCK): undefined, or the errno's name */
  unload(name: string): string | undefined;
}

const O_NONBLOCK = 0o4000;

const cstr = (s: string) => Buffer.from(`${s}\0`);

/** ENOENT for 2, or "errno N" for a number this platform does not name */
export function errnoName(n: number): string {
  return Object.entries(constants.errno).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;
}

let loaded: ModuleCalls | null | undefined;

export async function moduleCalls(): Promise<ModuleCalls | undefined> {
  if (loaded !== undefined) return loaded ?? undefined;
  const lib = await libcSymbols({
    init_module: { args: ['ptr', 'u64', 'ptr'], returns: 'i32' },
    delete_module: { args: ['ptr', 'u32'], returns: 'i32' },
  });
  const errno = await libcErrno();
  loaded = lib && errno
    ? {
      load(file, params) {
        const image = readFileSync(file);
        return lib.init_module(image, image.length, cstr(params.join(' '))) === 0 ? undefined : errnoName(errno());
      },
      unload(name) {
        return lib.delete_module(cstr(name), O_NONBLOCK) === 0 ? undefined : errnoName(errno());
      },
    }
    : null;
  return loaded ?? undefined;
}
