// Admin commands (oclif), started by bin/vkernel-runtime for doctor, ps, module, install, ...
// Never loaded on the runc path.
import { execute } from '@oclif/core';
import { parseArgv } from '../../oci/argv.js';

// runc-style global flags may precede the command (`vkernel-runtime --root R ps`): hand them over
const inv = parseArgv(process.argv.slice(2));
const args = [inv.command ?? 'help', ...inv.args];
if (inv.globals.root && (inv.command === 'ps' || inv.command === 'gc')) args.push('--root', inv.globals.root);
if (inv.runc) args.push('--runc', inv.runc);
await execute({ dir: import.meta.url, args });
