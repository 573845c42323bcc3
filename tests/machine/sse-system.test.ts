/**
 * SSE as the operating system controls it, from the SDM: CR0.TS makes SSE/FXSAVE/XSAVE raise #NM
 * (lazy FPU switching: the handler runs clts and the instruction is retried), CR0.EM or a clear
 * CR4.OSFXSR makes SSE #UD, the XSAVE family needs CR4.OSXSAVE, XSETBV validates XCR0, and CPUID
 * describes exactly x87+SSE XSAVE state (Vol. 3A §2.5, §13.1.3; Vol. 1 ch. 13; Vol. 2 CPUID,
 * XSETBV, FXSAVE).
 */
import { describe, expect, it } from "vitest";
import { CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXSAVE } from "../../src/machine";
import { architecturalCpuid } from "../../src/machine/cpu-features";
import { runTo, sysGuest } from "./helpers";

/** Sets CR4.OSXSAVE (the OS enabling the XSAVE feature set). */
const OSXSAVE_ON = `
      mov rax, cr4
      or eax, ${CR4_OSXSAVE}
      mov cr4, rax
`;

/** Handlers: #UD → rbx=6, #NM → count in r12 then clts and retry, #GP → rbx=13. */
const HANDLERS = `
vec_6:
  mov ebx, 6
  hlt
vec_7:
  inc r12
  clts
  iretq
vec_13:
  mov ebx, 13
  hlt
`;

describe("SSE under the operating system's control", () => {
  it("CR0.TS: the first SSE instruction raises #NM; after clts in the handler it is retried and completes", () => {
    const { v } = sysGuest(`start:
      mov rax, cr0
      or eax, ${CR0_TS}
      mov cr0, rax
      mov eax, 0x12345678
      movd xmm1, eax
      pshufd xmm1, xmm1, 0
      movq rcx, xmm1
      hlt
${HANDLERS}`);
    runTo(v, "hlt");
    expect(v.getReg("r12")).toBe(1n); // one #NM, then TS is clear
    expect(v.getReg("rcx")).toBe(0x1234567812345678n);
    expect(v.cr0 & CR0_TS).toBe(0);
  });

  it("CR0.TS: FXSAVE and XSAVE also raise #NM", () => {
    const { v } = sysGuest(`start:
${OSXSAVE_ON}      mov rax, cr0
      or eax, ${CR0_TS}
      mov cr0, rax
      fxsave64 [0x500000]
      mov rax, cr0
      or eax, ${CR0_TS}
      mov cr0, rax
      mov eax, 3
      xor edx, edx
      xsave64 [0x500000]
      hlt
${HANDLERS}`);
    runTo(v, "hlt");
    expect(v.getReg("r12")).toBe(2n);
  });

  it("CR0.EM makes SSE #UD (not #NM)", () => {
    const { v } = sysGuest(`start:
      mov rax, cr0
      or eax, ${CR0_EM}
      mov cr0, rax
      pxor xmm0, xmm0
      hlt
${HANDLERS}`);
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(6n);
  });

  it("CR4.OSFXSR clear makes SSE #UD", () => {
    const { v } = sysGuest(`start:
      mov rax, cr4
      and eax, ~${CR4_OSFXSR}
      mov cr4, rax
      movdqa xmm0, xmm1
      hlt
${HANDLERS}`);
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(6n);
  });

  it("XGETBV without CR4.OSXSAVE is #UD", () => {
    const { v } = sysGuest(`start:\n xor ecx, ecx\n xgetbv\n hlt\n${HANDLERS}`);
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(6n);
  });

  it("XSETBV sets XCR0 to x87|SSE and XGETBV reads it back; XCR0 without x87, AVX, or XCR1 are #GP", () => {
    const start = `start:
${OSXSAVE_ON}      xor ecx, ecx
      xor edx, edx
      mov eax, 3
      xsetbv
      xor eax, eax
      xgetbv
      mov r13, rax
      hlt`;
    const ok = sysGuest(`${start}\n${HANDLERS}`);
    runTo(ok.v, "hlt");
    expect(ok.v.getReg("r13")).toBe(3n);
    expect(ok.v.xcr0).toBe(3);
    for (const [eax, ecx] of [[2, 0], [7, 0], [1, 1]]) {
      const bad = sysGuest(`start:
${OSXSAVE_ON}        xor edx, edx
        mov ecx, ${ecx}
        mov eax, ${eax}
        xsetbv
        hlt
${HANDLERS}`);
      runTo(bad.v, "hlt");
      expect(bad.v.getReg("rbx"), `xsetbv eax=${eax} ecx=${ecx}`).toBe(13n);
      expect(bad.v.xcr0).toBe(1);
    }
  });

  it("LDMXCSR with a bit outside MXCSR_MASK (0xffff) is #GP; STMXCSR reads back what LDMXCSR loaded", () => {
    const { v } = sysGuest(`start:
      mov dword [0x500000], 0x7f80
      ldmxcsr [0x500000]
      stmxcsr [0x500004]
      mov r13d, [0x500004]
      mov dword [0x500000], 0x11f80
      ldmxcsr [0x500000]
      hlt
${HANDLERS}`);
    runTo(v, "hlt");
    expect(v.getReg("r13")).toBe(0x7f80n);
    expect(v.getReg("rbx")).toBe(13n);
    expect(v.mxcsr).toBe(0x7f80);
  });
});

describe("SIMD floating-point exceptions (SDM Vol. 1 §11.5.2, Vol. 3A §2.5 CR4.OSXMMEXCPT)", () => {
  const divByZero = (cr4: string) => sysGuest(`start:
      ${cr4}
      mov dword [0x500000], 0x1d80   ; MXCSR: ZM clear, everything else masked
      ldmxcsr [0x500000]
      mov eax, 0x3f800000
      movd xmm1, eax                 ; 1.0f
      pxor xmm2, xmm2                ; 0.0f
      divss xmm1, xmm2
      mov ebx, 99
      hlt
vec_6:
  mov ebx, 6
  hlt
vec_19:
  mov ebx, 19
  hlt
`);
  it("an unmasked divide-by-zero raises #XM with CR4.OSXMMEXCPT: destination unchanged, MXCSR.ZE set", () => {
    const { v } = divByZero("");
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(19n);
    expect(v.xmm[4]).toBe(0x3f800000);
    expect(v.mxcsr & 0x3f).toBe(4);
  });
  it("the same without CR4.OSXMMEXCPT is #UD", () => {
    const { v } = divByZero("mov rax, cr4\n and eax, ~0x400\n mov cr4, rax");
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(6n);
  });
});

describe("CPUID describes the XSAVE state that exists", () => {
  const t = { apicId: 0, nrVcpus: 1 };
  it("leaf 1: FXSR, SSE, SSE2 in EDX; XSAVE in ECX; OSXSAVE copies CR4.OSXSAVE", () => {
    const [, , ecx, edx] = architecturalCpuid(1, 0, t);
    expect(edx & ((1 << 24) | (1 << 25) | (1 << 26))).toBe((1 << 24) | (1 << 25) | (1 << 26));
    expect(ecx & (1 << 26)).toBe(1 << 26);
    expect(ecx & (1 << 28)).toBe(0); // no AVX
    const { v } = sysGuest(`start:
      mov eax, 1
      cpuid
      mov r13, rcx
${OSXSAVE_ON}      mov eax, 1
      cpuid
      mov r14, rcx
      hlt`);
    for (let k = 0; k < 2; k++) {
      const x = runTo(v, "cpuid");
      if (x.kind === "cpuid") v.completeCpuid(...architecturalCpuid(x.leaf, x.subleaf, t));
    }
    runTo(v, "hlt");
    expect(v.getReg("r13") & (1n << 27n)).toBe(0n);
    expect(v.getReg("r14") & (1n << 27n)).toBe(1n << 27n);
  });

  it("leaf 0xD: XCR0 may hold x87|SSE; 576-byte area (512 legacy + 64 header); XSAVEOPT and XSAVEC, no XSAVES", () => {
    expect(architecturalCpuid(0xd, 0, t)).toEqual([3, 576, 576, 0]);
    expect(architecturalCpuid(0xd, 1, t)).toEqual([3, 576, 0, 0]);
    expect(architecturalCpuid(0xd, 2, t)).toEqual([0, 0, 0, 0]);
  });
});

describe("views of SSE state", () => {
  it("the registers view shows MXCSR decoded and XMM0-15 once SSE is used; the disassembly names SSE instructions", () => {
    const { v } = sysGuest(`start:
      mov eax, 0x3f800000
      movd xmm1, eax
      pshufd xmm1, xmm1, 0
      pcmpeqd xmm15, xmm15
      mov dword [0x500000], 0x3d80
      ldmxcsr [0x500000]
      hlt`);
    expect(v.toMimeBundle()["text/plain"]).not.toMatch(/^mxcsr/m); // reset state: not shown
    runTo(v, "hlt");
    const text = v.toMimeBundle()["text/plain"];
    expect(text).toMatch(/mxcsr 00003d80 \[flags -; unmasked ZM; rc down\]/);
    expect(text).toMatch(/xmm0 00000000_00000000_00000000_00000000 +xmm1 3f800000_3f800000_3f800000_3f800000/);
    expect(text).toMatch(/xmm15 ffffffff_ffffffff_ffffffff_ffffffff/);
    const dis = v.disassemblyView(16)["text/plain"];
    expect(dis).toMatch(/pcmpeqd xmm15, ?xmm15/);
    expect(dis).toMatch(/ldmxcsr/);
  });
});
