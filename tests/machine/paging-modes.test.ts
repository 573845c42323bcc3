/**
 * 32-bit paging, PAE paging and the transitions to long mode and back (Intel SDM Vol. 3A §4.3,
 * §4.4, §4.7, §4.8, §9.8.5), tested two ways:
 * - tests/machine/programs/paging.asm runs as QEMU's BIOS (TCG) and on the vCPU: every fault's
 *   vector, error code, CR2 and EIP, every value read and the A/D bits of the entries the walks
 *   used must be the same, with one documented difference (QEMU 7.2 leaves P out of the error
 *   code of a reserved-bit fault);
 * - each probe's outcome is also written out below from the SDM's rules, so a mistake shared by
 *   both machines still fails.
 * PDPTE loading (§4.4.1), which QEMU's TCG does not model (it reads PDPTEs on every walk), is
 * checked against the SDM alone.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { qemuAvailable, runFirmware, runOnQemu } from "./realmode-helpers";
import { decodeRecords, firmwareImage, pmFirmware, probe } from "./paging-helpers";

const image = firmwareImage(readFileSync(join(__dirname, "programs", "paging.asm"), "utf8"));

/** Error-code bits (SDM Vol. 3A §4.7, Figure 4-12). */
const P = 1, W = 2, U = 4, RSVD = 8, I = 16;
const pf = (ec: number, cr2: number) => `F 14 ec=${ec.toString(16).padStart(8, "0")} cr2=${cr2.toString(16).padStart(8, "0")}`;
const fetchPf = (ec: number, cr2: number) => `${pf(ec, cr2)} eip=${cr2.toString(16).padStart(8, "0")}`;
const val = (v: number) => `V ${(v >>> 0).toString(16).padStart(8, "0")}`;
/** Entry flags (SDM Vol. 3A Tables 4-4..4-11). */
const EP = 1, ERW = 2, EUS = 4, EA = 0x20, ED = 0x40, EPS = 0x80;

/**
 * What each probe of paging.asm must produce, from the SDM. A fault line is matched without its
 * EIP for data accesses (the EIP is the probe's instruction); a fetch fault's EIP is CR2.
 */
const SDM_EXPECTED: [number, string[], string][] = [
  // ---- 32-bit paging, CR4.PSE = 1, CR0.WP = 0, CPL 0 ----
  [0x10, [pf(0, 0x400000)], "read through a not-present PTE: P=0, W/R=0, U/S=0"],
  [0x11, [pf(W, 0x800010)], "write through a not-present PDE: W/R=1"],
  [0x12, [val(0x201000 | EP | EA | ED)], "supervisor write to a read-only page with WP=0 is allowed (§4.6.1) and sets A and D"],
  [0x13, [val(0x202000 | EP | ERW | EUS | EA), val(0x12000 | EP | ERW | EUS | EA)], "a read sets A on the PTE and the PDE, not D"],
  [0x14, [pf(P | W, 0x401010)], "with CR0.WP=1 a supervisor write to a read-only page faults"],
  [0x15, [pf(P | W, 0x403000)], "...also to a read-only user page"],
  [0x16, [], "a write through a 4 MiB page (PDE PS=1 with CR4.PSE=1)"],
  [0x17, [val(0x11223344), val(0x400000 | EPS | EP | ERW | EA | ED)], "reads it back; A and D are set in the PDE, which is the leaf"],
  [0x18, [pf(P | RSVD, 0x1000000), val(0x600000 | EPS | EP | ERW)], "bit 21 of a 4 MiB PDE is reserved: P=1, RSVD=1; no A set"],
  [0x1a, [fetchPf(0, 0x800000)], "a fetch from a not-present page: I/D stays 0 in 32-bit paging (no PAE, no SMEP)"],
  [0x1b, [val(0xfeedface)], "with CR4.PSE=0 the PS bit is ignored: the PDE points to a page table"],
  [0x1c, [val(0x205000 | EP | ERW | EA)], "...whose PTE (read through the 4 MiB page again) got its A bit"],
  // ---- CPL 3 (CR0.WP = 1) ----
  [0x20, [pf(P | U, 0x401000)], "user read of a supervisor page"],
  [0x21, [pf(P | W | U, 0x403000)], "user write to a read-only user page"],
  [0x22, [pf(U, 0x400000)], "user read of a not-present page"],
  [0x23, [pf(P | U, 0x1400000)], "U/S is combined across levels: a supervisor PDE over a user PTE"],
  [0x24, [val(0x202000 | EP | ERW | EUS | EA | ED)], "user write to a writable user page sets D"],
  [0x2f, [], "(back at CPL 0)"],
  // ---- PAE paging, EFER.NXE = 0 ----
  [0x30, [val(0x11223344)], "a 2 MiB page reads what the 4 MiB page wrote at physical 0x401234"],
  [0x31, [pf(P | RSVD, 0x600000)], "bit 63 (XD) with EFER.NXE=0 is reserved"],
  [0x32, [pf(P | W | RSVD, 0x601000)], "bit 51 is above MAXPHYADDR: reserved"],
  [0x33, [pf(P | RSVD, 0x800000)], "bits 20:13 of a 2 MiB PDE are reserved"],
  [0x34, [pf(0, 0x40000000)], "PDPTE 1 is not present"],
  [0x35, [pf(P | W, 0x604000)], "write to a read-only page with WP=1"],
  [0x36, [val(0x12), val(0x200000 | EPS | EP | ERW | EUS | EA), val(0x17000 | EP | ERW | EUS | EA)],
    "the byte probe 0x12 wrote; A on the 2 MiB PDE; the PDE over the faulting PTEs got A before the fault"],
  // ---- EFER.NXE = 1 ----
  [0x37, [val(0x203000 | EP | ERW | EA), val(0x80000000)], "XD pages can be read; A is set, XD stays"],
  [0x39, [fetchPf(P | I, 0x602000)], "fetch from an XD page: P=1, I/D=1"],
  [0x3b, [fetchPf(I, 0x603000)], "fetch from a not-present page with NXE: I/D=1 (PAE paging, §4.7)"],
  [0x3d, [fetchPf(P | I, 0xa00010)], "XD in a 2 MiB PDE"],
  [0x3e, [val(0x201000 | EP | ERW | EA), val(0x17000 | EP | ERW | EUS | EA)], "bit 63 is XD now, not reserved: the read succeeds and sets A"],
  // ---- long mode (2 MiB pages), then compatibility mode, paging off, PAE again ----
  [0x40, [val(0x11223344), val(0), val(0x400000 | EPS | EP | ERW | EA)], "the 4-level walk: same physical data; a page PAE left unmapped is mapped here"],
  [0x41, [], "(compatibility mode)"],
  [0x42, [val(0x11223344)], "PAE paging again after LME was cleared with paging off"],
  [0x43, [pf(0, 0x603000)], "the PAE tables are back in force"],
  [0x45, [fetchPf(P | I, 0x602000), val(0x800)], "NXE survived the trip; EFER = NXE (LME and LMA clear)"],
];

describe("paging modes: the program's records", () => {
  const ours = runFirmware(image);
  const lines = decodeRecords(ours.out);

  it("runs to the exit port, ending in PAE paging", () => {
    expect(ours.end).toBe("exit-port");
    expect(lines.at(-1)).toBe("M 4f");
    expect(ours.v.cr4 & 0x20).toBe(0x20);
    expect(ours.v.paging).toBe(true);
    expect(ours.v.efer & 0x400).toBe(0);
  });

  for (const [id, want, what] of SDM_EXPECTED) {
    it(`probe 0x${id.toString(16)}: ${what}`, () => {
      const got = probe(lines, id).map((l, k) => (want[k]?.startsWith("F ") && !want[k]!.includes("eip=") ? l.replace(/ eip=\w+$/, "") : l));
      expect(got).toEqual(want);
    });
  }

  it("every probe in the program has an expectation here", () => {
    const ids = lines.filter((l) => l.startsWith("M ")).map((l) => parseInt(l.slice(2), 16));
    expect(ids).toEqual([...SDM_EXPECTED.map(([id]) => id), 0x4f]);
  });

  it.runIf(qemuAvailable())("QEMU's TCG writes the same records (reserved-bit faults: QEMU 7.2 omits P, which the SDM requires)", () => {
    const qemu = decodeRecords(runOnQemu(image));
    // SDM Vol. 3A §4.7: "bit 3 of the error code can be set only if bit 0 is also set".
    const fixed = qemu.map((l) => l.replace(/^F 14 ec=(\w+)/, (m, ec: string) => {
      const v = parseInt(ec, 16);
      return v & RSVD ? `F 14 ec=${(v | P).toString(16).padStart(8, "0")}` : m;
    }));
    expect(qemu.filter((l, k) => l !== fixed[k])).toHaveLength(4); // probes 0x18, 0x31, 0x32, 0x33
    expect(lines).toEqual(fixed);
  });
});

/** PAE tables for the SDM-only programs: PDPT at 0x14000, PD 0x15000 with 2 MiB identity pages of 0-8 MiB. */
const PAE_SETUP = `
  mov edi, 0x14000
  mov ecx, 0x2000 / 4
  xor eax, eax
  rep stosd
  mov dword [0x14000], 0x15001
  mov dword [0x15000], 0x000083
  mov dword [0x15008], 0x200083
  mov dword [0x15010], 0x400083
  mov dword [0x15018], 0x600083
  mov eax, cr4
  or eax, 1 << 5
  mov cr4, eax
  mov eax, 0x14000
  mov cr3, eax
  mov eax, cr0
  or eax, 1 << 31
  mov cr0, eax
`;

describe("PAE paging's PDPTE registers (SDM Vol. 3A §4.4.1)", () => {
  it("MOV to CR3 with a reserved bit in a present PDPTE is #GP(0) and leaves CR3 as it was", () => {
    const r = runFirmware(pmFirmware(`${PAE_SETUP}
  mov dword [0x16000], 0x15001 | (1 << 1)   ; PDPT 2, entry 0: bit 1 is reserved
  mov dword [0x16020], 0x15001              ; PDPT 3 (at 0x16020: 32-byte aligned): fine
  mov dword [0x16028], 0x15000 | (1 << 1)   ; not present: reserved bits are not checked
  mov eax, 0x16000
  PROBE 0x01, mov cr3, eax
  mov eax, cr3
  call out_val
  mov dword [0x16004], 0x80                 ; bit 39 (MAXPHYADDR is 39): reserved
  mov dword [0x16000], 0x15001
  mov eax, 0x16000
  PROBE 0x02, mov cr3, eax
  mov eax, 0x16020
  PROBE 0x03, mov cr3, eax
  mov eax, cr3
  call out_val
`));
    expect(r.end).toBe("exit-port");
    const lines = decodeRecords(r.out);
    expect(probe(lines, 1).map((l) => l.replace(/ cr2=\w+ eip=\w+/, ""))).toEqual(["F 13 ec=00000000", val(0x14000)]);
    expect(probe(lines, 2).map((l) => l.replace(/ cr2=\w+ eip=\w+/, ""))).toEqual(["F 13 ec=00000000"]);
    expect(probe(lines, 3)).toEqual([val(0x16020)]);
  });

  it("MOV to CR0 that turns PAE paging on loads the PDPTEs, and refuses reserved bits with PG left clear", () => {
    const r = runFirmware(pmFirmware(`
  mov dword [0x14000], 0x15001 | (1 << 5)   ; bit 5 is reserved in a PDPTE (no A bit there)
  mov dword [0x15000], 0x000083
  mov eax, cr4
  or eax, 1 << 5
  mov cr4, eax
  mov eax, 0x14000
  mov cr3, eax                              ; paging off: nothing loaded yet
  mov eax, cr0
  or eax, 1 << 31
  PROBE 0x01, mov cr0, eax
  mov eax, cr0
  call out_val
`));
    expect(r.end).toBe("exit-port");
    const lines = decodeRecords(r.out);
    expect(probe(lines, 1).map((l) => l.replace(/ cr2=\w+ eip=\w+/, ""))).toEqual(["F 13 ec=00000000", val(0x60000011)]); // PE, ET, and CD/NW as INIT left them; no PG
  });

  it("the walk uses the PDPTEs loaded at MOV to CR3, not the PDPT in memory, until CR3 is loaded again", () => {
    const r = runFirmware(pmFirmware(`${PAE_SETUP}
  mov dword [0x600000], 0x600600
  mov dword [0x14000], 0x16001              ; the PDPT in memory changes to an empty PD...
  PROBE 0x01, mov eax, [0x600000]           ; ...the PDPTE register does not
  call out_val
  mov eax, 0x14000
  PROBE 0x02, mov cr3, eax                  ; reloaded: the code page itself is now unmapped
`));
    const lines = decodeRecords(r.out);
    expect(probe(lines, 1)).toEqual([val(0x600600)]);
    // The next fetch faults, and the IDT and handler are unmapped too: #PF, #DF, shutdown.
    expect(r.end).toMatch(/^triple-fault: .*not present/);
    expect(r.v.trace.recentEvents().map((e) => e.text).join("\n")).toMatch(/#PF\(0\) page not present at the PDE/);
  });

  it("PDPTEs get no accessed bit, and MOV to CR4 changing PSE under PAE paging reloads them", () => {
    const r = runFirmware(pmFirmware(`${PAE_SETUP}
  mov eax, [0x600000]
  VAL [0x14000]                             ; the PDPTE: unchanged (bits 8:5 are reserved, no A)
  VAL [0x15018]                             ; the 2 MiB PDE: A
  mov dword [0x14000], 0x15001 | (1 << 2)   ; reserved
  mov eax, cr4
  or eax, 1 << 4                            ; PSE: a change that reloads the PDPTEs
  PROBE 0x01, mov cr4, eax
  mov eax, cr4
  call out_val
`));
    expect(r.end).toBe("exit-port");
    const lines = decodeRecords(r.out);
    expect(lines.slice(0, 2)).toEqual([val(0x15001), val(0x600000 | EPS | EP | ERW | EA)]);
    expect(probe(lines, 1).map((l) => l.replace(/ cr2=\w+ eip=\w+/, ""))).toEqual(["F 13 ec=00000000", val(0x20)]);
  });
});

describe("leaving long mode (SDM Vol. 3A §9.8.5.4)", () => {
  it("clearing CR0.PG in 64-bit mode is #GP(0); in compatibility mode it leaves IA-32e mode", () => {
    // paging.asm clears PG from compatibility mode (probe 0x42 ran); here, from 64-bit mode.
    const lm = runFirmware(firmwareImage(readFileSync(join(__dirname, "programs", "paging.asm"), "utf8")
      .replace("  ; back to compatibility mode by a far return into the 32-bit code segment", "  mov rax, cr0\n  btr eax, 31\n  mov cr0, rax")));
    // The 32-bit IDT is no use in long mode: the #GP becomes a triple fault whose reason names it.
    expect(lm.end).toMatch(/^triple-fault/);
    expect(lm.v.trace.recentEvents().map((e) => e.text).join("\n")).toMatch(/#GP\(0\) clearing CR0.PG in 64-bit mode/);
    expect(lm.v.paging).toBe(true);
  });
});

describe("the page-walk view outside long mode", () => {
  it("PAE paging: the PDPTE register, then PD and PT; a 2 MiB leaf at the PD; the same answers as the walk itself", () => {
    const { v } = runFirmware(image); // ends in PAE paging with paging.asm's tables
    const w = v.pageWalk(0x602123);
    expect(w.paging).toBe("PAE");
    expect(w.levels.map((l) => l.level)).toEqual([3, 2, 1]);
    expect(w.levels[0]!.flags).toContain("(register)");
    expect(w.levels[2]!.flags).toContain("NX");
    expect(w.gpa).toBe(0x203123);
    const big = v.pageWalk(0x401234);
    expect(big.levels.at(-1)!.leaf && big.levels.at(-1)!.flags.includes("PS")).toBe(true);
    expect(big.gpa).toBe(0x401234);
    expect(v.pageWalk(0x40000000).fault).toMatch(/not present at PDPTE 1/);
    for (const a of [0x9000, 0xf0123, 0x201008, 0x401234, 0x602ffc, 0xa00010]) expect(v.pageWalk(a).gpa, a.toString(16)).toBe((v.translate(a) as { gpa: number }).gpa);
    expect(String(w.toMimeBundle()["text/plain"])).toMatch(/^walk of 0x602123 \(PAE paging\)\n {2}PDPT .* \(register\)\n {2}PD .*\n {2}PT .* NX \(leaf\)/);
  });

  it("32-bit paging: PD and PT, a 4 MiB leaf at the PD with CR4.PSE", () => {
    const { v } = runFirmware(pmFirmware(`
  mov edi, 0x10000
  mov ecx, 0x2000 / 4
  xor eax, eax
  rep stosd
  mov edi, 0x11000
  mov eax, 3
  mov ecx, 1024
.id:
  stosd
  add eax, 0x1000
  loop .id
  mov dword [0x10000], 0x11003
  mov dword [0x10004], 0x800083            ; 0x400000: 4 MiB page at 0x800000
  mov eax, cr4
  or eax, 1 << 4
  mov cr4, eax
  mov eax, 0x10000
  mov cr3, eax
  mov eax, cr0
  or eax, 1 << 31
  mov cr0, eax
`));
    const small = v.pageWalk(0x5123);
    expect(small.paging).toBe("32-bit");
    expect(small.levels.map((l) => [l.level, l.tableGpa, l.index])).toEqual([[2, 0x10000, 0], [1, 0x11000, 5]]);
    expect(small.gpa).toBe(0x5123);
    const big = v.pageWalk(0x512345);
    expect(big.levels.map((l) => l.level)).toEqual([2]);
    expect(big.gpa).toBe(0x912345);
    expect(big.gpa).toBe((v.translate(0x512345) as { gpa: number }).gpa);
    expect(v.pageWalk(0x800000).fault).toMatch(/not present at PD/);
  });
});
