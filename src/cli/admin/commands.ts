import { ModuleBuild, ModuleRename } from './module.js';

/** oclif "explicit" command map (package.json `oclif.commands`) */
export const COMMANDS = {
  'module:build': ModuleBuild,
  'module:rename': ModuleRename,
};
