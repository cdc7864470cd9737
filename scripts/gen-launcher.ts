// Build step: writes the launcher's argv patterns (generated from src/oci/flags.ts) into
// bin/vkernel-runtime, and their C copy into client/launcher-flags.h.
import { readFileSync, writeFileSync } from 'node:fs';
import { C_HEADER, cHeader, withCases } from './launcher-cases.ts';

const file = new URL('../bin/vkernel-runtime', import.meta.url).pathname;
const text = readFileSync(file, 'utf8');
const next = withCases(text);
if (next !== text) writeFileSync(file, next);
const header = new URL(`../${C_HEADER}`, import.meta.url).pathname;
let old = '';
try { old = readFileSync(header, 'utf8'); } catch { /* first build */ }
if (old !== cHeader()) writeFileSync(header, cHeader());
