// The part of bun:ffi the runtime uses (src/store/flock.ts), for tsc: the module exists only
// when the engine runs under bun (the compiled executable, or `bun` itself).
declare module 'bun:ffi' {
  export function dlopen<S extends Record<string, { args: readonly string[]; returns: string }>>(
    path: string,
    symbols: S,
  ): { symbols: { [K in keyof S]: (...args: number[]) => number }; close(): void };
}
