/**
 * Just enough ELF64 (little-endian, x86_64 kernel modules) to find sections by name and to give
 * a built module a new name without rebuilding it (ARCHITECTURE.md "Module naming").
 *
 * A module's name lives in two places, both rewritten here:
 *  - `.gnu.linkonce.this_module`: the module's `struct module`, whose `char name[MODULE_NAME_LEN]`
 *    (56 bytes on 64-bit, NUL included) sits at THIS_MODULE_NAME_OFFSET. The kernel takes the
 *    loaded module's name from there.
 *  - `.modinfo`: the `name=...` string (the kernel logs with it before the section above is
 *    read; modinfo(8) and depmod show it). Its strings are packed, so a new value must fit in the
 *    old one's bytes; the remainder is filled with NULs, which the kernel's and kmod's modinfo
 *    readers skip. This is why modules are built under a placeholder name of the maximal length
 *    (PLACEHOLDER_LENGTH): then every valid name fits.
 * Offsets come from the section headers (and the `__this_module` symbol), never from a fixed file
 * offset; the struct offset is a constant of the kernel's layout, so it is checked against the
 * name that must already be there (the `.modinfo` name), and the rename refuses when it is not.
 */

/** `struct module { enum module_state state; struct list_head list; char name[...]; ... }` on x86_64 */
export const THIS_MODULE_NAME_OFFSET = 0x18;
/** MODULE_NAME_LEN = 64 - sizeof(unsigned long): 55 characters and the NUL */
export const MODULE_NAME_LEN = 56;
export const MAX_NAME_LENGTH = MODULE_NAME_LEN - 1;
/** what a module name may be (a subset of what the kernel accepts, safe in paths and sysfs) */
export const NAME_RE = /^[A-Za-z0-9_]{1,55}$/;

export interface Section {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

export interface Elf {
  type: number;
  machine: number;
  sections: Section[];
  section(name: string): Section | undefined;
}

const SHT_NOBITS = 8;
const SHT_SYMTAB = 2;
const SHT_RELA = 4;
const SHN_XINDEX = 0xffff;
export const ET_REL = 1;
export const EM_X86_64 = 62;

class ElfError extends Error {}

function num(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`not a valid ELF file: ${what} too large`);
  return Number(v);
}

function cstring(buf: Buffer, start: number, end = buf.length): string {
  const nul = buf.indexOf(0, start);
  return buf.toString('latin1', start, nul < 0 || nul > end ? end : nul);
}

/** Parse the ELF header and section headers (64-bit little-endian only). Throws on anything else. */
export function parseElf(buf: Buffer): Elf {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new ElfError('not an ELF file (bad magic)');
  if (buf[4] !== 2) throw new ElfError('not a 64-bit ELF file (EI_CLASS is not ELFCLASS64)');
  if (buf[5] !== 1) throw new ElfError('not a little-endian ELF file (EI_DATA is not ELFDATA2LSB)');
  const type = buf.readUInt16LE(0x10);
  const machine = buf.readUInt16LE(0x12);
  const shoff = num(buf.readBigUInt64LE(0x28), 'e_shoff');
  const shentsize = buf.readUInt16LE(0x3a);
  let shnum = buf.readUInt16LE(0x3c);
  let shstrndx = buf.readUInt16LE(0x3e);
  if (shoff === 0) throw new ElfError('ELF file has no section headers');
  if (shentsize < 64) throw new ElfError(`unexpected section header size ${shentsize}`);
  const header = (i: number) => {
    const o = shoff + i * shentsize;
    if (o + 64 > buf.length) throw new ElfError(`section header ${i} lies outside the file`);
    return o;
  };
  // extended numbering: the real counts live in section 0
  if (shnum === 0) shnum = num(buf.readBigUInt64LE(header(0) + 32), 'section count');
  if (shstrndx === SHN_XINDEX) shstrndx = buf.readUInt32LE(header(0) + 40);
  if (shnum > 65536 * 16) throw new ElfError(`implausible section count ${shnum}`);
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const o = header(i);
    const s = {
      index: i,
      nameOff: buf.readUInt32LE(o),
      type: buf.readUInt32LE(o + 4),
      flags: buf.readBigUInt64LE(o + 8),
      offset: num(buf.readBigUInt64LE(o + 24), 'sh_offset'),
      size: num(buf.readBigUInt64LE(o + 32), 'sh_size'),
      link: buf.readUInt32LE(o + 40),
      info: buf.readUInt32LE(o + 44),
      entsize: num(buf.readBigUInt64LE(o + 56), 'sh_entsize'),
    };
    if (s.type !== SHT_NOBITS && s.offset + s.size > buf.length) throw new ElfError(`section ${i} lies outside the file`);
    raw.push(s);
  }
  const strtab = raw[shstrndx];
  if (!strtab) throw new ElfError(`section name table index ${shstrndx} out of range`);
  const sections: Section[] = raw.map(({ nameOff, ...s }) => {
    if (nameOff >= strtab.size) throw new ElfError(`section ${s.index} has a name outside the name table`);
    return { ...s, name: cstring(buf, strtab.offset + nameOff, strtab.offset + strtab.size) };
  });
  return { type, machine, sections, section: (name) => sections.find((s) => s.name === name) };
}

/** The strings of `.modinfo` (`key=value`), with their file offsets. */
export function modinfo(buf: Buffer, elf = parseElf(buf)): { key: string; value: string; offset: number; length: number }[] {
  const sec = elf.section('.modinfo');
  if (!sec) return [];
  const out = [];
  const end = sec.offset + sec.size;
  for (let p = sec.offset; p < end; ) {
    if (buf[p] === 0) { p++; continue; }
    const s = cstring(buf, p, end);
    const eq = s.indexOf('=');
    if (eq > 0) out.push({ key: s.slice(0, eq), value: s.slice(eq + 1), offset: p, length: s.length });
    p += s.length + 1;
  }
  return out;
}

/** file offset of `struct module` in the module: the `__this_module` symbol in its section */
function thisModuleOffset(buf: Buffer, elf: Elf, sec: Section): number {
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  const strtab = symtab && elf.sections[symtab.link];
  if (!symtab || !strtab || symtab.entsize < 24) return sec.offset;
  for (let o = symtab.offset; o + 24 <= symtab.offset + symtab.size; o += symtab.entsize) {
    const nameOff = buf.readUInt32LE(o);
    if (nameOff === 0 || nameOff >= strtab.size) continue;
    if (cstring(buf, strtab.offset + nameOff, strtab.offset + strtab.size) !== '__this_module') continue;
    const shndx = buf.readUInt16LE(o + 6);
    const value = num(buf.readBigUInt64LE(o + 8), 'st_value');
    if (shndx !== sec.index) throw new ElfError(`__this_module is not in ${sec.name}`);
    return sec.offset + value;
  }
  return sec.offset;
}

export function checkName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new Error(`invalid module name ${JSON.stringify(name)}: 1 to ${MAX_NAME_LENGTH} characters of [A-Za-z0-9_]`);
  }
}

/** The module's current name (from `.gnu.linkonce.this_module`, checked against `.modinfo`). */
export function currentName(buf: Buffer): string {
  return locate(buf).name;
}

function locate(buf: Buffer) {
  const elf = parseElf(buf);
  if (elf.type !== ET_REL || elf.machine !== EM_X86_64) {
    throw new Error(`not an x86_64 kernel module (ELF type ${elf.type}, machine ${elf.machine}; want ET_REL, EM_X86_64)`);
  }
  const sec = elf.section('.gnu.linkonce.this_module');
  if (!sec || sec.type === SHT_NOBITS) throw new Error('not a kernel module: no .gnu.linkonce.this_module section');
  const base = thisModuleOffset(buf, elf, sec);
  const nameAt = base + THIS_MODULE_NAME_OFFSET;
  if (nameAt + MODULE_NAME_LEN > sec.offset + sec.size) {
    throw new Error(`.gnu.linkonce.this_module is too small (${sec.size} bytes) for struct module`);
  }
  const info = modinfo(buf, elf).filter((e) => e.key === 'name');
  if (info.length !== 1) throw new Error(`.modinfo has ${info.length} name= entries (want exactly 1)`);
  const field = buf.subarray(nameAt, nameAt + MODULE_NAME_LEN);
  const nul = field.indexOf(0);
  const name = field.toString('latin1', 0, nul < 0 ? MODULE_NAME_LEN : nul);
  // the layout constant is only trusted when the expected name is found there, NUL-padded
  if (nul < 0 || name !== info[0].value || field.subarray(nul).some((b) => b !== 0)) {
    throw new Error(
      `struct module name not found at +0x${THIS_MODULE_NAME_OFFSET.toString(16)} of .gnu.linkonce.this_module ` +
        `(modinfo says ${JSON.stringify(info[0].value)}, found ${JSON.stringify(name)}): unknown struct module layout, refusing to rename`,
    );
  }
  // nothing may be relocated into the name (it would be overwritten at load time)
  const rel = nameAt - sec.offset;
  for (const r of elf.sections.filter((s) => s.type === SHT_RELA && s.info === sec.index && s.entsize >= 24)) {
    for (let o = r.offset; o + 24 <= r.offset + r.size; o += r.entsize) {
      const at = num(buf.readBigUInt64LE(o), 'r_offset');
      if (at + 8 > rel && at < rel + MODULE_NAME_LEN) throw new Error(`${r.name} relocates into struct module name: unknown layout, refusing to rename`);
    }
  }
  return { elf, nameAt, info: info[0], name };
}

/**
 * A copy of the module `inBuf` named `newName`. Refuses (throws) on an invalid name, on a file
 * that is not an x86_64 module of the expected layout, and when `newName` is longer than the
 * name the module was built with (the `.modinfo` strings cannot grow in place).
 */
export function renameModule(inBuf: Buffer, newName: string): Buffer {
  checkName(newName);
  const { nameAt, info, name } = locate(inBuf);
  if (newName.length > info.value.length) {
    throw new Error(
      `module name ${JSON.stringify(newName)} (${newName.length} characters) does not fit: this module was built as ` +
        `${JSON.stringify(name)} (${name.length}); build it under a placeholder of ${MAX_NAME_LENGTH} characters ` +
        `(vkernel-runtime module build does) so that any name fits`,
    );
  }
  const out = Buffer.from(inBuf);
  out.fill(0, nameAt, nameAt + MODULE_NAME_LEN);
  out.write(newName, nameAt, 'latin1');
  const valueAt = info.offset + 'name='.length;
  out.fill(0, valueAt, valueAt + info.value.length);
  out.write(newName, valueAt, 'latin1');
  return out;
}
