// Build step: writes the launcher's argv patterns (generated from src/oci/flags.ts) into bin/vkernel-runtime.
import { readFileSync, writeFileSync } from 'node:fs';
import { withCases } from './launcher-cases.ts';

const file = new URL('../bin/vkernel-runtime', import.meta.url).pathname;
const text = readFileSync(file, 'utf8');
const next = withCases(text);
if (next !== text) writeFileSync(file, next);
