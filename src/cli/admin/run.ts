// Admin commands (oclif), started by bin/vkernel-runtime for module build|rename (gc, doctor, ps,
// install and uninstall run in the engine: no Node.js needed)
// Never loaded on the runc path.
import { execute } from '@oclif/core';
import { parseArgv } from '../../oci/argv.js';

// runc-style global flags may precede the command: hand --runc over
const inv = parseArgv(process.argv.slice(2));
const args = [inv.command ?? 'help', ...inv.args];
if (inv.runc) args.push('--runc', inv.runc);
await execute({ dir: import.meta.url, args });
