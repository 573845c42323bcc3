/**
 * HvGetVpRegisters / HvSetVpRegisters on the x87/MMX/SSE registers (TLFS "Virtual Processor
 * Register Names": HvX64RegisterXmm0-15 0x00030000.., FpMmx0-7 0x00030010.., FpControlStatus
 * 0x00030018, XmmControlStatus 0x00030019; layouts of hvhdk.h hv_x64_fp_register,
 * hv_x64_fp_control_status_register, hv_x64_xmm_control_status_register), driven from a guest
 * program through the hypercall page and from the root. The numbers are transcribed here from
 * Linux's include/hyperv/hvgdk_mini.h, independently of src/abi/hyperv-tlfs.ts. Reads are checked
 * against the guest's own FXSAVE64 image (whose layout the SSE differential test checks against
 * the host CPU) and against values known from the program; writes by what the guest then
 * computes with them.
 */
import { describe, expect, it } from "vitest";
import { HV_REG, HV_STATUS, HVCALL, HypervHost, decodeResult, encodeInput } from "../../src/hyperv";
import { ENABLE_HYPERCALLS, nasm } from "./helpers";

/** hvgdk_mini.h enum hv_register_name. */
const LINUX = {
  HV_X64_REGISTER_XMM0: 0x00030000, HV_X64_REGISTER_XMM15: 0x0003000f, HV_X64_REGISTER_FP_MMX0: 0x00030010,
  HV_X64_REGISTER_FP_MMX7: 0x00030017, HV_X64_REGISTER_FP_CONTROL_STATUS: 0x00030018, HV_X64_REGISTER_XMM_CONTROL_STATUS: 0x00030019,
};
const XMM = (i: number) => LINUX.HV_X64_REGISTER_XMM0 + i, MMX = (i: number) => LINUX.HV_X64_REGISTER_FP_MMX0 + i;
const ALL = [...Array.from({ length: 16 }, (_, i) => XMM(i)), ...Array.from({ length: 8 }, (_, i) => MMX(i)), LINUX.HV_X64_REGISTER_FP_CONTROL_STATUS, LINUX.HV_X64_REGISTER_XMM_CONTROL_STATUS];

/** The child starts with CR4 = PAE only: like an OS, the program enables FXSR/SSE (CR4.OSFXSR, OSXMMEXCPT) first. */
const ENABLE_SSE = "mov rax, cr4\nor eax, 0x600\nmov cr4, rax";

function run(src: string) {
  const h = new HypervHost();
  const p = h.createChild({ name: "fp", memoryMiB: 4, code: nasm(`${ENABLE_SSE}\n${src}`) });
  h.run({ maxInstructions: 1_000_000 });
  return { h, p };
}

/** hv_input_get_vp_registers for the caller itself: partition self, VP self, VTL 0, then the names. */
function getInput(at: number, names: number[]): string {
  return [`mov rdi, ${at}`, "mov rax, -1", "mov [rdi], rax", "mov dword [rdi+8], 0xfffffffe", "mov dword [rdi+12], 0",
    ...names.map((n, i) => `mov dword [rdi+${16 + 4 * i}], ${n}`)].join("\n");
}
/** hv_input_set_vp_registers: the header, then hv_register_assoc {name u32, rsvd u32, rsvd u64, value u128}. */
function setInput(at: number, regs: [number, bigint, bigint][]): string {
  const lines = [`mov rdi, ${at}`, "mov rax, -1", "mov [rdi], rax", "mov dword [rdi+8], 0xfffffffe", "mov dword [rdi+12], 0"];
  regs.forEach(([name, low, high], i) => {
    const e = 16 + 32 * i;
    lines.push(`mov dword [rdi+${e}], ${name}`, `mov dword [rdi+${e + 4}], 0`, `mov qword [rdi+${e + 8}], 0`,
      `mov rax, ${low}`, `mov [rdi+${e + 16}], rax`, `mov rax, ${high}`, `mov [rdi+${e + 24}], rax`);
  });
  return lines.join("\n");
}
const call = (code: number, reps: number, statusAt: number) =>
  `mov rcx, ${encodeInput({ code, repCount: reps })}\nmov rdx, 0x4000\nmov r8, 0x6000\ncall 0x3000\nmov [${statusAt}], rax`;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("Hyper-V VP registers for the FP state (TLFS register names)", () => {
  it("the names are hvgdk_mini.h's", () => {
    expect([HV_REG.XMM0, HV_REG.XMM15, HV_REG.FP_MMX0, HV_REG.FP_MMX7, HV_REG.FP_CONTROL_STATUS, HV_REG.XMM_CONTROL_STATUS])
      .toEqual([LINUX.HV_X64_REGISTER_XMM0, LINUX.HV_X64_REGISTER_XMM15, LINUX.HV_X64_REGISTER_FP_MMX0, LINUX.HV_X64_REGISTER_FP_MMX7, LINUX.HV_X64_REGISTER_FP_CONTROL_STATUS, LINUX.HV_X64_REGISTER_XMM_CONTROL_STATUS]);
  });

  it("a guest reads its XMM0-15, FpMmx0-7, FpControlStatus and XmmControlStatus: its own FXSAVE64 image, field by field", () => {
    const xmmLoads = Array.from({ length: 16 }, (_, i) => `movdqu xmm${i}, [rel data+${16 * i}]`).join("\n");
    const { p } = run(`${ENABLE_HYPERCALLS}
      ${xmmLoads}
      ldmxcsr [rel mx]
      fninit
      fldcw [rel cw]
      fldpi
      fld1
      fdiv st0, st1
      fld tword [rel ten]
      ${getInput(0x4000, ALL)}
      fxsave64 [0x7000]
      ${call(HVCALL.GET_VP_REGISTERS, ALL.length, 0x5000)}
      hlt
      align 16
      data: times 64 dq 0x0123456789abcdef ^ ($ - data) * 0x9e3779b97f4a7c15
      mx: dd 0x5f80 | 0x21
      cw: dw 0x0f7f
      ten: dt 10.0`);
    expect(decodeResult(p.memory.u64(0x5000))).toMatchObject({ status: HV_STATUS.SUCCESS, repsCompleted: ALL.length });
    const out = p.memory.read(0x6000, ALL.length * 16), fx = p.memory.read(0x7000, 512);
    const reg = (k: number) => out.subarray(16 * k, 16 * k + 16);
    for (let i = 0; i < 16; i++) expect(hex(reg(i)), `Xmm${i}`).toBe(hex(fx.subarray(160 + 16 * i, 176 + 16 * i)));
    for (let i = 0; i < 8; i++) expect(hex(reg(16 + i)), `FpMmx${i}`).toBe(hex(fx.subarray(32 + 16 * i, 48 + 16 * i)));
    expect(hex(reg(24)), "FpControlStatus").toBe(hex(fx.subarray(0, 16)));
    expect(hex(reg(25)), "XmmControlStatus").toBe(hex(fx.subarray(16, 32)));
    // And what the program put there: ST(0) = 10.0 (mantissa 0xa000..., exponent 0x4002), ST(1)
    // = 1/pi, FCW as loaded, three registers in use, MXCSR with its PE flag and the mask 0xffff.
    const dv = new DataView(out.buffer, out.byteOffset);
    expect([dv.getBigUint64(16 * 16, true), dv.getUint16(16 * 16 + 8, true)]).toEqual([0xa000000000000000n, 0x4002]);
    expect(dv.getUint16(16 * 17 + 8, true)).toBe(0x3ffd); // 1/pi is in [1/4, 1/2)
    expect(dv.getUint16(16 * 24, true)).toBe(0x0f7f);
    expect((dv.getUint16(16 * 24 + 2, true) >> 11) & 7).toBe(5); // three pushes from TOP 0
    expect(dv.getUint8(16 * 24 + 4)).toBe(0b11100000); // abridged tags of R5, R6, R7
    expect([dv.getUint32(16 * 25 + 8, true), dv.getUint32(16 * 25 + 12, true)]).toEqual([0x5fa1, 0xffff]);
    expect(dv.getBigUint64(16 * 25, true)).toBe(BigInt(p.memory.u64(0x7010))); // FDP: the address of `ten`
  });

  it("a guest sets them and computes with what it set; values the registers cannot hold are refused and change nothing", () => {
    const three = [0xc000000000000000n, 0x4000n] as const; // 3.0 in extended precision
    const { p } = run(`${ENABLE_HYPERCALLS}
      fninit
      ${setInput(0x4000, [
        [MMX(0), three[0], three[1]],
        // FCW: RC up, extended precision, all masked; FSW: TOP = 5; tags: only R5 (= ST(0)) valid.
        [LINUX.HV_X64_REGISTER_FP_CONTROL_STATUS, 0x0b7fn | ((5n << 11n) << 16n) | (0x20n << 32n), 0n],
        [LINUX.HV_X64_REGISTER_XMM_CONTROL_STATUS, 0n, 0x5f80n], // MXCSR: RC up
        [XMM(3), 0x1122334455667788n, 0x99aabbccddeeff00n],
      ])}
      ${call(HVCALL.SET_VP_REGISTERS, 4, 0x5000)}
      fld1
      fdivrp st1, st0
      fstp qword [0x5100]
      fnstsw ax
      mov [0x5108], ax
      mov rax, 0x3ff0000000000000
      movq xmm1, rax
      mov rax, 0x4008000000000000
      movq xmm2, rax
      divsd xmm1, xmm2
      movq [0x5110], xmm1
      movdqu [0x5120], xmm3
      ${setInput(0x4000, [[LINUX.HV_X64_REGISTER_XMM_CONTROL_STATUS, 0n, 0x15f80n]])}
      ${call(HVCALL.SET_VP_REGISTERS, 1, 0x5008)}
      ${setInput(0x4000, [[MMX(2), 1n, 0x10000n]])}
      ${call(HVCALL.SET_VP_REGISTERS, 1, 0x5010)}
      ${setInput(0x4000, [[LINUX.HV_X64_REGISTER_FP_CONTROL_STATUS, 0x100n << 32n, 0n]])}
      ${call(HVCALL.SET_VP_REGISTERS, 1, 0x5018)}
      stmxcsr [0x5130]
      hlt`);
    expect(decodeResult(p.memory.u64(0x5000))).toMatchObject({ status: HV_STATUS.SUCCESS, repsCompleted: 4 });
    // ST(0) was 3.0 under the new TOP: 1/3 rounded up (FCW.RC), then to double rounded up.
    expect(p.memory.u64(0x5100)).toBe(0x3fd5555555555556n);
    expect((p.memory.u64(0x5108) >> 11n) & 7n).toBe(6n); // from TOP 5: fld1 pushes, fdivrp and fstp pop
    expect(p.memory.u64(0x5110)).toBe(0x3fd5555555555556n); // divsd under MXCSR.RC = up
    expect([p.memory.u64(0x5120), p.memory.u64(0x5128)]).toEqual([0x1122334455667788n, 0x99aabbccddeeff00n]);
    // A reserved MXCSR bit, reserved FP register bits, the reserved byte: refused, nothing changed.
    for (const at of [0x5008, 0x5010, 0x5018]) expect(decodeResult(p.memory.u64(at))).toMatchObject({ status: HV_STATUS.INVALID_PARAMETER, repsCompleted: 0 });
    expect(Number(p.memory.u64(0x5130) & 0xffffffffn) & ~0x3f).toBe(0x5f80);
    const cpu = p.vp(0).cpu;
    expect([cpu.fcw, (cpu.fsw >> 11) & 7]).toEqual([0x0b7f, 6]);
  });

  it("the root sets a child's XMM registers and MXCSR before it runs and reads the result back", () => {
    const h = new HypervHost();
    const p = h.createChild({ name: "child", memoryMiB: 4, paused: true, code: nasm("divps xmm0, xmm1\nhlt") });
    const u = (v: number[]) => v.reduce((a, x, i) => a | (BigInt(x >>> 0) << BigInt(32 * i)), 0n);
    const f = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;
    h.setVpRegisters(p.id, 0, [
      [HV_REG.CR4, 0x620n, 0n], // PAE, OSFXSR, OSXMMEXCPT: what the child's OS would have set
      [HV_REG.XMM0, u([f(1), f(2)]), u([f(-1), f(10)])],
      [HV_REG.XMM0 + 1, u([f(3), f(3)]), u([f(3), f(3)])],
      [HV_REG.XMM_CONTROL_STATUS, 0n, 0x3f80n], // RC down
      [HV_REG.EXPLICIT_SUSPEND, 0n, 0n],
    ]);
    h.run({ maxInstructions: 10_000 });
    const names = new Uint8Array(16 + 8);
    const dv = new DataView(names.buffer);
    dv.setBigUint64(0, BigInt(p.id), true); dv.setUint32(8, 0, true);
    dv.setUint32(16, HV_REG.XMM0, true); dv.setUint32(20, HV_REG.XMM_CONTROL_STATUS, true);
    const r = h.rootCall(HVCALL.GET_VP_REGISTERS, names, { reps: 2, outSize: 32 });
    expect(r.status).toBe(HV_STATUS.SUCCESS);
    const lanes = new Float32Array(r.output.buffer.slice(r.output.byteOffset, r.output.byteOffset + 16));
    // Each quotient rounded toward -inf: the float at or just below x/3.
    const down = (x: number) => { const n = Math.fround(x); return n > x ? new Float32Array(new Uint32Array([f(n) + (n > 0 ? -1 : 1)]).buffer)[0]! : n; };
    expect([...lanes]).toEqual([1, 2, -1, 10].map((x) => down(x / 3)));
    expect(lanes[0]).toBeLessThan(Math.fround(1 / 3)); // round to nearest would have given fround(1/3), above 1/3
    const mx = new DataView(r.output.buffer, r.output.byteOffset).getUint32(16 + 8, true);
    expect(mx).toBe(0x3f80 | 0x20); // PE raised by the inexact quotients
  });
});
