/**
 * Decode with iced-x86 and compile a basic block to one JavaScript function.
 *
 * A block runs from its first instruction to the first branch, exiting or system instruction,
 * breakpoint, page end or MAX_BLOCK instructions. Each instruction becomes a few lines of JS
 * specialised for its operands (register numbers, immediates and sizes are constants), so the
 * hot path has no dispatch, no allocation and no BigInt. The function returns the number of
 * instructions retired and leaves `c.rip` at the next instruction; before any instruction that
 * can fault it stores its index in `c.ix`, so the run loop can report the exact RIP.
 */
import * as iced from "iced-x86";
import * as X from "./alu";
import type { CachedBlock } from "./machine";
import type { Vcpu } from "./vcpu";

const { Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register, MemorySizeExt, Code, DecoderError } = iced;

export type BlockFn = (c: Vcpu, R: Int32Array, H: Int32Array, lim: number) => number;

export interface Block extends CachedBlock {
  va: number;
  fn: BlockFn;
  n: number;
  /** Address of each instruction (and one past the last). */
  ips: number[];
  /** Generated source, kept when `machine.keepSource` is set (for inspection). */
  source: string;
  /** Mnemonics that compiled to #UD. */
  unimplemented: string[];
  /** Compiled for single-stepping (one instruction). */
  single: boolean;
  /** Chaining cache: the last two successors, valid for one vCPU TLB generation. */
  s1va: number; s1: Block | undefined; s2va: number; s2: Block | undefined; sgen: number;
}

const MAX_BLOCK = 64;
const TWO32 = 4294967296;

// ---- register table ---------------------------------------------------------------------------
interface RegInfo { r: number; s: number; h: boolean }
const REGS = new Map<number, RegInfo>();
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
const CR_REGS = new Map<number, number>();
const DR_REGS = new Map<number, number>();
const SEG_REGS = new Map<number, string>();
{
  const reg = Register as unknown as Record<string, number>;
  for (const n of [0, 2, 3, 4, 8]) CR_REGS.set(reg[`CR${n}`]!, n);
  for (let n = 0; n < 8; n++) DR_REGS.set(reg[`DR${n}`]!, n);
  for (const s of ["ES", "CS", "SS", "DS", "FS", "GS"]) SEG_REGS.set(reg[s]!, s.toLowerCase());
}

type Opd =
  | { k: "r"; r: number; s: number; h: boolean }
  | { k: "m"; s: number }
  | { k: "i"; lo: number; hi: number; s: number }
  | { k: "x" }; // something else (segment/control register, branch)

function operand(ins: iced.Instruction, n: number): Opd {
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

function maskOf(s: number): string {
  return s === 1 ? "&255" : s === 2 ? "&65535" : "|0";
}
function lgOf(s: number): number {
  return s === 1 ? 0 : s === 2 ? 1 : s === 4 ? 2 : 3;
}

/** Reads operand `o` at size `s` into `${v}L` (and `${v}H` for 8 bytes). Values < 4 bytes are zero-extended. */
function rd(o: Opd, s: number, v: string): string {
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

function wr(o: Opd, s: number, v: string): string {
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
function lit64(a: number): [number, number] {
  const b = BigInt.asUintN(64, BigInt(a));
  return [Number(b & 0xffffffffn) | 0, Number(b >> 32n) | 0];
}

function gvaOf(b: bigint): number {
  return Number(BigInt.asIntN(64, b));
}

interface Ctx {
  ins: iced.Instruction;
  i: number;
  rip: number;
  next: number;
  m64: boolean;
  /** True if the instruction ends the block (its code returns). */
  end: boolean;
  /** True if the instruction writes memory (a stop check follows). */
  writes: boolean;
  /** The lazy flag op (fop) known to be current at this point of the block, or -1. */
  fop: number;
  /** Block start: a branch back to it can loop inside the block function. */
  start: number;
  /** Set when the block loops on itself. */
  selfLoop: boolean;
  /** No instruction reads the flags this one produces (a later one in the block overwrites them all). */
  flagsDead: boolean;
}

/**
 * Effective address expression. 64-bit addressing with an index is done on halves so it is exact
 * for any register values (lea is also used for arithmetic on full 64-bit values).
 */
function eaExpr(ins: iced.Instruction, m64: boolean, forLea = false): { code: string; a32: boolean } {
  const base = ins.memoryBase, index = ins.memoryIndex, scale = ins.memoryIndexScale;
  const disp = ins.memoryDisplacement;
  const seg = ins.memorySegment;
  const segAdd = seg === Register.FS ? "+c.fsBase" : seg === Register.GS ? "+c.gsBase" : "";
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
    return { code: `c.cn(${code}${segAdd})`, a32: false };
  }
  // 32-bit addressing (32-bit mode, or a 0x67 prefix in 64-bit mode): wraps at 4 GiB.
  const d = Number(BigInt.asIntN(32, disp & 0xffffffffn));
  const parts: string[] = [];
  if (bi) parts.push(`R[${bi.r}]`);
  if (xi) parts.push(`R[${xi.r}]*${scale}`);
  parts.push(`(${d})`);
  return { code: `((${parts.join("+")}${useSeg ? segAdd : ""})>>>0)`, a32: true };
}

/** Condition code 0..15 of a jcc/setcc/cmovcc from iced's ConditionCode (None = 0). */
function ccOf(ins: iced.Instruction): number {
  return ins.conditionCode - 1;
}

const ALU: Record<string, [number, string]> = {
  Add: [1, "add"], Or: [5, "or"], Adc: [3, "adc"], Sbb: [4, "sbb"], And: [5, "and"], Sub: [2, "sub"],
  Xor: [5, "xor"], Cmp: [2, "cmp"], Test: [5, "test"],
};

function aluCode(name: string, d: Opd, src: Opd, s: number, flagsDead = false): string {
  const [fop, op] = ALU[name]!;
  let code = rd(d, s, "a") + rd(src, s, "b");
  const cy = op === "adc" || op === "sbb";
  if (cy) code += "cy=c.cf();";
  if (s < 8) {
    const m = maskOf(s);
    switch (op) {
      case "add": code += `rL=(aL+bL)${m};`; break;
      case "adc": code += `rL=(aL+bL+cy)${m};`; break;
      case "sub": case "cmp": code += `rL=(aL-bL)${m};`; break;
      case "sbb": code += `rL=(aL-bL-cy)${m};`; break;
      case "and": case "test": code += "rL=aL&bL;"; break;
      case "or": code += "rL=aL|bL;"; break;
      case "xor": code += "rL=aL^bL;"; break;
    }
  } else {
    switch (op) {
      case "add": code += "rL=(aL+bL)|0;rH=(aH+bH+((rL>>>0)<(aL>>>0)?1:0))|0;"; break;
      case "adc": code += "rL=(aL+bL+cy)|0;rH=(aH+bH+(cy?((rL>>>0)<=(aL>>>0)?1:0):((rL>>>0)<(aL>>>0)?1:0)))|0;"; break;
      case "sub": case "cmp": code += "rL=(aL-bL)|0;rH=(aH-bH-((aL>>>0)<(bL>>>0)?1:0))|0;"; break;
      case "sbb": code += "rL=(aL-bL-cy)|0;rH=(aH-bH-(cy?((aL>>>0)<=(bL>>>0)?1:0):((aL>>>0)<(bL>>>0)?1:0)))|0;"; break;
      case "and": case "test": code += "rL=aL&bL;rH=aH&bH;"; break;
      case "or": code += "rL=aL|bL;rH=aH|bH;"; break;
      case "xor": code += "rL=aL^bL;rH=aH^bH;"; break;
    }
  }
  if (op !== "cmp" && op !== "test") code += wr(d, s, "r");
  if (flagsDead) return code; // a later instruction of this block overwrites every flag
  code += `c.fop=${(fop << 2) | lgOf(s)};c.fr=rL;`;
  if (fop !== 5) code += "c.fa=aL;c.fb=bL;";
  if (s === 8) code += fop !== 5 ? "c.frh=rH;c.fah=aH;c.fbh=bH;" : "c.frh=rH;";
  if (cy) code += "c.fc=cy;";
  return code;
}

/** Compiles the block at `va` (mode taken from the vCPU). */
export function compileBlock(c: Vcpu, va: number, key: number, single: boolean): Block {
  const m64 = c.mode64;
  const bytes = c.fetchBytes(va, 4096 - (va & 4095) + 15);
  const firstPage = va - (va & 4095);
  const dead = single ? [] : flagLiveness(bytes, va, m64);
  const decoder = new Decoder(m64 ? 64 : 32, bytes, DecoderOptions.None);
  decoder.ip = BigInt.asUintN(64, BigInt(va));
  const ins = new Instruction();
  const body: string[] = [];
  const ips: number[] = [];
  const unimplemented: string[] = [];
  let n = 0;
  let ended = false;
  let knownFop = -1;
  let selfLoop = false;
  let ip = va;
  try {
    while (n < (single ? 1 : MAX_BLOCK)) {
      if (n > 0 && (ip - (ip & 4095) !== firstPage || c.hasBreakpoint(ip))) break;
      if (!decoder.canDecode) {
        if (n === 0) c.fetchPhys(va + bytes.length); // raises the fetch fault for the next page
        break;
      }
      decoder.decodeOut(ins);
      if (decoder.lastError === DecoderError.NoMoreBytes) {
        if (n === 0) c.fetchPhys(va + bytes.length);
        break;
      }
      const next = ip + ins.length;
      ips.push(ip);
      const ctx: Ctx = { ins, i: n, rip: ip, next, m64, end: false, writes: false, fop: knownFop, start: va, selfLoop: false, flagsDead: dead[n] === true };
      let code: string;
      if (ins.code === Code.INVALID) {
        code = `c.ud(${n},"invalid opcode");`;
        ctx.end = true;
      } else {
        const r = emit(ctx);
        if (r === undefined) {
          const text = ins.toString();
          unimplemented.push(text);
          code = `c.ud(${n},${JSON.stringify(text)});`;
          ctx.end = true;
        } else code = r;
      }
      body.push(/c\.\w+\(|X\.\w+\(|throw/.test(code) ? `c.ix=${n};${code}` : code);
      knownFop = nextFop(ctx, code);
      if (ctx.selfLoop) selfLoop = true;
      if (ctx.writes && !ctx.end) body.push(`if(c.stop!==0){c.rip=${next};return ${n + 1};}`);
      n++;
      ip = next;
      if (ctx.end) { ended = true; break; }
    }
  } finally {
    ins.free();
    decoder.free();
  }
  if (!ended) body.push(`c.rip=${ip};return ${n};`);
  ips.push(ip);
  // A block whose last branch targets its own start runs as a loop inside one call: `lim` is how
  // many iterations the budget allows; c.lb counts instructions retired by earlier iterations.
  let inner = body.join("\n");
  if (selfLoop) inner = inner.replace(/return (\d+);/g, "return c.lb+$1;");
  const source = selfLoop
    ? `return function blk_${Math.abs(va).toString(16)}(c,R,H,lim){var aL=0,aH=0,bL=0,bH=0,rL=0,rH=0,dL=0,dH=0,t=0,ea=0,cy=0;\nfor(;;){\n${inner}\n}};`
    : `return function blk_${Math.abs(va).toString(16)}(c,R,H,lim){var aL=0,aH=0,bL=0,bH=0,rL=0,rH=0,dL=0,dH=0,t=0,ea=0,cy=0;\n${inner}\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const fn = new Function("X", source)(X) as BlockFn;
  const frames: number[] = [Math.floor(c.fetchPhys(va) / 4096)];
  const lastByte = ip - 1;
  if (lastByte - (lastByte & 4095) !== firstPage) frames.push(Math.floor(c.fetchPhys(lastByte) / 4096));
  return { valid: true, single, frames, key, va, fn, n, ips, source: c.machine.keepSource ? source : "", unimplemented, s1va: NaN, s1: undefined, s2va: NaN, s2: undefined, sgen: -1 };
}

/** Emits the JS for one instruction; undefined = not implemented (compiled to #UD). */
function emit(x: Ctx): string | undefined {
  const ins = x.ins;
  const mn = Mnemonic[ins.mnemonic]!;
  const codeName = Code[ins.code]!;
  const nops = ins.opCount;
  const o0 = nops > 0 ? operand(ins, 0) : ({ k: "x" } as Opd);
  const o1 = nops > 1 ? operand(ins, 1) : ({ k: "x" } as Opd);
  const hasMem = (nops > 0 && ins.opKind(0) === OpKind.Memory) || (nops > 1 && ins.opKind(1) === OpKind.Memory) || (nops > 2 && ins.opKind(2) === OpKind.Memory);
  let pre = "";
  if (hasMem && mn !== "Lea" && mn !== "Nop" && !mn.startsWith("Prefetch")) pre = `ea=${eaExpr(ins, x.m64).code};`;
  const memDst = o0.k === "m";
  if (memDst) x.writes = true;
  const sizeOf = (o: Opd) => (o.k === "r" || o.k === "m" || o.k === "i" ? o.s : 0);
  const s0 = sizeOf(o0);
  const next = x.next;
  const [nL, nH] = lit64(next);
  const jump = (target: string) => { x.end = true; return `c.rip=${target};return ${x.i + 1};`; };
  const done = () => { x.end = true; return `c.rip=${next};return ${x.i + 1};`; };
  const stackSize = x.m64 ? (/16|w_/.test(codeName) ? 2 : 8) : /16|w_/.test(codeName) ? 2 : 4;

  if (ALU[mn] && nops === 2 && !ins.hasRepPrefix) {
    if (mn === "Cmp" || mn === "Test") x.writes = false;
    return pre + aluCode(mn, o0, o1, s0, x.flagsDead);
  }
  switch (mn) {
    case "Mov": {
      if (o0.k === "x" || o1.k === "x") return movSpecial(x, pre, o0, o1);
      return pre + rd(o1, s0, "a") + wr(o0, s0, "a");
    }
    case "Movzx":
      return pre + rd(o1, sizeOf(o1), "a") + (s0 === 8 ? "aH=0;" : "") + wr(o0, s0, "a");
    case "Movsx": case "Movsxd": {
      const ss = sizeOf(o1);
      let code = pre + rd(o1, ss, "a");
      if (ss === 1) code += "aL=(aL<<24)>>24;";
      else if (ss === 2) code += "aL=(aL<<16)>>16;";
      if (s0 === 8) code += "aH=aL>>31;";
      return code + wr(o0, s0, "a");
    }
    case "Lea":
      return leaCode(ins, x.m64) + wr(o0, s0, "a");
    case "Xchg": {
      if (o0.k === "r" && o1.k === "r" && o0.r === o1.r && s0 !== 4 && o0.h === o1.h) return "";
      x.writes = o0.k === "m" || o1.k === "m";
      return pre + rd(o0, s0, "a") + rd(o1, s0, "b") + wr(o1, s0, "a") + wr(o0, s0, "b");
    }
    case "Inc": case "Dec": {
      const inc = mn === "Inc";
      if (x.flagsDead) {
        const body = s0 < 8 ? `rL=(aL${inc ? "+" : "-"}1)${maskOf(s0)};` : inc ? "rL=(aL+1)|0;rH=(aH+(rL===0?1:0))|0;" : "rL=(aL-1)|0;rH=(aH-(aL===0?1:0))|0;";
        return pre + rd(o0, s0, "a") + body + wr(o0, s0, "r");
      }
      let code = pre + "cy=c.cf();" + rd(o0, s0, "a");
      if (s0 < 8) code += `rL=(aL${inc ? "+" : "-"}1)${maskOf(s0)};`;
      else code += inc ? "rL=(aL+1)|0;rH=(aH+(rL===0?1:0))|0;" : "rL=(aL-1)|0;rH=(aH-(aL===0?1:0))|0;";
      code += wr(o0, s0, "r");
      code += `c.fop=${((inc ? 6 : 7) << 2) | lgOf(s0)};c.fr=rL;c.fa=aL;c.fb=1;c.fc=cy;`;
      if (s0 === 8) code += "c.frh=rH;c.fah=aH;c.fbh=0;";
      return code;
    }
    case "Neg": {
      let code = pre + rd(o0, s0, "b");
      if (s0 < 8) code += `rL=(0-bL)${maskOf(s0)};`;
      else code += "rL=(0-bL)|0;rH=(0-bH-(bL!==0?1:0))|0;";
      code += wr(o0, s0, "r");
      if (x.flagsDead) return code;
      code += `c.fop=${(2 << 2) | lgOf(s0)};c.fr=rL;c.fa=0;c.fb=bL;`;
      if (s0 === 8) code += "c.frh=rH;c.fah=0;c.fbh=bH;";
      return code;
    }
    case "Not":
      return pre + rd(o0, s0, "a") + (s0 < 8 ? `aL=(~aL)${maskOf(s0)};` : "aL=~aL;aH=~aH;") + wr(o0, s0, "a");
    case "Rol": case "Ror": case "Rcl": case "Rcr": case "Shl": case "Sal": case "Shr": case "Sar": {
      const op = ["Rol", "Ror", "Rcl", "Rcr", "Shl", "Shr", "Sal", "Sar"].indexOf(mn);
      if (x.flagsDead && o1.k === "i" && (s0 === 4 || s0 === 8) && mn !== "Rcl" && mn !== "Rcr") {
        const nn = o1.lo & (s0 === 8 ? 63 : 31);
        if (nn !== 0) return pre + rd(o0, s0, "a") + inlineShift(mn, nn, s0) + wr(o0, s0, "r");
      }
      const cnt = o1.k === "i" ? `${o1.lo & 255}` : "R[1]&255";
      return pre + rd(o0, s0, "a") + `rL=X.shift(c,${op},aL,aH,${cnt},${s0});rH=c.tH;` + wr(o0, s0, "r");
    }
    case "Shld": case "Shrd": {
      const o2 = operand(ins, 2);
      const cnt = o2.k === "i" ? `${o2.lo & 255}` : "R[1]&255";
      return pre + rd(o0, s0, "a") + rd(o1, s0, "b") + `rL=X.shiftDouble(c,${mn === "Shld"},aL,aH,bL,bH,${cnt},${s0});rH=c.tH;` + wr(o0, s0, "r");
    }
    case "Mul": case "Div": case "Idiv":
      return pre + rd(o0, s0, "b") + (mn === "Mul" ? `X.mul1(c,false,bL,bH,${s0});` : `X.div1(c,${mn === "Idiv"},bL,bH,${s0});`);
    case "Imul": {
      if (nops === 1) return pre + rd(o0, s0, "b") + `X.mul1(c,true,bL,bH,${s0});`;
      const src = nops === 3 ? o1 : o0;
      const mul = nops === 3 ? operand(ins, 2) : o1;
      if (x.flagsDead && s0 === 4) return pre + rd(src, s0, "a") + rd(mul, s0, "b") + "rL=Math.imul(aL,bL);" + wr(o0, s0, "r");
      if (x.flagsDead && s0 === 8) return pre + rd(src, s0, "a") + rd(mul, s0, "b") + "rL=Math.imul(aL,bL);rH=(X.umulhi(aL,bL)+Math.imul(aL,bH)+Math.imul(aH,bL))|0;" + wr(o0, s0, "r");
      return pre + rd(src, s0, "a") + rd(mul, s0, "b") + `rL=X.imul2(c,aL,aH,bL,bH,${s0});rH=c.tH;` + wr(o0, s0, "r");
    }
    case "Cbw": return "R[0]=(R[0]&-65536)|(((R[0]<<24)>>24)&65535);";
    case "Cwde": return "R[0]=(R[0]<<16)>>16;H[0]=0;";
    case "Cdqe": return "H[0]=R[0]>>31;";
    case "Cwd": return "R[2]=(R[2]&-65536)|(((R[0]<<16)>>31)&65535);";
    case "Cdq": return "R[2]=R[0]>>31;H[2]=0;";
    case "Cqo": return "R[2]=H[0]>>31;H[2]=R[2];";
    case "Bswap": {
      if (o0.k !== "r") return undefined;
      const sw = (v: string) => `(((${v}&255)<<24)|(((${v}>>>8)&255)<<16)|(((${v}>>>16)&255)<<8)|((${v}>>>24)&255))`;
      if (s0 === 8) return `aL=R[${o0.r}];aH=H[${o0.r}];R[${o0.r}]=${sw("aH")};H[${o0.r}]=${sw("aL")};`;
      if (s0 === 4) return `aL=R[${o0.r}];R[${o0.r}]=${sw("aL")};H[${o0.r}]=0;`;
      return `R[${o0.r}]=R[${o0.r}]&-65536;`; // bswap r16: undefined; real CPUs give 0 in the low word
    }
    case "Push": {
      if (o0.k === "x") return undefined;
      let code = pre + rd(o0, o0.k === "i" ? 8 : stackSize, "a");
      code += stackSize === 8 ? "c.push64(aL,aH);" : stackSize === 4 ? "c.push32(aL);" : "c.push16(aL);";
      x.writes = true;
      return code;
    }
    case "Pop": {
      let code = stackSize === 8 ? "aL=c.pop64();aH=c.tH;" : stackSize === 4 ? "aL=c.pop32();" : "aL=c.pop16();";
      if (o0.k === "x") {
        const seg = SEG_REGS.get(ins.op0Register);
        if (!seg || seg === "cs") return undefined;
        return code + `c.loadSeg(${JSON.stringify(seg)},aL&65535);`;
      }
      if (o0.k === "m") code += pre;
      return code + wr(o0, stackSize, "a");
    }
    case "Leave":
      return x.m64 ? "t=c.sp();R[4]=R[5];H[4]=H[5];aL=c.pop64();R[5]=aL;H[5]=c.tH;" : "R[4]=R[5];aL=c.pop32();R[5]=aL;";
    case "Pushfq": case "Pushfd": case "Pushf":
      x.writes = true;
      return stackSize === 8 || mn === "Pushfq" ? "c.push64(c.getFlags()&0xfcffff,0);" : mn === "Pushf" ? "c.push16(c.getFlags()&65535);" : "c.push32(c.getFlags()&0xfcffff);";
    case "Popfq": case "Popfd": case "Popf": {
      const p = mn === "Popfq" ? "c.pop64()" : mn === "Popf" ? "c.pop16()" : "c.pop32()";
      // IOPL changes only at CPL 0, IF only when CPL <= IOPL (SDM Vol. 2B POPF).
      return `aL=${p};t=c.getFlags();bL=0x244dd5|(c.cpl===0?0x3000:0)|(c.cpl<=((t>>12)&3)?0x200:0);${mn === "Popf" ? "bL&=65535;" : ""}c.setFlags((t&~bL)|(aL&bL));` + done();
    }
    case "Lahf": return "R[0]=(R[0]&-65281)|((c.getFlags()&255)<<8);";
    case "Sahf": return "c.mergeArith(0xd5,(R[0]>>>8)&0xd5);";
    case "Clc": return "c.mergeArith(1,0);";
    case "Stc": return "c.mergeArith(1,1);";
    case "Cmc": return "c.mergeArith(1,c.cf()^1);";
    case "Cld": return "c.eflagsRest&=~0x400;";
    case "Std": return "c.eflagsRest|=0x400;";
    case "Cli": return "c.cli();";
    case "Sti": return "c.sti();" + done();
    case "Nop": case "Endbr64": case "Endbr32": case "Pause": case "Lfence": case "Mfence": case "Sfence":
    case "Prefetchnta": case "Prefetcht0": case "Prefetcht1": case "Prefetcht2": case "Prefetchw":
      return "";
    case "Ud2": case "Ud0": case "Ud1":
      x.end = true;
      return `c.fault(6,undefined,"ud2");`;
    case "Setb": case "Setae": case "Sete": case "Setne": case "Setbe": case "Seta": case "Sets": case "Setns":
    case "Setp": case "Setnp": case "Setl": case "Setge": case "Setle": case "Setg": case "Seto": case "Setno":
      return pre + `aL=(${condExpr(ccOf(ins), x.fop)})?1:0;` + wr(o0, 1, "a");
    case "Cmovb": case "Cmovae": case "Cmove": case "Cmovne": case "Cmovbe": case "Cmova": case "Cmovs": case "Cmovns":
    case "Cmovp": case "Cmovnp": case "Cmovl": case "Cmovge": case "Cmovle": case "Cmovg": case "Cmovo": case "Cmovno":
      return pre + rd(o1, s0, "a") + `if(${condExpr(ccOf(ins), x.fop)}){${wr(o0, s0, "a")}}` + (s0 === 4 && o0.k === "r" ? `else H[${o0.r}]=0;` : "");
    case "Jo": case "Jno": case "Jb": case "Jae": case "Je": case "Jne": case "Jbe": case "Ja":
    case "Js": case "Jns": case "Jp": case "Jnp": case "Jl": case "Jge": case "Jle": case "Jg": {
      const t = branchTarget(ins);
      x.end = true;
      const cond = condExpr(ccOf(ins), x.fop);
      if (t === x.start) {
        // Self-loop: iterate inside the function while the budget allows.
        x.selfLoop = true;
        const n1 = x.i + 1;
        return `if(${cond}){c.lb+=${n1};if(c.lb+${n1}<=lim)continue;c.rip=${t};return c.lb;}c.rip=${next};return c.lb+${n1};`;
      }
      return `if(${cond}){c.rip=${t};return ${x.i + 1};}c.rip=${next};return ${x.i + 1};`;
    }
    case "Jrcxz": case "Jecxz": case "Loop": case "Loope": case "Loopne": {
      const t = branchTarget(ins);
      const a32 = /ECX|Jecxz/.test(codeName) || !x.m64; // counter is ECX with a 0x67 prefix or in 32-bit mode
      x.end = true;
      let code = "";
      if (mn === "Jrcxz" || mn === "Jecxz") code = mn === "Jrcxz" ? "t=(R[1]|H[1])===0;" : "t=R[1]===0;";
      else {
        code = a32 ? "R[1]=(R[1]-1)|0;H[1]=0;t=R[1]!==0;" : "R[1]=(R[1]-1)|0;if(R[1]===-1)H[1]=(H[1]-1)|0;t=(R[1]|H[1])!==0;";
        if (mn === "Loope") code += "t=t&&c.cond(4);";
        if (mn === "Loopne") code += "t=t&&c.cond(5);";
      }
      return code + `if(t){c.rip=${t};return ${x.i + 1};}c.rip=${next};return ${x.i + 1};`;
    }
    case "Jmp": {
      if (codeName.startsWith("Jmp_rel")) return jump(`${branchTarget(ins)}`);
      if (codeName === "Jmp_rm64") return pre + rd(o0, 8, "a") + jump(`c.cn(aH*${TWO32}+(aL>>>0))`);
      if (codeName === "Jmp_rm32") return pre + rd(o0, 4, "a") + jump("aL>>>0");
      if (codeName === "Jmp_ptr1632") { x.end = true; return `c.loadCs(${ins.farBranchSelector});c.rip=${ins.farBranch32};return ${x.i + 1};`; }
      if (codeName === "Jmp_m1632" || codeName === "Jmp_m1664") {
        const off = codeName === "Jmp_m1664" ? 8 : 4;
        x.end = true;
        return pre + (off === 8 ? "aL=c.r64(ea);aH=c.tH;" : "aL=c.r32(ea);aH=0;") + `bL=c.r16(ea+${off});c.loadCs(bL);c.rip=${off === 8 ? `c.cn(aH*${TWO32}+(aL>>>0))` : "aL>>>0"};return ${x.i + 1};`;
      }
      return undefined;
    }
    case "Call": {
      x.writes = true;
      const push = x.m64 ? `c.push64(${nL},${nH});` : `c.push32(${nL});`;
      if (codeName.startsWith("Call_rel")) return push + jump(`${branchTarget(ins)}`);
      if (codeName === "Call_rm64") return pre + rd(o0, 8, "a") + `t=c.cn(aH*${TWO32}+(aL>>>0));` + push + jump("t");
      if (codeName === "Call_rm32") return pre + rd(o0, 4, "a") + push + jump("aL>>>0");
      return undefined;
    }
    case "Ret": {
      const imm = nops === 1 && o0.k === "i" ? o0.lo & 0xffff : 0;
      const pop = x.m64 ? `aL=c.pop64();t=c.cn(c.tH*${TWO32}+(aL>>>0));` : "t=c.pop32()>>>0;";
      return pop + (imm ? `c.setSp(c.sp()+${imm});` : "") + jump("t");
    }
    case "Retf": {
      const q = codeName.startsWith("Retfq");
      x.end = true;
      return (q ? `aL=c.pop64();t=c.tH*${TWO32}+(aL>>>0);bL=c.pop64();` : "t=c.pop32()>>>0;bL=c.pop32();") + `c.loadCs(bL&65535);c.rip=${q ? "c.cn(t)" : "t"};return ${x.i + 1};`;
    }
    case "Cmpxchg": {
      // Compare the accumulator with the destination; ZF set and destination = source if equal,
      // else accumulator = destination (SDM Vol. 2A CMPXCHG; memory is always written back).
      let code = pre + rd(o0, s0, "b") + rd({ k: "r", r: 0, s: s0, h: false }, s0, "a");
      code += s0 < 8 ? `rL=(aL-bL)${maskOf(s0)};` : "rL=(aL-bL)|0;rH=(aH-bH-((aL>>>0)<(bL>>>0)?1:0))|0;";
      const eq = s0 < 8 ? "aL===bL" : "aL===bL&&aH===bH";
      code += `if(${eq}){${rd(o1, s0, "d")}${wr(o0, s0, "d")}}else{${o0.k === "m" ? wr(o0, s0, "b") : ""}${wr({ k: "r", r: 0, s: s0, h: false }, s0, "b")}}`;
      code += `c.fop=${(2 << 2) | lgOf(s0)};c.fr=rL;c.fa=aL;c.fb=bL;`;
      if (s0 === 8) code += "c.frh=rH;c.fah=aH;c.fbh=bH;";
      return code;
    }
    case "Xadd": {
      let code = pre + rd(o0, s0, "a") + rd(o1, s0, "b");
      code += s0 < 8 ? `rL=(aL+bL)${maskOf(s0)};` : "rL=(aL+bL)|0;rH=(aH+bH+((rL>>>0)<(aL>>>0)?1:0))|0;";
      code += wr(o1, s0, "a") + wr(o0, s0, "r");
      code += `c.fop=${(1 << 2) | lgOf(s0)};c.fr=rL;c.fa=aL;c.fb=bL;`;
      if (s0 === 8) code += "c.frh=rH;c.fah=aH;c.fbh=bH;";
      return code;
    }
    case "Bt": case "Bts": case "Btr": case "Btc": {
      const bits = s0 * 8;
      let code = "";
      if (o0.k === "m" && o1.k === "r") {
        // Bit-string addressing: the register offset is signed and may reach outside the operand.
        code += rd(o1, s0, "b");
        const off = s0 === 8 ? `(bH*${TWO32}+(bL>>>0))` : s0 === 4 ? "bL" : "((bL<<16)>>16)";
        code += pre + `ea=${x.m64 ? "c.cn" : ""}(ea+Math.floor(${off}/${bits})*${s0});bL=bL&${bits - 1};`;
      } else {
        code += pre + rd(o1, o1.k === "i" ? 1 : s0, "b") + `bL=bL&${bits - 1};`;
      }
      code += rd(o0, s0, "a");
      code += s0 === 8 ? "cy=bL<32?(aL>>>bL)&1:(aH>>>(bL-32))&1;" : "cy=(aL>>>bL)&1;";
      if (mn !== "Bt") {
        const op = mn === "Bts" ? "|" : mn === "Btr" ? "&~" : "^";
        if (s0 === 8) code += `if(bL<32)aL=aL${op}(1<<bL);else aH=aH${op}(1<<(bL-32));`;
        else code += `aL=(aL${op}(1<<bL))${maskOf(s0)};`;
        code += wr(o0, s0, "a");
      } else x.writes = false;
      return code + "c.mergeArith(1,cy);";
    }
    case "Bsf": case "Bsr": case "Tzcnt": case "Lzcnt": case "Popcnt": {
      const kind = ["Bsf", "Bsr", "Tzcnt", "Lzcnt", "Popcnt"].indexOf(mn);
      return pre + rd(o1, s0, "a") + `rL=X.bitscan(c,${kind},aL,aH,${s0});if(rL>=0){rH=0;${wr(o0, s0, "r")}}`;
    }
    case "Movsb": case "Movsw": case "Movsd": case "Movsq": case "Stosb": case "Stosw": case "Stosd": case "Stosq":
    case "Lodsb": case "Lodsw": case "Lodsd": case "Lodsq": case "Cmpsb": case "Cmpsw": case "Cmpsd": case "Cmpsq":
    case "Scasb": case "Scasw": case "Scasd": case "Scasq": {
      if (mn === "Movsd" && codeName !== "Movsd_m32_m32") return undefined; // SSE movsd
      if (mn === "Cmpsd" && codeName !== "Cmpsd_m32_m32") return undefined;
      const op = ["Movs", "Stos", "Lods", "Cmps", "Scas"].indexOf(mn.slice(0, 4));
      const size = { b: 1, w: 2, d: 4, q: 8 }[mn.slice(4)]!;
      const rep = ins.hasRepePrefix ? 1 : ins.hasRepnePrefix ? (op >= 3 ? 2 : 1) : 0;
      let a32 = !x.m64;
      for (let k = 0; k < nops; k++) {
        const kk = ins.opKind(k);
        if (kk === OpKind.MemorySegESI || kk === OpKind.MemorySegEDI || kk === OpKind.MemoryESEDI) a32 = true;
      }
      const sp = ins.segmentPrefix;
      const segBase = sp === Register.FS ? "c.fsBase" : sp === Register.GS ? "c.gsBase" : "0";
      x.writes = op === 0 || op === 1;
      return `if(!X.strop(c,${op},${size},${rep},${a32},${segBase})){c.rip=${x.rip};return ${x.i};}`;
    }
    // ---- BMI1/BMI2 (gcc -march=x86-64-v3) ----
    case "Rorx": {
      const n = operand(ins, 2);
      const k = n.k === "i" ? n.lo & (s0 === 8 ? 63 : 31) : 0;
      return pre + rd(o1, s0, "a") + (k === 0 ? "rL=aL;rH=aH;" : inlineShift("Ror", k, s0)) + wr(o0, s0, "r");
    }
    case "Shlx": case "Shrx": case "Sarx": {
      const op = mn === "Shlx" ? 4 : mn === "Shrx" ? 5 : 7;
      return pre + rd(o1, s0, "a") + rd(operand(ins, 2), s0, "b") + `rL=X.shiftNoFlags(c,${op},aL,aH,bL,${s0});rH=c.tH;` + wr(o0, s0, "r");
    }
    case "Andn": case "Bzhi":
      return pre + rd(o1, s0, "a") + rd(operand(ins, 2), s0, "b") + `rL=X.bmi(c,${mn === "Andn" ? 0 : 4},aL,aH,bL,bH,${s0});rH=c.tH;` + wr(o0, s0, "r");
    case "Blsr": case "Blsi": case "Blsmsk":
      return pre + rd(o1, s0, "a") + `rL=X.bmi(c,${["Blsr", "Blsi", "Blsmsk"].indexOf(mn) + 1},aL,aH,0,0,${s0});rH=c.tH;` + wr(o0, s0, "r");
    case "Mulx": {
      // mulx hi, lo, src: RDX * src; when both destinations are the same register it gets the high half.
      const o2 = operand(ins, 2);
      return pre + rd({ k: "r", r: 2, s: s0, h: false }, s0, "a") + rd(o2, s0, "b") + `X.mulx(aL,aH,bL,bH,${s0},X.MULX_OUT);` +
        `rL=X.MULX_OUT[0];rH=X.MULX_OUT[1];` + wr(o1, s0, "r") + `rL=X.MULX_OUT[2];rH=X.MULX_OUT[3];` + wr(o0, s0, "r");
    }
    case "Movbe": {
      const sw = (v: string) => `(((${v}&255)<<24)|(((${v}>>>8)&255)<<16)|(((${v}>>>16)&255)<<8)|((${v}>>>24)&255))`;
      const size = o0.k === "r" ? o0.s : sizeOf(o1);
      let code = pre + rd(o1, size, "a");
      if (size === 8) code += `t=aL;aL=${sw("aH")};aH=${sw("t")};`;
      else if (size === 4) code += `aL=${sw("aL")};`;
      else code += "aL=((aL&255)<<8)|((aL>>>8)&255);";
      return code + wr(o0, size, "a");
    }
    // ---- system instructions: end the block ----
    case "Cpuid":
      return `c.exitAfter({kind:"cpuid",leaf:R[0]>>>0,subleaf:R[1]>>>0,rip:${x.rip},nextRip:${next}});` + done();
    case "Hlt":
      return `c.priv();c.exitAfter({kind:"hlt",rip:${x.rip},nextRip:${next}});` + done();
    case "Vmcall": case "Vmmcall":
      return `c.exitAfter({kind:"hypercall",insn:"${mn.toLowerCase()}",rip:${x.rip},nextRip:${next}});` + done();
    case "In": case "Out": {
      const isIn = mn === "In";
      const portOp = isIn ? o1 : o0;
      const dataOp = isIn ? o0 : o1;
      const size = sizeOf(dataOp);
      const port = portOp.k === "i" ? `${portOp.lo & 255}` : "R[2]&65535";
      const val = isIn ? "0" : size === 1 ? "R[0]&255" : size === 2 ? "R[0]&65535" : "R[0]>>>0";
      return `if(c.cpl>((c.eflagsRest>>12)&3))c.fault(13,0,"I/O above IOPL");c.exitAfter({kind:"io",direction:"${isIn ? "in" : "out"}",port:${port},size:${size},value:${val},rip:${x.rip},nextRip:${next}});` + done();
    }
    case "Rdmsr": return `c.rdmsr(${x.i},${x.rip},${next});` + done();
    case "Wrmsr": return `c.wrmsr(${x.rip},${next});` + done();
    case "Rdtsc": return `c.rdtsc(${x.i});`;
    case "Rdtscp": return `c.rdtsc(${x.i});R[1]=c.tscAux;H[1]=0;`;
    case "Lgdt": case "Lidt": return pre + `c.lgdt(ea,${mn === "Lidt"});` + done();
    case "Sgdt": case "Sidt": x.writes = true; return pre + `c.sgdt(ea,${mn === "Sidt"});`;
    case "Ltr": return pre + rd(o0, 2, "a") + "c.ltr(aL);" + done();
    case "Str": return "R[" + (o0.k === "r" ? o0.r : 0) + "]=c.trSelector;";
    case "Invlpg": return pre + "c.priv();c.invlpg(ea);" + done();
    case "Wbinvd": case "Invd": case "Clts": return "c.priv();";
    case "Int": x.end = true; return `c.softInt(${(o0.k === "i" ? o0.lo : 0) & 255},${next});return ${x.i + 1};`;
    case "Int3": x.end = true; return `c.softInt(3,${next});return ${x.i + 1};`;
    case "Int1": x.end = true; return `c.softInt(1,${next});return ${x.i + 1};`;
    case "Iretq": x.end = true; return `c.iret(8);return ${x.i + 1};`;
    case "Iretd": x.end = true; return `c.iret(4);return ${x.i + 1};`;
    case "Syscall": x.end = true; return `c.syscall(${next});return ${x.i + 1};`;
    case "Sysretq": case "Sysret": if (mn === "Sysret" && x.m64) return undefined; x.end = true; return `c.sysret();return ${x.i + 1};`;
    case "Swapgs": return "c.swapgs();";
    case "Xlatb": return `ea=${x.m64 ? `c.cn(H[3]*${TWO32}+(R[3]>>>0)+(R[0]&255))` : "((R[3]+(R[0]&255))>>>0)"};R[0]=(R[0]&-256)|c.r8(ea);`;
  }
  return undefined;
}

/** Shift/rotate by a constant 1..width-1 (or 63) without flags, on int32 halves. */
function inlineShift(mn: string, n: number, s: number): string {
  if (s === 4) {
    switch (mn) {
      case "Shl": case "Sal": return `rL=aL<<${n};`;
      case "Shr": return `rL=aL>>>${n}|0;`;
      case "Sar": return `rL=aL>>${n};`;
      case "Rol": return `rL=(aL<<${n})|(aL>>>${32 - n});`;
      case "Ror": return `rL=(aL>>>${n})|(aL<<${32 - n});`;
    }
  }
  // 64-bit on halves
  const shl = (k: number, l: string, h: string, ol: string, oh: string) =>
    k === 0 ? `${ol}=${l};${oh}=${h};` : k < 32 ? `${oh}=(${h}<<${k})|(${l}>>>${32 - k});${ol}=${l}<<${k};` : k === 32 ? `${oh}=${l};${ol}=0;` : `${oh}=${l}<<${k - 32};${ol}=0;`;
  const shr = (k: number, l: string, h: string, ol: string, oh: string, arith: boolean) =>
    k === 0 ? `${ol}=${l};${oh}=${h};`
      : k < 32 ? `${ol}=(${l}>>>${k})|(${h}<<${32 - k});${oh}=${h}${arith ? ">>" : ">>>"}${k}${arith ? "" : "|0"};`
      : k === 32 ? `${ol}=${h};${oh}=${arith ? `${h}>>31` : "0"};`
      : `${ol}=${h}${arith ? ">>" : ">>>"}${k - 32}${arith ? "" : "|0"};${oh}=${arith ? `${h}>>31` : "0"};`;
  switch (mn) {
    case "Shl": case "Sal": return shl(n, "aL", "aH", "rL", "rH");
    case "Shr": return shr(n, "aL", "aH", "rL", "rH", false);
    case "Sar": return shr(n, "aL", "aH", "rL", "rH", true);
    case "Rol": return shl(n, "aL", "aH", "rL", "rH") + shr(64 - n, "aL", "aH", "bL", "bH", false) + "rL|=bL;rH|=bH;";
    case "Ror": return shr(n, "aL", "aH", "rL", "rH", false) + shl(64 - n, "aL", "aH", "bL", "bH") + "rL|=bL;rH|=bH;";
  }
  throw new Error(`inlineShift ${mn}`);
}

/** Mnemonics that always overwrite all six arithmetic flags (in this implementation). */
const FLAG_WRITERS = new Set(["Add", "Sub", "And", "Or", "Xor", "Cmp", "Test", "Neg", "Cmpxchg", "Xadd", "Popcnt", "Tzcnt", "Lzcnt", "Mul", "Imul", "Andn", "Blsr", "Blsi", "Blsmsk", "Bzhi"]);
/** Mnemonics that change only some flags, or none for some inputs: transparent for liveness. */
const FLAG_PARTIAL = new Set(["Rol", "Ror", "Shl", "Sal", "Shr", "Sar"]);

/**
 * Per instruction of the block starting at `va`: true if the flags it produces are dead (Blink's
 * flag-liveness idea, blink/deps.c). Pessimistic: block end and any unknown instruction read them.
 */
function flagLiveness(bytes: Uint8Array, va: number, m64: boolean): boolean[] {
  const dec = new Decoder(m64 ? 64 : 32, bytes, DecoderOptions.None);
  dec.ip = BigInt.asUintN(64, BigInt(va));
  const ins = new Instruction();
  const kinds: number[] = []; // 0 neutral/partial (transparent), 1 writes all, 2 reads
  try {
    let ip = va;
    const page = va - (va & 4095);
    while (kinds.length < MAX_BLOCK && dec.canDecode) {
      if (kinds.length > 0 && ip - (ip & 4095) !== page) break;
      dec.decodeOut(ins);
      if (dec.lastError !== DecoderError.None || ins.code === Code.INVALID) break;
      const mn = Mnemonic[ins.mnemonic]!;
      let k = 2;
      // setcc/cmovcc leave the flags alone (FLAG_NEUTRAL) but read them.
      if (FLAG_NEUTRAL.has(mn) && !mn.startsWith("Set") && !mn.startsWith("Cmov")) k = 0;
      else if (FLAG_WRITERS.has(mn) && !ins.hasRepPrefix) k = 1;
      else if (FLAG_PARTIAL.has(mn)) {
        const imm = ins.opCount > 1 && ins.op1Kind >= OpKind.Immediate8 && ins.op1Kind <= OpKind.Immediate32to64;
        k = imm && (mn !== "Rol" && mn !== "Ror") && (Number(ins.immediate(1)) & 31) !== 0 ? 1 : 0;
      }
      kinds.push(k);
      ip += ins.length;
      if (ins.flowControl !== iced.FlowControl.Next) break;
    }
  } finally {
    ins.free();
    dec.free();
  }
  const dead: boolean[] = new Array<boolean>(kinds.length).fill(false);
  let live = true;
  for (let j = kinds.length - 1; j >= 0; j--) {
    dead[j] = !live;
    if (kinds[j] === 1) live = false;
    else if (kinds[j] === 2) live = true;
  }
  return dead;
}

/** Instructions that leave the arithmetic flags alone (the known lazy op survives them). */
const FLAG_NEUTRAL = new Set([
  "Mov", "Movzx", "Movsx", "Movsxd", "Lea", "Push", "Pop", "Xchg", "Nop", "Cbw", "Cwde", "Cdqe", "Cwd", "Cdq", "Cqo",
  "Bswap", "Not", "Leave", "Rorx", "Shlx", "Shrx", "Sarx", "Mulx", "Movbe", "Endbr64", "Endbr32", "Pause", "Prefetchnta", "Prefetcht0", "Prefetcht1", "Prefetcht2",
  "Setb", "Setae", "Sete", "Setne", "Setbe", "Seta", "Sets", "Setns", "Setp", "Setnp", "Setl", "Setge", "Setle", "Setg", "Seto", "Setno",
  "Cmovb", "Cmovae", "Cmove", "Cmovne", "Cmovbe", "Cmova", "Cmovs", "Cmovns", "Cmovp", "Cmovnp", "Cmovl", "Cmovge", "Cmovle", "Cmovg", "Cmovo", "Cmovno",
]);

/** The lazy flag op after this instruction, if known at compile time. */
function nextFop(x: Ctx, code: string): number {
  const mn = Mnemonic[x.ins.mnemonic]!;
  if (FLAG_NEUTRAL.has(mn)) return x.fop;
  const m = /c\.fop=(\d+);/.exec(code);
  if (m && !code.includes("X.") && !code.includes("c.cf()") ) return Number(m[1]);
  if (m && (mn === "Inc" || mn === "Dec")) return Number(m[1]);
  return -1;
}

/**
 * A condition as a JS expression. When the flag-setting op of this block is known (cmp, sub,
 * test, and...), the condition is computed from its operands directly instead of materialising
 * EFLAGS (a cmp/jcc pair costs two comparisons).
 */
function condExpr(cc: number, fop: number): string {
  const generic = `c.cond(${cc})`;
  if (fop < 0) return generic;
  const op = fop >> 2, lg = fop & 3;
  const neg = (e: string) => ((cc & 1) ? `!(${e})` : `(${e})`);
  const zf = lg === 3 ? "(c.fr|c.frh)===0" : "c.fr===0";
  const sf = lg === 3 ? "c.frh<0" : lg === 2 ? "c.fr<0" : lg === 1 ? "(c.fr&32768)!==0" : "(c.fr&128)!==0";
  const base = cc >> 1;
  if (base === 2) return neg(zf);
  if (base === 4) return neg(sf);
  if (op === 5) {
    // logic ops: CF=OF=0
    if (base === 0 || base === 1) return (cc & 1) ? "true" : "false";
    if (base === 3) return neg(zf);
    if (base === 6) return neg(sf);
    if (base === 7) return neg(`${zf}||${sf}`);
    return generic;
  }
  if (op === 2) {
    // sub/cmp: compare the operands
    const sx = (v: string) => (lg === 0 ? `((${v}<<24)>>24)` : lg === 1 ? `((${v}<<16)>>16)` : v);
    let lt: string, le: string, ult: string, ule: string;
    if (lg === 3) {
      ult = "((c.fah>>>0)<(c.fbh>>>0)||(c.fah===c.fbh&&(c.fa>>>0)<(c.fb>>>0)))";
      ule = "((c.fah>>>0)<(c.fbh>>>0)||(c.fah===c.fbh&&(c.fa>>>0)<=(c.fb>>>0)))";
      lt = "(c.fah<c.fbh||(c.fah===c.fbh&&(c.fa>>>0)<(c.fb>>>0)))";
      le = "(c.fah<c.fbh||(c.fah===c.fbh&&(c.fa>>>0)<=(c.fb>>>0)))";
    } else {
      ult = "(c.fa>>>0)<(c.fb>>>0)";
      ule = "(c.fa>>>0)<=(c.fb>>>0)";
      lt = `${sx("c.fa")}<${sx("c.fb")}`;
      le = `${sx("c.fa")}<=${sx("c.fb")}`;
    }
    if (base === 1) return neg(ult);
    if (base === 3) return neg(ule);
    if (base === 6) return neg(lt);
    if (base === 7) return neg(le);
  }
  return generic;
}

function branchTarget(ins: iced.Instruction): number {
  const k = ins.op0Kind;
  if (k === OpKind.NearBranch64) return gvaOf(ins.nearBranch64);
  if (k === OpKind.NearBranch32) return ins.nearBranch32 >>> 0;
  return ins.nearBranch16;
}

/** mov to/from control, debug and segment registers. */
function movSpecial(x: Ctx, pre: string, o0: Opd, o1: Opd): string | undefined {
  const ins = x.ins;
  const r0 = ins.op0Kind === OpKind.Register ? ins.op0Register : -1;
  const r1 = nopsAtLeast(ins, 2) && ins.op1Kind === OpKind.Register ? ins.op1Register : -1;
  if (CR_REGS.has(r0) && o1.k === "r") {
    x.end = true;
    return `c.writeCr(${CR_REGS.get(r0)},R[${o1.r}],${x.m64 ? `H[${o1.r}]` : "0"});c.rip=${x.next};return ${x.i + 1};`;
  }
  if (CR_REGS.has(r1) && o0.k === "r") {
    return `t=c.readCr(${CR_REGS.get(r1)});R[${o0.r}]=t|0;H[${o0.r}]=${x.m64 ? `Math.floor(t/${TWO32})|0` : "0"};`;
  }
  if (DR_REGS.has(r0) && o1.k === "r") return `c.priv();c.dr[${DR_REGS.get(r0)}]=R[${o1.r}]>>>0;`;
  if (DR_REGS.has(r1) && o0.k === "r") return `c.priv();R[${o0.r}]=c.dr[${DR_REGS.get(r1)}]|0;H[${o0.r}]=0;`;
  if (SEG_REGS.has(r0)) {
    const seg = SEG_REGS.get(r0)!;
    if (seg === "cs") return undefined; // mov cs is #UD
    x.end = true;
    return pre + rd(o1, 2, "a") + `c.loadSeg(${JSON.stringify(seg)},aL);c.rip=${x.next};return ${x.i + 1};`;
  }
  if (SEG_REGS.has(r1)) {
    const seg = SEG_REGS.get(r1)!;
    const v = seg === "cs" ? "c.cs.selector" : `c.${seg}`;
    if (o0.k === "m") { x.writes = true; return pre + `c.w16(ea,${v});`; }
    if (o0.k === "r") return `aL=${v};aH=0;` + wr(o0, o0.s === 8 ? 8 : o0.s, "a");
  }
  return undefined;
}

/** lea: the address arithmetic on 32-bit halves, exact for any register values. */
function leaCode(ins: iced.Instruction, m64: boolean): string {
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
  if (regSize !== 8) return `aL=(${lo})|0;aH=0;`;
  const hi = [bi ? `H[${bi.r}]` : "", xi ? `H[${xi.r}]*${scale}` : "", `${dh}`].filter(Boolean).join("+");
  return `t=${lo};aL=t|0;aH=(${hi}+Math.floor(t/${TWO32}))|0;`;
}

function nopsAtLeast(ins: iced.Instruction, n: number): boolean {
  return ins.opCount >= n;
}
