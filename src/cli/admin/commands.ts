import Doctor from './doctor.js';
import { Install, Uninstall } from './install.js';
import { ModuleBuild, ModuleRename } from './module.js';
import Ps from './ps.js';

/** oclif "explicit" command map (package.json `oclif.commands`) */
export const COMMANDS = {
  doctor: Doctor,
  ps: Ps,
  install: Install,
  uninstall: Uninstall,
  'module:build': ModuleBuild,
  'module:rename': ModuleRename,
};
