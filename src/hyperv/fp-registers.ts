/**
 * The floating-point and vector registers of HvGetVpRegisters / HvSetVpRegisters (TLFS "Virtual
 * Processor Register Names" and "Floating Point Registers"; numbers and layouts as in Linux's
 * include/hyperv/hvgdk_mini.h enum hv_register_name and hvhdk.h): every value is 128 bits.
 *
 * - HvX64RegisterXmm0..15: the register.
 * - HvX64RegisterFpMmx0..7 (hv_x64_fp_register): ST(i) / MMi as FXSAVE stores slot i: the 64-bit
 *   mantissa, then biased exponent (15 bits) and sign; bits 127:80 are reserved (zero).
 * - HvX64RegisterFpControlStatus (hv_x64_fp_control_status_register): FCW u16, FSW u16, the
 *   abridged tag byte, a reserved byte, the last x87 opcode u16, then the last instruction
 *   pointer: a 64-bit RIP in long mode, else EIP u32 and CS u16.
 * - HvX64RegisterXmmControlStatus (hv_x64_xmm_control_status_register): the last data pointer
 *   (64-bit RDP in long mode, else DP u32 and DS u16), MXCSR u32 and MXCSR_MASK u32.
 *
 * These are bytes 0..31 and 32+16i / 160+16i of the FXSAVE image (FXSAVE64's in 64-bit mode),
 * and a write loads them as FXRSTOR would: FCW bit 6 reads 1 and bits 15:13 read 0, FSW.ES/B
 * follow the unmasked flags, the abridged tags are expanded from the registers' contents,
 * MXCSR_MASK is the processor's and is not written. What FXRSTOR would refuse (reserved MXCSR
 * bits) or cannot express here (a reserved byte or reserved mantissa bits set; a pointer past
 * 2^53, which this model keeps as a JS number) is HV_STATUS_INVALID_PARAMETER, with nothing
 * changed.
 */
import { abridgedTag, MXCSR_MASK, tagOf, Vcpu } from "../machine";
import { HV_REG } from "./tlfs";

export type Reg128 = { low: bigint; high: bigint };

const M32 = 0xffffffffn;
const fcwOf = (v: number) => (v & 0x1f7f) | 0x40;
const fswOf = (v: number, fcw: number) => ((v & 0x7f7f & ~fcw & 0x3f) !== 0 ? (v & 0x7f7f) | 0x8080 : v & 0x7f7f);
const physical = (c: Vcpu, i: number) => (((c.fsw >> 11) & 7) + i) & 7;

/** The register's value, or undefined when `name` is not one of these. */
export function getFpRegister(c: Vcpu, name: number): Reg128 | undefined {
  if (name >= HV_REG.XMM0 && name <= HV_REG.XMM15) {
    const x = c.xmm, o = (name - HV_REG.XMM0) * 4;
    return { low: (BigInt(x[o + 1]! >>> 0) << 32n) | BigInt(x[o]! >>> 0), high: (BigInt(x[o + 3]! >>> 0) << 32n) | BigInt(x[o + 2]! >>> 0) };
  }
  if (name >= HV_REG.FP_MMX0 && name <= HV_REG.FP_MMX7) {
    const w = c.fpr, o = physical(c, name - HV_REG.FP_MMX0) * 5;
    let low = 0n;
    for (let k = 3; k >= 0; k--) low = (low << 16n) | BigInt(w[o + k]!);
    return { low, high: BigInt(w[o + 4]!) };
  }
  if (name === HV_REG.FP_CONTROL_STATUS) {
    const low = BigInt(c.fcw) | (BigInt(c.fsw) << 16n) | (BigInt(abridgedTag(c.ftw)) << 32n) | (BigInt(c.fop87 & 0x7ff) << 48n);
    const high = c.mode64 ? BigInt(c.fip) : (BigInt(c.fip) & M32) | (BigInt(c.fcs & 0xffff) << 32n);
    return { low, high };
  }
  if (name === HV_REG.XMM_CONTROL_STATUS) {
    const low = c.mode64 ? BigInt(c.fdp) : (BigInt(c.fdp) & M32) | (BigInt(c.fds & 0xffff) << 32n);
    return { low, high: BigInt(c.mxcsr >>> 0) | (BigInt(MXCSR_MASK) << 32n) };
  }
  return undefined;
}

/** "ok", "invalid" (a value the register cannot hold; nothing changed) or "unknown" (not one of these names). */
export function setFpRegister(c: Vcpu, name: number, low: bigint, high: bigint): "ok" | "invalid" | "unknown" {
  if (name >= HV_REG.XMM0 && name <= HV_REG.XMM15) {
    const x = c.xmm, o = (name - HV_REG.XMM0) * 4;
    x[o] = Number(low & M32) | 0; x[o + 1] = Number(low >> 32n) | 0;
    x[o + 2] = Number(high & M32) | 0; x[o + 3] = Number(high >> 32n) | 0;
    return "ok";
  }
  if (name >= HV_REG.FP_MMX0 && name <= HV_REG.FP_MMX7) {
    if (high >> 16n !== 0n) return "invalid";
    const r = physical(c, name - HV_REG.FP_MMX0), w = c.fpr;
    for (let k = 0; k < 4; k++) w[r * 5 + k] = Number((low >> BigInt(16 * k)) & 0xffffn);
    w[r * 5 + 4] = Number(high);
    // A register tagged valid/zero/special keeps a tag that matches its new contents.
    if (((c.ftw >> (2 * r)) & 3) !== 3) c.ftw = (c.ftw & ~(3 << (2 * r))) | (tagOf(c, r) << (2 * r));
    return "ok";
  }
  if (name === HV_REG.FP_CONTROL_STATUS) {
    if (((low >> 40n) & 0xffn) !== 0n) return "invalid";
    const ip = c.mode64 ? high : high & M32;
    if (ip > BigInt(Number.MAX_SAFE_INTEGER)) return "invalid";
    const fcw = fcwOf(Number(low & 0xffffn));
    // FpMmx i is slot i of the image, ST(i) under the TOP that comes with it: a new TOP keeps
    // each slot's contents (whichever order the names come in, as one FXRSTOR would).
    const slots = Array.from({ length: 8 }, (_, i) => c.fpr.slice(physical(c, i) * 5, physical(c, i) * 5 + 5));
    c.fcw = fcw;
    c.fsw = fswOf(Number((low >> 16n) & 0xffffn), fcw);
    slots.forEach((v, i) => c.fpr.set(v, physical(c, i) * 5));
    const tags = Number((low >> 32n) & 0xffn);
    let ftw = 0;
    for (let i = 0; i < 8; i++) ftw |= ((tags >> i) & 1 ? tagOf(c, i) : 3) << (2 * i);
    c.ftw = ftw;
    c.fop87 = Number((low >> 48n) & 0x7ffn);
    c.fip = Number(ip);
    c.fcs = c.mode64 ? 0 : Number((high >> 32n) & 0xffffn);
    return "ok";
  }
  if (name === HV_REG.XMM_CONTROL_STATUS) {
    const mxcsr = Number(high & M32);
    const dp = c.mode64 ? low : low & M32;
    if ((mxcsr & ~MXCSR_MASK) !== 0 || dp > BigInt(Number.MAX_SAFE_INTEGER)) return "invalid";
    c.mxcsr = mxcsr;
    c.fdp = Number(dp);
    c.fds = c.mode64 ? 0 : Number((low >> 32n) & 0xffffn);
    return "ok";
  }
  return "unknown";
}
