import Doctor from './doctor.js';
import Ps from './ps.js';
import { Install, Uninstall } from './install.js';

/** oclif "explicit" command map (package.json `oclif.commands`) */
export const COMMANDS = { doctor: Doctor, ps: Ps, install: Install, uninstall: Uninstall };
