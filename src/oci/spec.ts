import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The parts of an OCI runtime spec (config.json) vkernel-runtime reads. */
export interface Spec {
  annotations?: Record<string, string>;
  process?: { env?: string[]; args?: string[]; terminal?: boolean };
  root?: { path: string; readonly?: boolean };
  linux?: { cgroupsPath?: string; namespaces?: { type: string; path?: string }[] };
  hooks?: Record<string, unknown[]>;
  [k: string]: unknown;
}

/** runc's rule: `--bundle` or the current directory */
export function bundlePath(flag: string | undefined): string {
  return resolve(flag ?? process.cwd());
}

export function readSpec(bundle: string): Spec {
  const file = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Spec;
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}
