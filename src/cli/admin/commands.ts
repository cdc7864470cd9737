import { Install, Uninstall } from './install.js';
import { ModuleBuild, ModuleRename } from './module.js';

/** oclif "explicit" command map (package.json `oclif.commands`) */
export const COMMANDS = {
  install: Install,
  uninstall: Uninstall,
  'module:build': ModuleBuild,
  'module:rename': ModuleRename,
};
