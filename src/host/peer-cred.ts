import { libcSymbols } from './libc-ffi.js';

/** the process at the other end of a connected Unix socket, as the kernel recorded it at connect(2) */
export interface Peer { pid: number; uid: number; gid: number }

/** reads a socket's peer: undefined when the kernel does not say (not a Unix socket, closed) */
export type PeerReader = (fd: number) => Peer | undefined;

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

let loaded: PeerReader | null | undefined;

/**
 * getsockopt(SO_PEERCRED) through bun:ffi, under bun (the compiled engine, where the engine server
 * runs); undefined under node (no FFI), and then nothing about a peer is known. Loaded once.
 */
export async function peerReader(): Promise<PeerReader | undefined> {
  if (loaded !== undefined) return loaded ?? undefined;
  const lib = await libcSymbols({ getsockopt: { args: ['i32', 'i32', 'i32', 'ptr', 'ptr'], returns: 'i32' } });
  loaded = lib
    ? (fd) => {
      const ucred = new Int32Array(3); // struct ucred: pid, uid, gid
      const len = new Uint32Array([ucred.byteLength]);
      if (lib.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, len) !== 0 || len[0] !== ucred.byteLength || ucred[0] <= 0) return undefined;
      return { pid: ucred[0], uid: ucred[1] >>> 0, gid: ucred[2] >>> 0 };
    }
    : null;
  return loaded ?? undefined;
}
