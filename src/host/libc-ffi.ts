/**
 * libc functions through bun:ffi, when we run under bun (the compiled engine); undefined under node
 * (tests of the sources) or when libc lacks one of them, and the caller falls back to a process
 * (chrt) or to a plain syscall the runtime already has (kill). Imported by specifier at run time,
 * so node never resolves `bun:ffi`.
 */
export type LibcSymbols<K extends string> = Record<K, (...a: unknown[]) => number>;

export async function libcSymbols<K extends string>(syms: Record<K, { args: string[]; returns: string }>): Promise<LibcSymbols<K> | undefined> {
  if (!process.versions.bun) return undefined;
  try {
    const spec = 'bun:ffi';
    const ffi = (await import(spec)) as {
      dlopen: (lib: string, s: Record<string, { args: string[]; returns: string }>) => { symbols: Record<string, (...a: unknown[]) => number> };
    };
    return ffi.dlopen('libc.so.6', syms).symbols as LibcSymbols<K>;
  } catch {
    return undefined;
  }
}

/** this thread's errno (read through __errno_location()) under bun, for a libc call that just failed */
export async function libcErrno(): Promise<(() => number) | undefined> {
  if (!process.versions.bun) return undefined;
  try {
    const spec = 'bun:ffi';
    const ffi = (await import(spec)) as {
      dlopen: (lib: string, s: Record<string, { args: string[]; returns: string }>) => { symbols: Record<string, () => number> };
      read: { i32: (ptr: number, offset?: number) => number };
    };
    const loc = ffi.dlopen('libc.so.6', { __errno_location: { args: [], returns: 'ptr' } }).symbols.__errno_location;
    return () => ffi.read.i32(loc());
  } catch {
    return undefined;
  }
}
