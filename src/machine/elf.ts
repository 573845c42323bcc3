/**
 * A small ELF reader (ELF64, and ELF32 for 32-bit guests): the file header, program headers (what
 * a loader maps) and the symbol table (for breakpoints and disassembly). Field offsets are from
 * the System V gABI and /usr/include/elf.h (Elf64_Ehdr/Elf32_Ehdr, _Phdr, _Shdr, _Sym).
 */
import { ElfFormatError } from "./errors";
import type { GuestPhysical } from "./machine";

export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHT_SYMTAB = 2;
export const SHT_DYNSYM = 11;
export const EM_X86_64 = 62;
export const EM_386 = 3;
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

  /** ELFCLASS32 (1) files are read too: `gcc -m32` programs for 32-bit protected-mode guests. */
  readonly elfClass: 32 | 64;

  constructor(readonly bytes: Uint8Array) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const need = (off: number, len: number, field: string) => {
      if (off < 0 || off + len > bytes.length) throw new ElfFormatError(field, off, `needs ${len} bytes, file has ${bytes.length}`);
    };
    need(0, 16, "e_ident");
    if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new ElfFormatError("e_ident[EI_MAG]", 0, "not an ELF file");
    if (bytes[4] !== 2 && bytes[4] !== 1) throw new ElfFormatError("e_ident[EI_CLASS]", 4, `class ${bytes[4]} is neither ELFCLASS32 nor ELFCLASS64`);
    if (bytes[5] !== 1) throw new ElfFormatError("e_ident[EI_DATA]", 5, `data ${bytes[5]} is not ELFDATA2LSB`);
    const is64 = bytes[4] === 2;
    this.elfClass = is64 ? 64 : 32;
    // Field offsets and sizes of Elf64_* / Elf32_* (elf.h): an address or offset is 8 or 4 bytes.
    const L = is64
      ? { ehdr: 64, entry: 24, phoff: 32, shoff: 40, phentsize: 54, phnum: 56, shentsize: 58, shnum: 60, shstrndx: 62,
          ph: 56, phType: 0, phFlags: 4, phOffset: 8, phVaddr: 16, phPaddr: 24, phFilesz: 32, phMemsz: 40, phAlign: 48,
          sh: 64, shName: 0, shType: 4, shAddr: 16, shOffset: 24, shSize: 32, shLink: 40, shEntsize: 56,
          sym: 24, symName: 0, symInfo: 4, symShndx: 6, symValue: 8, symSize: 16 }
      : { ehdr: 52, entry: 24, phoff: 28, shoff: 32, phentsize: 42, phnum: 44, shentsize: 46, shnum: 48, shstrndx: 50,
          ph: 32, phType: 0, phFlags: 24, phOffset: 4, phVaddr: 8, phPaddr: 12, phFilesz: 16, phMemsz: 20, phAlign: 28,
          sh: 40, shName: 0, shType: 4, shAddr: 12, shOffset: 16, shSize: 20, shLink: 24, shEntsize: 36,
          sym: 16, symName: 0, symInfo: 12, symShndx: 14, symValue: 4, symSize: 8 };
    const word = (o: number): bigint => (is64 ? dv.getBigUint64(o, true) : BigInt(dv.getUint32(o, true)));
    need(0, L.ehdr, "ELF header");
    this.type = dv.getUint16(16, true);
    this.machine = dv.getUint16(18, true);
    this.entry = word(L.entry);
    const phoff = Number(word(L.phoff));
    const shoff = Number(word(L.shoff));
    const phentsize = dv.getUint16(L.phentsize, true), phnum = dv.getUint16(L.phnum, true);
    const shentsize = dv.getUint16(L.shentsize, true), shnum = dv.getUint16(L.shnum, true), shstrndx = dv.getUint16(L.shstrndx, true);
    if (phnum && phentsize < L.ph) throw new ElfFormatError("e_phentsize", L.phentsize, `${phentsize} < ${L.ph}`);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      need(o, L.ph, `program header ${i}`);
      this.programHeaders.push({
        type: dv.getUint32(o + L.phType, true), flags: dv.getUint32(o + L.phFlags, true), offset: Number(word(o + L.phOffset)),
        vaddr: word(o + L.phVaddr), paddr: word(o + L.phPaddr),
        filesz: Number(word(o + L.phFilesz)), memsz: Number(word(o + L.phMemsz)), align: Number(word(o + L.phAlign)),
      });
      const ph = this.programHeaders[i]!;
      if (ph.type === PT_LOAD) need(ph.offset, ph.filesz, `program header ${i} p_offset/p_filesz`);
      if (ph.filesz > ph.memsz) throw new ElfFormatError(`program header ${i} p_filesz`, o + L.phFilesz, "larger than p_memsz");
    }
    if (shnum && shentsize < L.sh) throw new ElfFormatError("e_shentsize", L.shentsize, `${shentsize} < ${L.sh}`);
    const raw: { name: number; type: number; addr: bigint; offset: number; size: number; link: number; entsize: number }[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      need(o, L.sh, `section header ${i}`);
      raw.push({
        name: dv.getUint32(o + L.shName, true), type: dv.getUint32(o + L.shType, true), addr: word(o + L.shAddr),
        offset: Number(word(o + L.shOffset)), size: Number(word(o + L.shSize)),
        link: dv.getUint32(o + L.shLink, true), entsize: Number(word(o + L.shEntsize)),
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
      for (let o = s.offset; o + L.sym <= s.offset + s.size; o += s.entsize || L.sym) {
        const info = bytes[o + L.symInfo]!;
        this.symbols.push({
          name: str(strtab, dv.getUint32(o + L.symName, true)), value: word(o + L.symValue), size: Number(is64 ? dv.getBigUint64(o + L.symSize, true) : dv.getUint32(o + L.symSize, true)),
          type: info & 15, bind: info >> 4, shndx: dv.getUint16(o + L.symShndx, true),
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
