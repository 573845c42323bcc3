/**
 * A small ELF64 reader: the file header, program headers (what a loader maps) and the symbol
 * table (for breakpoints and disassembly). Field offsets are from the System V gABI and
 * /usr/include/elf.h (Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr, Elf64_Sym).
 */
import { ElfFormatError } from "./errors";
import type { GuestPhysical } from "./machine";

export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHT_SYMTAB = 2;
export const SHT_DYNSYM = 11;
export const EM_X86_64 = 62;
export const STT_FUNC = 2;
export const STT_OBJECT = 1;

export interface ElfProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: number;
  type: number;
  bind: number;
  shndx: number;
}

export interface ElfSection {
  name: string;
  type: number;
  addr: bigint;
  offset: number;
  size: number;
}

export class ElfFile {
  readonly entry: bigint;
  readonly machine: number;
  readonly type: number;
  readonly programHeaders: ElfProgramHeader[] = [];
  readonly sections: ElfSection[] = [];
  readonly symbols: ElfSymbol[] = [];

  constructor(readonly bytes: Uint8Array) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const need = (off: number, len: number, field: string) => {
      if (off < 0 || off + len > bytes.length) throw new ElfFormatError(field, off, `needs ${len} bytes, file has ${bytes.length}`);
    };
    need(0, 64, "e_ident");
    if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new ElfFormatError("e_ident[EI_MAG]", 0, "not an ELF file");
    if (bytes[4] !== 2) throw new ElfFormatError("e_ident[EI_CLASS]", 4, `class ${bytes[4]} is not ELFCLASS64`);
    if (bytes[5] !== 1) throw new ElfFormatError("e_ident[EI_DATA]", 5, `data ${bytes[5]} is not ELFDATA2LSB`);
    this.type = dv.getUint16(16, true);
    this.machine = dv.getUint16(18, true);
    this.entry = dv.getBigUint64(24, true);
    const phoff = Number(dv.getBigUint64(32, true));
    const shoff = Number(dv.getBigUint64(40, true));
    const phentsize = dv.getUint16(54, true), phnum = dv.getUint16(56, true);
    const shentsize = dv.getUint16(58, true), shnum = dv.getUint16(60, true), shstrndx = dv.getUint16(62, true);
    if (phnum && phentsize < 56) throw new ElfFormatError("e_phentsize", 54, `${phentsize} < 56`);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      need(o, 56, `program header ${i}`);
      this.programHeaders.push({
        type: dv.getUint32(o, true), flags: dv.getUint32(o + 4, true), offset: Number(dv.getBigUint64(o + 8, true)),
        vaddr: dv.getBigUint64(o + 16, true), paddr: dv.getBigUint64(o + 24, true),
        filesz: Number(dv.getBigUint64(o + 32, true)), memsz: Number(dv.getBigUint64(o + 40, true)), align: Number(dv.getBigUint64(o + 48, true)),
      });
      const ph = this.programHeaders[i]!;
      if (ph.type === PT_LOAD) need(ph.offset, ph.filesz, `program header ${i} p_offset/p_filesz`);
      if (ph.filesz > ph.memsz) throw new ElfFormatError(`program header ${i} p_filesz`, o + 32, "larger than p_memsz");
    }
    if (shnum && shentsize < 64) throw new ElfFormatError("e_shentsize", 58, `${shentsize} < 64`);
    const raw: { name: number; type: number; addr: bigint; offset: number; size: number; link: number; entsize: number }[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      need(o, 64, `section header ${i}`);
      raw.push({
        name: dv.getUint32(o, true), type: dv.getUint32(o + 4, true), addr: dv.getBigUint64(o + 16, true),
        offset: Number(dv.getBigUint64(o + 24, true)), size: Number(dv.getBigUint64(o + 32, true)),
        link: dv.getUint32(o + 40, true), entsize: Number(dv.getBigUint64(o + 56, true)),
      });
    }
    const str = (sec: { offset: number; size: number } | undefined, off: number): string => {
      if (!sec) return "";
      let e = sec.offset + off;
      need(e, 1, "string table");
      const start = e;
      while (e < bytes.length && bytes[e] !== 0) e++;
      return new TextDecoder().decode(bytes.subarray(start, e));
    };
    const shstr = raw[shstrndx];
    for (const s of raw) this.sections.push({ name: str(shstr, s.name), type: s.type, addr: s.addr, offset: s.offset, size: s.size });
    for (const s of raw) {
      if (s.type !== SHT_SYMTAB) continue;
      need(s.offset, s.size, "symbol table");
      const strtab = raw[s.link];
      for (let o = s.offset; o + 24 <= s.offset + s.size; o += s.entsize || 24) {
        const info = bytes[o + 4]!;
        this.symbols.push({
          name: str(strtab, dv.getUint32(o, true)), value: dv.getBigUint64(o + 8, true), size: Number(dv.getBigUint64(o + 16, true)),
          type: info & 15, bind: info >> 4, shndx: dv.getUint16(o + 6, true),
        });
      }
    }
  }

  /** Function and object symbols by name (first definition wins). */
  symbolMap(): Map<string, bigint> {
    const m = new Map<string, bigint>();
    for (const s of this.symbols) if (s.name && s.shndx !== 0 && !m.has(s.name) && (s.type === STT_FUNC || s.type === STT_OBJECT || s.type === 0)) m.set(s.name, s.value);
    return m;
  }

  /** The symbol containing an address, as `name+off`, for disassembly. */
  symbolize(addr: bigint): string | undefined {
    let best: ElfSymbol | undefined;
    for (const s of this.symbols) {
      if (!s.name || s.shndx === 0 || (s.type !== STT_FUNC && s.type !== 0)) continue;
      if (s.value <= addr && (!best || s.value > best.value) && (s.size === 0 || addr < s.value + BigInt(s.size) || s.type === 0)) best = s;
    }
    if (!best) return undefined;
    const off = addr - best.value;
    return off ? `${best.name}+0x${off.toString(16)}` : best.name;
  }

  /**
   * Copies every PT_LOAD segment to guest-physical memory (at p_paddr, or p_vaddr + bias for
   * identity-mapped guests), zero-filling p_memsz beyond p_filesz.
   */
  loadInto(g: GuestPhysical, opts: { usePaddr?: boolean; bias?: bigint } = {}): void {
    for (const ph of this.programHeaders) {
      if (ph.type !== PT_LOAD) continue;
      const at = Number((opts.usePaddr ? ph.paddr : ph.vaddr) + (opts.bias ?? 0n));
      g.write(at, this.bytes.subarray(ph.offset, ph.offset + ph.filesz));
      if (ph.memsz > ph.filesz) g.fill(at + ph.filesz, ph.memsz - ph.filesz, 0);
    }
  }
}
