/** how to start this runtime again (hooks, helper processes) */
export function selfCommand(): string[] {
  const self = process.env.VKERNEL_RUNTIME_SELF;
  if (self) return [self];
  // engine started directly: the bun binary is self-contained, node needs its script
  return /\/(node|nodejs)$/.test(process.execPath) ? [process.execPath, process.argv[1]] : [process.execPath];
}
