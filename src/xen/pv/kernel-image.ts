/**
 * A minimal 64-bit PV kernel image around machine code, for notebook cells and lab snippets: an
 * ELF64 executable (System V gABI) with one PT_LOAD and a PT_NOTE holding the Xen notes the PV
 * builder needs (public/elfnote.h: GUEST_OS, XEN_VERSION "xen-3.0", LOADER "generic", VIRT_BASE,
 * ENTRY, HYPERCALL_PAGE), as a PV Linux carries them. The loaded image is the hypercall page
 * (filled by the builder) followed by the code; assemble the code at PV_IMAGE.entry.
 */
import { XEN_ELFNOTE } from "../abi";

export const PV_IMAGE = {
  /** Linux's __START_KERNEL_map: where a 64-bit PV kernel is linked. */
  virtBase: 0xffffffff80000000n,
  hypercallPage: 0xffffffff80001000n,
  entry: 0xffffffff80002000n,
} as const;

const EHDR = 64, PHDR = 56, PT_LOAD = 1, PT_NOTE = 4, PF_X = 1, PF_W = 2, PF_R = 4, PAGE = 4096;

function note(type: number, desc: Uint8Array): Uint8Array {
  const name = new TextEncoder().encode("Xen\0");
  const pad = (n: number) => (n + 3) & ~3;
  const out = new Uint8Array(12 + pad(name.length) + pad(desc.length));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, name.length, true);
  dv.setUint32(4, desc.length, true);
  dv.setUint32(8, type, true);
  out.set(name, 12);
  out.set(desc, 12 + pad(name.length));
  return out;
}
const str = (s: string) => new TextEncoder().encode(`${s}\0`);
const u64 = (v: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, true); return b; };

/** The ELF bytes of a PV kernel whose code (assembled at PV_IMAGE.entry) follows its hypercall page. */
export function pvKernelImage(code: Uint8Array): Uint8Array {
  const notes = [
    note(XEN_ELFNOTE.GUEST_OS, str("xenlab")), note(XEN_ELFNOTE.XEN_VERSION, str("xen-3.0")), note(XEN_ELFNOTE.LOADER, str("generic")),
    note(XEN_ELFNOTE.VIRT_BASE, u64(PV_IMAGE.virtBase)), note(XEN_ELFNOTE.ENTRY, u64(PV_IMAGE.entry)), note(XEN_ELFNOTE.HYPERCALL_PAGE, u64(PV_IMAGE.hypercallPage)),
  ];
  const notesLen = notes.reduce((a, n) => a + n.length, 0);
  const notesAt = EHDR + 2 * PHDR;
  const loadAt = PAGE; // file offset of the hypercall page: offset ≡ vaddr (mod page size)
  const loadLen = PAGE + code.length;
  const out = new Uint8Array(loadAt + loadLen);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]); // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 62, true); // EM_X86_64
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, PV_IMAGE.entry, true);
  dv.setBigUint64(32, BigInt(EHDR), true); // e_phoff
  dv.setUint16(52, EHDR, true);
  dv.setUint16(54, PHDR, true);
  dv.setUint16(56, 2, true);
  dv.setUint16(58, 64, true); // e_shentsize (no sections)
  const phdr = (i: number, type: number, flags: number, off: number, vaddr: bigint, len: number, align: number) => {
    const o = EHDR + i * PHDR;
    dv.setUint32(o, type, true); dv.setUint32(o + 4, flags, true);
    dv.setBigUint64(o + 8, BigInt(off), true); dv.setBigUint64(o + 16, vaddr, true); dv.setBigUint64(o + 24, vaddr, true);
    dv.setBigUint64(o + 32, BigInt(len), true); dv.setBigUint64(o + 40, BigInt(len), true); dv.setBigUint64(o + 48, BigInt(align), true);
  };
  phdr(0, PT_LOAD, PF_R | PF_W | PF_X, loadAt, PV_IMAGE.hypercallPage, loadLen, PAGE);
  phdr(1, PT_NOTE, PF_R, notesAt, 0n, notesLen, 4);
  if (notesAt + notesLen > loadAt) throw new RangeError("Xen notes do not fit before the first page");
  let o = notesAt;
  for (const n of notes) { out.set(n, o); o += n.length; }
  out.fill(0xcc, loadAt, loadAt + PAGE);
  out.set(code, loadAt + PAGE);
  return out;
}
