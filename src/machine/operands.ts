/**
 * Operands of decoded instructions as JavaScript source: register numbers and halves, sizes,
 * immediates and effective addresses (exact 64-bit arithmetic on 32-bit halves).
 */
import * as iced from "iced-x86";

const { OpKind, Register, MemorySizeExt } = iced;
const TWO32 = 4294967296;

// ---- register table ---------------------------------------------------------------------------
export interface RegInfo { r: number; s: number; h: boolean }
export const REGS = new Map<number, RegInfo>();
{
  const n8 = ["AL", "CL", "DL", "BL", "SPL", "BPL", "SIL", "DIL"];
  const n16 = ["AX", "CX", "DX", "BX", "SP", "BP", "SI", "DI"];
  const n32 = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"];
  const n64 = ["RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI"];
  const reg = Register as unknown as Record<string, number>;
  for (let i = 0; i < 16; i++) {
    const x = i - 8;
    REGS.set(reg[i < 8 ? n8[i]! : `R${i}L`]!, { r: i, s: 1, h: false });
    REGS.set(reg[i < 8 ? n16[i]! : `R${i}W`]!, { r: i, s: 2, h: false });
    REGS.set(reg[i < 8 ? n32[i]! : `R${i}D`]!, { r: i, s: 4, h: false });
    REGS.set(reg[i < 8 ? n64[i]! : `R${i}`]!, { r: i, s: 8, h: false });
    void x;
  }
  ["AH", "CH", "DH", "BH"].forEach((n, i) => REGS.set(reg[n]!, { r: i, s: 1, h: true }));
}
export const CR_REGS = new Map<number, number>();
export const DR_REGS = new Map<number, number>();
export const SEG_REGS = new Map<number, string>();
{
  const reg = Register as unknown as Record<string, number>;
  for (const n of [0, 2, 3, 4, 8]) CR_REGS.set(reg[`CR${n}`]!, n);
  for (let n = 0; n < 8; n++) DR_REGS.set(reg[`DR${n}`]!, n);
  for (const s of ["ES", "CS", "SS", "DS", "FS", "GS"]) SEG_REGS.set(reg[s]!, s.toLowerCase());
}

export type Opd =
  | { k: "r"; r: number; s: number; h: boolean }
  | { k: "m"; s: number }
  | { k: "i"; lo: number; hi: number; s: number }
  | { k: "x" }; // something else (segment/control register, branch)

export function operand(ins: iced.Instruction, n: number): Opd {
  const kind = ins.opKind(n);
  if (kind === OpKind.Register) {
    const info = REGS.get(ins.opRegister(n));
    return info ? { k: "r", ...info } : { k: "x" };
  }
  if (kind === OpKind.Memory) return { k: "m", s: MemorySizeExt.size(ins.memorySize) };
  if (kind >= OpKind.Immediate8 && kind <= OpKind.Immediate32to64) {
    const u = BigInt.asUintN(64, ins.immediate(n));
    const s = kind === OpKind.Immediate8 || kind === OpKind.Immediate8_2nd ? 1 : kind === OpKind.Immediate16 ? 2 : kind === OpKind.Immediate32 ? 4 : 8;
    return { k: "i", lo: Number(u & 0xffffffffn) | 0, hi: Number(u >> 32n) | 0, s };
  }
  return { k: "x" };
}

export function maskOf(s: number): string {
  return s === 1 ? "&255" : s === 2 ? "&65535" : "|0";
}
export function lgOf(s: number): number {
  return s === 1 ? 0 : s === 2 ? 1 : s === 4 ? 2 : 3;
}

/** Reads operand `o` at size `s` into `${v}L` (and `${v}H` for 8 bytes). Values < 4 bytes are zero-extended. */
export function rd(o: Opd, s: number, v: string): string {
  switch (o.k) {
    case "r":
      if (s === 1) return o.h ? `${v}L=(R[${o.r}]>>>8)&255;` : `${v}L=R[${o.r}]&255;`;
      if (s === 2) return `${v}L=R[${o.r}]&65535;`;
      if (s === 4) return `${v}L=R[${o.r}];`;
      return `${v}L=R[${o.r}];${v}H=H[${o.r}];`;
    case "m":
      if (s === 1) return `${v}L=c.r8(ea);`;
      if (s === 2) return `${v}L=c.r16(ea);`;
      if (s === 4) return `${v}L=c.r32(ea);`;
      return `${v}L=c.r64(ea);${v}H=c.tH;`;
    case "i":
      if (s === 8) return `${v}L=${o.lo};${v}H=${o.hi};`;
      return `${v}L=${s === 4 ? o.lo : s === 2 ? o.lo & 0xffff : o.lo & 0xff};`;
  }
  throw new Error("bad operand");
}

export function wr(o: Opd, s: number, v: string): string {
  switch (o.k) {
    case "r":
      if (s === 1) return o.h ? `R[${o.r}]=(R[${o.r}]&-65281)|((${v}L&255)<<8);` : `R[${o.r}]=(R[${o.r}]&-256)|(${v}L&255);`;
      if (s === 2) return `R[${o.r}]=(R[${o.r}]&-65536)|(${v}L&65535);`;
      if (s === 4) return `R[${o.r}]=${v}L;H[${o.r}]=0;`;
      return `R[${o.r}]=${v}L;H[${o.r}]=${v}H;`;
    case "m":
      if (s === 1) return `c.w8(ea,${v}L);`;
      if (s === 2) return `c.w16(ea,${v}L);`;
      if (s === 4) return `c.w32(ea,${v}L);`;
      return `c.w64(ea,${v}L,${v}H);`;
  }
  throw new Error("bad operand");
}

/** Splits a JS number address into its 64-bit halves as source text. */
export function lit64(a: number): [number, number] {
  const b = BigInt.asUintN(64, BigInt(a));
  return [Number(b & 0xffffffffn) | 0, Number(b >> 32n) | 0];
}

export function gvaOf(b: bigint): number {
  return Number(BigInt.asIntN(64, b));
}

/**
 * Effective address expression. 64-bit addressing with an index is done on halves so it is exact
 * for any register values (lea is also used for arithmetic on full 64-bit values).
 */
export function eaExpr(ins: iced.Instruction, m64: boolean, forLea = false, code16 = false): { code: string; a32: boolean } {
  const base = ins.memoryBase, index = ins.memoryIndex, scale = ins.memoryIndexScale;
  const disp = ins.memoryDisplacement;
  const seg = ins.memorySegment;
  // In 64-bit mode only FS and GS have a base; elsewhere every segment's cached base is added
  // (segcache.ts), so real-mode segment:offset and based protected-mode segments both work.
  const segAdd = seg === Register.FS ? "+c.fsBase" : seg === Register.GS ? "+c.gsBase"
    : m64 ? "" : seg === Register.ES ? "+c.esBase" : seg === Register.CS ? "+c.csBase" : seg === Register.SS ? "+c.ssBase" : "+c.dsBase";
  const useSeg = !forLea && segAdd !== "";
  if (base === Register.RIP || base === Register.EIP) {
    const a = base === Register.RIP ? gvaOf(disp) : Number(disp & 0xffffffffn);
    if (!useSeg) return { code: `${a}`, a32: base === Register.EIP };
    return { code: m64 ? `c.cn(${a}${segAdd})` : `((${a}${segAdd})>>>0)`, a32: !m64 };
  }
  const bi = base === Register.None ? undefined : REGS.get(base);
  const xi = index === Register.None ? undefined : REGS.get(index);
  const regSize = bi?.s ?? xi?.s ?? (m64 ? 8 : 4);
  if (regSize === 8) {
    const d = gvaOf(disp);
    let code: string;
    if (xi === undefined) {
      code = bi === undefined ? `${d}` : `H[${bi.r}]*${TWO32}+(R[${bi.r}]>>>0)${d ? `+(${d})` : ""}`;
    } else {
      const [dl, dh] = lit64(d);
      const bl = bi ? `(R[${bi.r}]>>>0)+` : "";
      const bh = bi ? `H[${bi.r}]+` : "";
      code = `(t=${bl}(R[${xi.r}]>>>0)*${scale}+${dl >>> 0},((${bh}H[${xi.r}]*${scale}+${dh}+Math.floor(t/${TWO32}))|0)*${TWO32}+(t>>>0))`;
    }
    if (forLea) return { code, a32: false };
    // RSP/RBP-based operands are SS-relative: a non-canonical one is #SS(0) (SDM Vol. 3A §6.15).
    return { code: `${seg === Register.SS ? "c.cnss" : "c.cn"}(${code}${segAdd})`, a32: false };
  }
  // 16-bit addressing (16-bit code, or a 0x67 prefix in 32-bit code): the offset wraps at 64 KiB
  // before the segment base is added (SDM Vol. 2A §2.1.5, Table 2-1).
  if (regSize === 2 || (bi === undefined && xi === undefined && ins.memoryDisplSize === 2)) {
    const parts: string[] = [];
    if (bi) parts.push(`R[${bi.r}]`);
    if (xi) parts.push(`R[${xi.r}]`);
    parts.push(`${Number(disp & 0xffffn)}`);
    const off = `((${parts.join("+")})&65535)`;
    return { code: useSeg ? `((${off}${segAdd})>>>0)` : off, a32: true };
  }
  // 32-bit addressing (32-bit mode, or a 0x67 prefix in 64-bit mode): wraps at 4 GiB.
  const d = Number(BigInt.asIntN(32, disp & 0xffffffffn));
  const parts: string[] = [];
  if (bi) parts.push(`R[${bi.r}]`);
  if (xi) parts.push(`R[${xi.r}]*${scale}`);
  parts.push(`(${d})`);
  // In 16-bit code a 32-bit offset can pass the segment limit: real mode's 64 KiB (#GP, or #SS
  // for SS) unless protected mode left a bigger one behind (unreal mode, SDM Vol. 3A §20.1.1).
  if (code16 && useSeg) {
    const si = seg === Register.ES ? 0 : seg === Register.CS ? 1 : seg === Register.SS ? 2 : seg === Register.FS ? 4 : seg === Register.GS ? 5 : 3;
    const sz = Math.max(1, MemorySizeExt.size(ins.memorySize));
    return { code: `c.segEa(${si},(${parts.join("+")})>>>0,${sz})`, a32: true };
  }
  return { code: `((${parts.join("+")}${useSeg ? segAdd : ""})>>>0)`, a32: true };
}

/** Condition code 0..15 of a jcc/setcc/cmovcc from iced's ConditionCode (None = 0). */
export function ccOf(ins: iced.Instruction): number {
  return ins.conditionCode - 1;
}

export function branchTarget(ins: iced.Instruction): number {
  const k = ins.op0Kind;
  if (k === OpKind.NearBranch64) return gvaOf(ins.nearBranch64);
  if (k === OpKind.NearBranch32) return ins.nearBranch32 >>> 0;
  return ins.nearBranch16;
}

/** lea: the address arithmetic on 32-bit halves, exact for any register values. */
export function leaCode(ins: iced.Instruction, m64: boolean): string {
  const base = ins.memoryBase, index = ins.memoryIndex, scale = ins.memoryIndexScale;
  const disp = ins.memoryDisplacement;
  if (base === Register.RIP || base === Register.EIP) {
    const [l, h] = lit64(base === Register.RIP ? gvaOf(disp) : Number(disp & 0xffffffffn));
    return `aL=${l};aH=${base === Register.EIP ? 0 : h};`;
  }
  const bi = base === Register.None ? undefined : REGS.get(base);
  const xi = index === Register.None ? undefined : REGS.get(index);
  const regSize = bi?.s ?? xi?.s ?? (m64 ? 8 : 4);
  const [dl, dh] = regSize === 8 ? lit64(gvaOf(disp)) : [Number(disp & 0xffffffffn) | 0, 0];
  const lo = [bi ? `(R[${bi.r}]>>>0)` : "", xi ? `(R[${xi.r}]>>>0)*${scale}` : "", `${dl >>> 0}`].filter(Boolean).join("+");
  // 16-bit addressing: the address is 16 bits (lea eax,[bx+si] zero-extends it).
  if (regSize === 2 || (bi === undefined && xi === undefined && ins.memoryDisplSize === 2)) return `aL=(${lo})&65535;aH=0;`;
  if (regSize !== 8) return `aL=(${lo})|0;aH=0;`;
  const hi = [bi ? `H[${bi.r}]` : "", xi ? `H[${xi.r}]*${scale}` : "", `${dh}`].filter(Boolean).join("+");
  return `t=${lo};aL=t|0;aH=(${hi}+Math.floor(t/${TWO32}))|0;`;
}
