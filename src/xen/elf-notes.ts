/**
 * ELF notes of a Xen guest kernel (public elfnote.h; note name "Xen"), read from PT_NOTE program
 * headers or SHT_NOTE sections: Elf64_Nhdr {namesz, descsz, type} then name and desc, each padded
 * to 4 bytes (System V gABI "Note Section").
 */
import { ElfFile } from "../machine";
import { XEN_ELFNOTE } from "./abi";

export interface XenNote {
  type: number;
  name: string;
  desc: Uint8Array;
}

const SHT_NOTE = 7;
const PT_NOTE = 4;

export function readNotes(elf: ElfFile): XenNote[] {
  const regions: [number, number][] = [];
  for (const ph of elf.programHeaders) if (ph.type === PT_NOTE) regions.push([ph.offset, ph.filesz]);
  if (regions.length === 0) for (const s of elf.sections) if (s.type === SHT_NOTE) regions.push([s.offset, s.size]);
  const out: XenNote[] = [];
  const b = elf.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const [start, size] of regions) {
    let o = start;
    const end = Math.min(start + size, b.length);
    while (o + 12 <= end) {
      const namesz = dv.getUint32(o, true), descsz = dv.getUint32(o + 4, true), type = dv.getUint32(o + 8, true);
      const nameAt = o + 12;
      const descAt = nameAt + ((namesz + 3) & ~3);
      if (descAt + descsz > end) break;
      const name = new TextDecoder().decode(b.subarray(nameAt, nameAt + Math.max(0, namesz - 1)));
      out.push({ type, name, desc: b.slice(descAt, descAt + descsz) });
      o = descAt + ((descsz + 3) & ~3);
    }
  }
  return out.filter((n) => n.name === "Xen");
}

export const ELFNOTE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(XEN_ELFNOTE).map(([k, v]) => [v, k]));

/** A numeric note (1, 2, 4 or 8 bytes, little-endian). */
export function noteNumber(n: XenNote): bigint {
  let v = 0n;
  for (let i = Math.min(n.desc.length, 8) - 1; i >= 0; i--) v = (v << 8n) | BigInt(n.desc[i]!);
  return v;
}
