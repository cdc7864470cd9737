import Doctor from './doctor.js';
import { ModuleBuild, ModuleRename } from './module.js';
import Ps from './ps.js';

/** oclif "explicit" command map (package.json `oclif.commands`) */
export const COMMANDS = { doctor: Doctor, ps: Ps, 'module:build': ModuleBuild, 'module:rename': ModuleRename };
