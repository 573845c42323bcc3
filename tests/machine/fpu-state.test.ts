/**
 * Save/restore and migration keep a guest's FP state: VcpuState carries x87/MMX, SSE (XMM0-15,
 * MXCSR) and XCR0 (src/machine/fpu-state.ts). A guest fills every XMM register, an x87 stack,
 * MXCSR (round up) and the x87 control word (round down), and stops at an `out`; its state is
 * taken with getState, sent through JSON, and loaded into a new vCPU on another machine holding a
 * copy of its memory. There it continues: what it computes from those values and stores must
 * equal what the same guest stores when it runs without a break; with the FPU part dropped from
 * the state it does not. A malformed FPU state is refused by name and changes nothing.
 */
import { describe, expect, it } from "vitest";
import { Machine, MachineError, Vcpu, VcpuState, buildPageTables, domId, gfn } from "../../src/machine";
import { nasm } from "./helpers";

const CODE = 0x100000, DATA = 0x200000, OUT = 0x300000, PAGES = 1024;

const GUEST = `
    mov dword [${DATA + 0x400}], 0x5f80     ; MXCSR: all masked, RC = up
    ldmxcsr [${DATA + 0x400}]
${Array.from({ length: 16 }, (_, i) => `    movdqu xmm${i}, [${DATA + 16 * i}]`).join("\n")}
    fninit
    mov word [${DATA + 0x404}], 0x077f      ; FCW: all masked, RC = down, 64-bit precision
    fldcw [${DATA + 0x404}]
    fldpi
    fld1
    fldl2e
    out 0x80, al                            ; the guest is saved here
${Array.from({ length: 16 }, (_, i) => `    divps xmm${i}, xmm${(i + 1) % 16}\n    addpd xmm${i}, xmm${(i + 3) % 16}`).join("\n")}
${Array.from({ length: 16 }, (_, i) => `    movdqu [${OUT + 16 * i}], xmm${i}`).join("\n")}
    fdiv st0, st2
    faddp st1, st0
    fstp tword [${OUT + 0x100}]
    fstp tword [${OUT + 0x110}]
    stmxcsr [${OUT + 0x120}]
    fnstsw [${OUT + 0x124}]
    hlt
`;

function guest(): { m: Machine; v: Vcpu } {
  const m = new Machine(16);
  const d = domId(1);
  m.populate(d, gfn(0), PAGES);
  const g = m.guest(d);
  const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: PAGES }]);
  g.write(CODE, nasm(GUEST, 64, CODE));
  // XMM inputs: floats and doubles of assorted magnitudes, so divisions round (and RC matters).
  const data = new DataView(new ArrayBuffer(256));
  for (let i = 0; i < 32; i++) data.setFloat64(8 * i, (i + 1) * 1.37 + 1 / (i + 3), true);
  for (let i = 0; i < 16; i++) data.setFloat32(4 * i, (i + 2) / 3, true);
  g.write(DATA, new Uint8Array(data.buffer));
  const v = new Vcpu(m, d, 0, { mode: "long64", rip: CODE, rsp: 0x80000, cr3 });
  return { m, v };
}

const toJson = (s: VcpuState) => JSON.stringify(s, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
const fromJson = (s: string) => JSON.parse(s, (_k, x) => (typeof x === "string" && /^-?\d+n$/.test(x) ? BigInt(x.slice(0, -1)) : x)) as VcpuState;

function runTo(v: Vcpu, kind: string): void {
  const x = v.run(1_000_000);
  expect(x.kind, JSON.stringify(x)).toBe(kind);
}

/** Runs to the `out`, moves state and memory to a fresh machine, and finishes there; the output bytes. */
function migrated(edit: (s: VcpuState) => void = () => {}): Uint8Array {
  const a = guest();
  runTo(a.v, "io");
  const st = fromJson(toJson(a.v.getState()));
  edit(st);
  const b = guest();
  b.m.guest(domId(1)).write(0, a.m.guest(domId(1)).read(0, PAGES * 4096));
  b.v.setState(st);
  runTo(b.v, "hlt");
  return b.m.guest(domId(1)).read(OUT, 0x130);
}

describe("FP state in VcpuState (save/restore, migration)", () => {
  it("a guest saved with live XMM, MXCSR and x87 values continues on another machine with the same values", () => {
    const ref = guest();
    runTo(ref.v, "io");
    const st = ref.v.getState();
    expect(st.fpu!.mxcsr).toBe(0x5f80);
    expect(st.fpu!.fcw).toBe(0x077f);
    expect((st.fpu!.fsw >> 11) & 7).toBe(5); // three values pushed
    runTo(ref.v, "hlt");
    const want = ref.m.guest(domId(1)).read(OUT, 0x130);
    expect(Buffer.from(migrated())).toEqual(Buffer.from(want));
    // The test can fail: without the FPU part the new vCPU starts from the reset FPU state.
    expect(Buffer.from(migrated((s) => delete s.fpu))).not.toEqual(Buffer.from(want));
  });

  it("a malformed FPU state is refused, naming the field, and leaves the vCPU unchanged", () => {
    const { v } = guest();
    runTo(v, "io");
    const good = v.getState();
    const other = guest().v;
    const before = toJson(other.getState());
    const bad = (f: Partial<NonNullable<VcpuState["fpu"]>>) => ({ ...good, fpu: { ...good.fpu!, ...f } });
    expect(() => other.setState(bad({ xmm: "00" }))).toThrow(/FPU state: xmm must be 512 hex digits/);
    expect(() => other.setState(bad({ st: "zz".repeat(80) }))).toThrow(/FPU state: st must be 160 hex digits/);
    expect(() => other.setState(bad({ mxcsr: 0x10000 }))).toThrow(/mxcsr 0x10000 sets reserved bits/);
    expect(() => other.setState(bad({ xcr0: 2 }))).toThrow(/xcr0 0x2 is not a valid XCR0/);
    expect(() => other.setState(bad({ fop: 0x800 }))).toThrow(MachineError);
    expect(toJson(other.getState())).toBe(before);
  });
});
