/**
 * x87 exceptions and lazy FPU switching as the SDM states them (Vol. 3A §2.5 Table 2-2, §6.15
 * #NM/#MF; Vol. 1 §8.6-8.7): CR0.EM or CR0.TS makes every x87 instruction #NM, wait/fwait only
 * with CR0.MP and TS; an unmasked exception sets FSW.ES/B and is reported as #MF (CR0.NE=1) by the
 * NEXT waiting instruction, not by the one that caused it and not by the no-wait control ones.
 */
import { describe, expect, it } from "vitest";
import { sysGuest } from "./helpers";

function run(v: ReturnType<typeof sysGuest>["v"]) {
  const x = v.run(10_000);
  expect(x.kind, v.trace.recentEvents().map((e) => e.text).join("; ")).toBe("hlt");
}

describe("#NM: CR0.TS / CR0.EM / CR0.MP", () => {
  it("lazy FPU switching: fld1 with TS faults #NM at fld1; the handler's clts lets it re-run", () => {
    const { v, at } = sysGuest(`start:
      mov rax, cr0
      or rax, 8            ; TS
      mov cr0, rax
      xor r13, r13
    first:
      fld1
      fstp qword [rel out]
      hlt
    vec_7:
      inc r13
      mov r14, [rsp]       ; the faulting RIP
      clts
      iretq
    out: dq 0`);
    run(v);
    expect(v.getReg("r13")).toBe(1n);
    expect(v.getReg("r14")).toBe(BigInt(at("first")));
    expect(v.readVirtU64(at("out"))).toBe(0x3ff0000000000000n); // 1.0
    expect(v.cr0 & 8).toBe(0);
  });

  it("CR0.EM: fninit (a no-wait control instruction too) is #NM", () => {
    const { v, at } = sysGuest(`start:
      mov rax, cr0
      or rax, 4            ; EM
      mov cr0, rax
      xor r13, r13
    here:
      fninit
      hlt
    vec_7:
      mov r14, [rsp]
      mov r13, 7
      hlt`);
    run(v);
    expect(v.getReg("r13")).toBe(7n);
    expect(v.getReg("r14")).toBe(BigInt(at("here")));
  });

  it("wait faults only with MP and TS both set", () => {
    const { v, at } = sysGuest(`start:
      mov rax, cr0
      and rax, ~2          ; MP=0
      or rax, 8            ; TS=1
      mov cr0, rax
      wait                 ; no #NM: MP is clear
      mov r12, 1
      or rax, 2            ; MP=1
      mov cr0, rax
    second:
      wait
      hlt
    vec_7:
      mov r14, [rsp]
      mov r13, 7
      hlt`);
    run(v);
    expect(v.getReg("r12")).toBe(1n);
    expect(v.getReg("r13")).toBe(7n);
    expect(v.getReg("r14")).toBe(BigInt(at("second")));
  });
});

describe("#MF: pending unmasked exceptions", () => {
  it("1/0 with ZE unmasked sets ES/B; no-wait fnstsw sees it; the next waiting instruction is #MF", () => {
    const { v, at } = sysGuest(`start:
      fninit
      fldcw [rel cw]
      fld1
      fldz
      fdivp st1, st0       ; ZE unmasked: destination and stack left as they were
      fnstsw ax            ; no-wait: no #MF
      mov r12, rax
      fnstcw [rel cwout]   ; no-wait either
    waiting:
      fld1
      fnstsw ax
      mov r11, rax
      hlt
    vec_16:
      mov r14, [rsp]
      inc r13
      fnclex               ; the handler clears the flags: the fld1 then runs
      iretq
    cw: dw 0x037b
    cwout: dw 0`);
    v.setReg("r13", 0);
    run(v);
    const sw = Number(v.getReg("r12") & 0xffffn);
    expect(sw & 0x8080).toBe(0x8080); // B and ES
    expect(sw & 0x3f).toBe(0x04); // ZE
    expect((sw >> 11) & 7).toBe(6); // two pushes, no pop
    expect(v.getReg("r13")).toBe(1n);
    expect(v.getReg("r14")).toBe(BigInt(at("waiting")));
    const after = Number(v.getReg("r11") & 0xffffn);
    expect(after & 0x80ff).toBe(0); // cleared by fnclex; fld1 succeeded
    expect((after >> 11) & 7).toBe(5);
    expect(v.fpu.st(0)).toEqual({ s: 0, e: 0x3fff, m: 1n << 63n });
  });

  it("fnsave stores the 108-byte image and reinitialises; frstor brings the stack back", () => {
    const { v, at } = sysGuest(`start:
      fninit
      fldpi
      fld1
      fnsave [rel img]
      fnstsw ax            ; after fnsave: FNINIT state
      mov r12, rax
      frstor [rel img]
      fstp tword [rel t1]
      fstp tword [rel t2]
      hlt
    img: times 108 db 0
    t1: dt 0.0
    t2: dt 0.0`);
    run(v);
    const img = v.readVirt(at("img"), 108);
    const dv = new DataView(img.buffer, img.byteOffset);
    expect(dv.getUint16(0, true)).toBe(0x037f); // FCW
    expect((dv.getUint16(4, true) >> 11) & 7).toBe(6); // TOP
    expect(dv.getUint16(8, true)).toBe(0x0fff); // R7 (pi) and R6 (1.0) valid, others empty
    expect(Buffer.from(img.subarray(28, 38)).toString("hex")).toBe("0000000000000080ff3f"); // ST(0) = 1.0
    expect(Buffer.from(img.subarray(38, 48)).toString("hex")).toBe("35c26821a2da0fc90040"); // ST(1) = pi (rounded to nearest)
    expect(v.getReg("r12") & 0xffffn).toBe(0n);
    expect(Buffer.from(v.readVirt(at("t2"), 10)).toString("hex")).toBe("35c26821a2da0fc90040");
    expect(v.ftw).toBe(0xffff);
  });
});

describe("registers view", () => {
  it("shows the decoded control/status words and the non-empty stack registers", () => {
    const { v } = sysGuest(`start:
      fninit
      fldpi
      fld1
      fchs
      hlt`);
    const before = v.toMimeBundle()["text/plain"] as string;
    expect(before).not.toMatch(/^x87 /m); // FNINIT state, empty stack: no x87 lines
    run(v);
    const text = v.toMimeBundle()["text/plain"] as string;
    expect(text).toMatch(/^x87 fcw 037f \[RC nearest PC 64 masked IDZOUP\]  fsw 3000 \[TOP 6 - flags -\]  ftw 0fff$/m);
    expect(text).toMatch(/^st0 R6 bfff8000000000000000 -1\.0000000000000000 +valid$/m);
    expect(text).toMatch(/^st1 R7 4000c90fdaa22168c235 3\.1415926535897931 +valid$/m);
    expect(text).not.toMatch(/^st2 /m);
  });
});

