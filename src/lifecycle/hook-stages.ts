/**
 * the stages an OCI hook of ours runs at (`vkernel-runtime oci-hook STAGE`: oci-hook.ts). The C entry
 * point takes a hook at these to the engine server, from a copy generated into
 * client/launcher-flags.h (scripts/launcher-cases.ts); the server serves them (serve/server.ts).
 * A module of its own: the server reads it at start-up, not oci-hook.ts and what that imports
 */
export const HOOK_STAGES: readonly string[] = ['createRuntime', 'prestart', 'poststop'];
