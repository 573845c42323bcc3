/**
 * 16-bit code (real-address mode) for a vCPU the interpreter cannot run there: the compiled-block
 * interpreter runs 32-bit protected and 64-bit code only, so while CS is a 16-bit segment the
 * platform emulates the guest one instruction at a time, as Xen's hvm/vmx/realmode.c runs real
 * mode through x86_emulate on processors without unrestricted guest.
 *
 * The subset is what an application processor runs between its startup IPI and the far jump into
 * protected mode: Linux's arch/x86/realmode/rm/trampoline_64.S and kernel/verify_cpu.S (moves,
 * the stack, ALU and shifts, bit tests, branches and calls, EFLAGS, CPUID and MSRs as the
 * hypervisor answers them, LGDT/LIDT, control registers). Segments are real mode's (base =
 * selector × 16, 16-bit offsets; the 0x66/0x67 prefixes select 32-bit operands and addresses).
 * A far jump once CR0.PE is set loads CS from the GDT, and the interpreter takes over from there.
 * Anything outside the subset, and any exception, stops the guest with the instruction named
 * (there is no interrupt vector table delivery: the trampoline runs with interrupts off).
 *
 * All state stays in the Vcpu (CS.selector and the data selectors, IP in rip, CR0 without PE),
 * so a vCPU saved in real mode restores into real mode.
 */
import * as iced from "iced-x86";
import type { Exit, Gva, Vcpu } from "../machine";
import { REGS } from "../machine/operands";

const { Code, OpKind, Mnemonic, Register, MemorySizeExt, Decoder, DecoderOptions } = iced;

/** EFLAGS bits (SDM Vol. 1 §3.4.3). */
const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, IF = 0x200, DF = 0x400, OF = 0x800;
const CR0_PE = 1;

/** Whether `cpu` is executing 16-bit code (real mode, or CS not yet reloaded after CR0.PE). */
export function runs16BitCode(cpu: Vcpu): boolean {
  return !cpu.mode64 && !cpu.cs.db;
}

/** An instruction or event outside the emulated subset. */
export class RealModeError extends Error {}

type Seg = "es" | "cs" | "ss" | "ds" | "fs" | "gs";
const SEG_OF = new Map<number, Seg>([
  [Register.ES, "es"], [Register.CS, "cs"], [Register.SS, "ss"], [Register.DS, "ds"], [Register.FS, "fs"], [Register.GS, "gs"],
]);

const maskOf = (bytes: number): number => (bytes === 4 ? 0xffffffff : bytes === 2 ? 0xffff : 0xff);
const signOf = (bytes: number): number => (bytes === 4 ? 0x80000000 : bytes === 2 ? 0x8000 : 0x80);

function parity(v: number): number {
  let x = v & 0xff;
  x ^= x >> 4; x ^= x >> 2; x ^= x >> 1;
  return (x & 1) === 0 ? PF : 0;
}

/** ZF, SF, PF of a result. */
function szp(r: number, bytes: number): number {
  return (r === 0 ? ZF : 0) | ((r & signOf(bytes)) !== 0 ? SF : 0) | parity(r);
}

/** One emulation run: the vCPU's registers, with EFLAGS held eagerly while it lasts. */
class RealModeRun {
  fl: number;
  constructor(readonly c: Vcpu) {
    this.fl = c.getFlags();
  }

  segBase(s: Seg): number {
    const sel = s === "cs" ? this.c.cs.selector : this.c[s];
    return (sel & 0xffff) * 16;
  }

  // ---- registers ----
  reg(r: number): number {
    const info = REGS.get(r);
    if (info) {
      const v = this.c.R[info.r]! >>> 0;
      return info.h ? (v >>> 8) & 0xff : (v & maskOf(info.s)) >>> 0;
    }
    const s = SEG_OF.get(r);
    if (s) return s === "cs" ? this.c.cs.selector : this.c[s];
    throw new RealModeError(`register ${Register[r]}`);
  }

  setReg(r: number, v: number): void {
    const info = REGS.get(r);
    if (!info) throw new RealModeError(`register ${Register[r]}`);
    const R = this.c.R;
    if (info.s === 4) { R[info.r] = v | 0; this.c.H[info.r] = 0; return; }
    const m = maskOf(info.s), sh = info.h ? 8 : 0;
    R[info.r] = (R[info.r]! & ~(m << sh)) | ((v & m) << sh);
  }

  // ---- memory ----
  read(lin: number, bytes: number): number {
    return bytes === 1 ? this.c.r8(lin) & 0xff : bytes === 2 ? this.c.r16(lin) & 0xffff : this.c.r32(lin) >>> 0;
  }

  write(lin: number, bytes: number, v: number): void {
    if (bytes === 1) this.c.w8(lin, v); else if (bytes === 2) this.c.w16(lin, v); else this.c.w32(lin, v | 0);
  }

  /** The linear address of a memory operand (16- or 32-bit addressing, the segment's base). */
  ea(ins: iced.Instruction): number {
    let off = Number(BigInt.asUintN(32, ins.memoryDisplacement));
    let wide = ins.memoryDisplSize === 4;
    for (const [r, scale] of [[ins.memoryBase, 1], [ins.memoryIndex, ins.memoryIndexScale]] as const) {
      if (r === Register.None) continue;
      const info = REGS.get(r);
      if (!info) throw new RealModeError(`address register ${Register[r]}`);
      wide = info.s === 4;
      off += this.reg(r) * scale;
    }
    off = wide ? off >>> 0 : off & 0xffff;
    const seg = SEG_OF.get(ins.memorySegment);
    if (!seg) throw new RealModeError("memory operand without a segment");
    return this.segBase(seg) + off;
  }

  // ---- operands ----
  size(ins: iced.Instruction, n: number): number {
    const k = ins.opKind(n);
    if (k === OpKind.Register) {
      const info = REGS.get(ins.opRegister(n));
      return info ? info.s : 2;
    }
    if (k === OpKind.Memory) return MemorySizeExt.size(ins.memorySize);
    return this.size(ins, 0);
  }

  get(ins: iced.Instruction, n: number, bytes: number): number {
    switch (ins.opKind(n)) {
      case OpKind.Register: return this.reg(ins.opRegister(n));
      case OpKind.Memory: return this.read(this.ea(ins), bytes);
      default: return Number(BigInt.asUintN(bytes * 8, ins.immediate(n)));
    }
  }

  put(ins: iced.Instruction, n: number, bytes: number, v: number): void {
    if (ins.opKind(n) === OpKind.Register) this.setReg(ins.opRegister(n), v);
    else if (ins.opKind(n) === OpKind.Memory) this.write(this.ea(ins), bytes, v);
    else throw new RealModeError("store to an immediate");
  }

  // ---- stack (SS:SP, 16-bit stack pointer) ----
  push(bytes: number, v: number): void {
    const sp = ((this.c.R[4]! & 0xffff) - bytes) & 0xffff;
    this.setReg(Register.SP, sp);
    this.write(this.segBase("ss") + sp, bytes, v);
  }

  pop(bytes: number): number {
    const sp = this.c.R[4]! & 0xffff;
    const v = this.read(this.segBase("ss") + sp, bytes);
    this.setReg(Register.SP, (sp + bytes) & 0xffff);
    return v;
  }

  // ---- arithmetic with EFLAGS (SDM Vol. 2 per instruction) ----
  setArith(bits: number, keep = 0): void {
    this.fl = (this.fl & ~(CF | PF | AF | ZF | SF | OF) ) | (this.fl & keep) | bits;
  }

  alu(op: number, a: number, b: number, bytes: number): number | undefined {
    const m = maskOf(bytes), sign = signOf(bytes);
    const carry = this.fl & CF;
    switch (op) {
      case Mnemonic.Add: case Mnemonic.Adc: {
        const cin = op === Mnemonic.Adc ? carry : 0;
        const full = a + b + cin, r = full % (m + 1);
        this.setArith(szp(r, bytes) | (full > m ? CF : 0) | (((a ^ r) & (b ^ r) & sign) !== 0 ? OF : 0) | ((a ^ b ^ r) & AF));
        return r;
      }
      case Mnemonic.Sub: case Mnemonic.Sbb: case Mnemonic.Cmp: {
        const bin = op === Mnemonic.Sbb ? carry : 0;
        const r = (a - b - bin + (m + 1)) % (m + 1);
        this.setArith(szp(r, bytes) | (a < b + bin ? CF : 0) | (((a ^ b) & (a ^ r) & sign) !== 0 ? OF : 0) | ((a ^ b ^ r) & AF));
        return op === Mnemonic.Cmp ? undefined : r;
      }
      case Mnemonic.And: case Mnemonic.Test: case Mnemonic.Or: case Mnemonic.Xor: {
        const r = (op === Mnemonic.Or ? a | b : op === Mnemonic.Xor ? a ^ b : a & b) >>> 0;
        this.setArith(szp(r & m, bytes));
        return op === Mnemonic.Test ? undefined : r & m;
      }
    }
    throw new RealModeError(`ALU operation ${Mnemonic[op]}`);
  }

  shift(op: number, a: number, count: number, bytes: number): number {
    const n = count & 31, bits = bytes * 8, m = maskOf(bytes), sign = signOf(bytes);
    if (n === 0) return a;
    let r: number, cf: number;
    if (op === Mnemonic.Shl || op === Mnemonic.Sal) {
      r = n >= 32 ? 0 : (a * 2 ** n) % (m + 1);
      cf = n <= bits ? Math.floor(a / 2 ** (bits - n)) & 1 : 0;
      this.setArith(szp(r, bytes) | (cf ? CF : 0) | ((((r & sign) !== 0 ? 1 : 0) ^ cf) !== 0 ? OF : 0));
    } else if (op === Mnemonic.Shr) {
      r = Math.floor(a / 2 ** n) & m;
      cf = n <= bits ? Math.floor(a / 2 ** (n - 1)) & 1 : 0;
      this.setArith(szp(r, bytes) | (cf ? CF : 0) | ((a & sign) !== 0 ? OF : 0));
    } else if (op === Mnemonic.Sar) {
      const s = (a & sign) !== 0 ? a - (m + 1) : a;
      r = (Math.floor(s / 2 ** Math.min(n, bits - 1)) + (m + 1)) % (m + 1);
      cf = Math.floor(s / 2 ** (Math.min(n, bits) - 1)) & 1;
      this.setArith(szp(r, bytes) | (cf ? CF : 0));
    } else throw new RealModeError(`shift ${Mnemonic[op]}`);
    return r;
  }

  cond(cc: number): boolean {
    const f = this.fl;
    switch (cc) {
      case iced.ConditionCode.o: return (f & OF) !== 0;
      case iced.ConditionCode.no: return (f & OF) === 0;
      case iced.ConditionCode.b: return (f & CF) !== 0;
      case iced.ConditionCode.ae: return (f & CF) === 0;
      case iced.ConditionCode.e: return (f & ZF) !== 0;
      case iced.ConditionCode.ne: return (f & ZF) === 0;
      case iced.ConditionCode.be: return (f & (CF | ZF)) !== 0;
      case iced.ConditionCode.a: return (f & (CF | ZF)) === 0;
      case iced.ConditionCode.s: return (f & SF) !== 0;
      case iced.ConditionCode.ns: return (f & SF) === 0;
      case iced.ConditionCode.p: return (f & PF) !== 0;
      case iced.ConditionCode.np: return (f & PF) === 0;
      case iced.ConditionCode.l: return ((f & SF) !== 0) !== ((f & OF) !== 0);
      case iced.ConditionCode.ge: return ((f & SF) !== 0) === ((f & OF) !== 0);
      case iced.ConditionCode.le: return (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF) !== 0);
      case iced.ConditionCode.g: return (f & ZF) === 0 && ((f & SF) !== 0) === ((f & OF) !== 0);
    }
    throw new RealModeError(`condition ${cc}`);
  }

  /**
   * Executes one instruction at CS:IP. Returns an exit for the hypervisor (the instruction
   * retired, IP past it), or undefined to go on.
   */
  step(): Exit | undefined {
    const c = this.c;
    const ip = c.rip & 0xffff;
    const lin = this.segBase("cs") + ip;
    const bytes = new Uint8Array(15);
    for (let k = 0; k < 15; k++) bytes[k] = c.r8(lin + k);
    const dec = new Decoder(16, bytes, DecoderOptions.None);
    dec.ip = BigInt(ip);
    const ins = dec.decode();
    dec.free();
    try {
      const next = ins.nextIP16;
      const x = this.exec(ins, ip, next);
      c.icount++;
      return x;
    } finally {
      ins.free();
    }
  }

  private exec(ins: iced.Instruction, ip: number, next: number): Exit | undefined {
    const c = this.c;
    const done = (to = next): undefined => { c.rip = to; return undefined; };
    const exitWith = (x: Exit): Exit => { c.rip = next; return x; };
    const rip = ip as Gva, nextRip = next as Gva;
    if (ins.hasRepPrefix || ins.hasRepnePrefix || ins.hasLockPrefix) throw new RealModeError(`${ins.toString()} (prefixed)`);
    const mn = ins.mnemonic;
    switch (mn) {
      case Mnemonic.Nop: case Mnemonic.Wbinvd: case Mnemonic.Invd: case Mnemonic.Pause: case Mnemonic.Lfence: case Mnemonic.Mfence: case Mnemonic.Sfence:
        return done();
      case Mnemonic.Cli: this.fl &= ~IF; return done();
      case Mnemonic.Sti: this.fl |= IF; return done();
      case Mnemonic.Cld: this.fl &= ~DF; return done();
      case Mnemonic.Std: this.fl |= DF; return done();
      case Mnemonic.Clc: this.fl &= ~CF; return done();
      case Mnemonic.Stc: this.fl |= CF; return done();
      case Mnemonic.Cmc: this.fl ^= CF; return done();
      case Mnemonic.Hlt: return exitWith({ kind: "hlt", rip, nextRip });
      case Mnemonic.Cpuid: return exitWith({ kind: "cpuid", leaf: c.R[0]! >>> 0, subleaf: c.R[1]! >>> 0, rip, nextRip });
      case Mnemonic.Rdmsr: case Mnemonic.Wrmsr: {
        // The vCPU answers its architectural MSRs (EFER...) itself; others are the hypervisor's.
        c.pendingExit = undefined;
        if (mn === Mnemonic.Rdmsr) c.rdmsr(0, ip, next); else c.wrmsr(ip, next);
        const x = c.pendingExit as Exit | undefined;
        c.pendingExit = undefined;
        return x ? exitWith(x) : done();
      }
      case Mnemonic.Lgdt: case Mnemonic.Lidt: {
        // LGDT/LIDT m16&32: a 24-bit base with a 16-bit operand size, 32 bits with 0x66.
        const ea = this.ea(ins);
        const limit = this.read(ea, 2), base = this.read(ea + 2, 4) & (ins.code === Code.Lgdt_m1632 || ins.code === Code.Lidt_m1632 ? 0xffffffff : 0xffffff);
        if (mn === Mnemonic.Lgdt) { c.gdtrBase = base >>> 0; c.gdtrLimit = limit; } else { c.idtrBase = base >>> 0; c.idtrLimit = limit; }
        return done();
      }
      case Mnemonic.Mov: {
        const k0 = ins.opKind(0), k1 = ins.opKind(1);
        if (k0 === OpKind.Register && ins.opRegister(0) >= Register.CR0 && ins.opRegister(0) <= Register.CR15) {
          const v = this.reg(ins.opRegister(1));
          if ((v & CR0_PE) === 0 && ins.opRegister(0) === Register.CR0 && (v & 0x80000000)) throw new RealModeError("CR0.PG without PE");
          c.writeCr(ins.opRegister(0) - Register.CR0, v, 0);
          return done();
        }
        if (k1 === OpKind.Register && ins.opRegister(1) >= Register.CR0 && ins.opRegister(1) <= Register.CR15) {
          this.setReg(ins.opRegister(0), c.readCr(ins.opRegister(1) - Register.CR0));
          return done();
        }
        if (k0 === OpKind.Register && SEG_OF.has(ins.opRegister(0))) {
          const s = SEG_OF.get(ins.opRegister(0))!;
          if (s === "cs") throw new RealModeError("mov to CS");
          c[s] = this.get(ins, 1, 2) & 0xffff;
          return done();
        }
        const n = this.size(ins, 0);
        this.put(ins, 0, n, this.get(ins, 1, n));
        return done();
      }
      case Mnemonic.Movzx: case Mnemonic.Movsx: {
        const n = this.size(ins, 1), v = this.get(ins, 1, n);
        const ext = mn === Mnemonic.Movsx && (v & signOf(n)) !== 0 ? v - (maskOf(n) + 1) : v;
        this.put(ins, 0, this.size(ins, 0), ext >>> 0);
        return done();
      }
      case Mnemonic.Lea: {
        this.put(ins, 0, this.size(ins, 0), this.ea(ins) - this.segBase(SEG_OF.get(ins.memorySegment) ?? "ds"));
        return done();
      }
      case Mnemonic.Xchg: {
        const n = this.size(ins, 0), a = this.get(ins, 0, n), b = this.get(ins, 1, n);
        this.put(ins, 0, n, b); this.put(ins, 1, n, a);
        return done();
      }
      case Mnemonic.Add: case Mnemonic.Adc: case Mnemonic.Sub: case Mnemonic.Sbb: case Mnemonic.Cmp:
      case Mnemonic.And: case Mnemonic.Or: case Mnemonic.Xor: case Mnemonic.Test: {
        const n = this.size(ins, 0);
        const r = this.alu(mn, this.get(ins, 0, n), this.get(ins, 1, n), n);
        if (r !== undefined) this.put(ins, 0, n, r);
        return done();
      }
      case Mnemonic.Inc: case Mnemonic.Dec: {
        const n = this.size(ins, 0), keep = this.fl & CF;
        const r = this.alu(mn === Mnemonic.Inc ? Mnemonic.Add : Mnemonic.Sub, this.get(ins, 0, n), 1, n)!;
        this.fl = (this.fl & ~CF) | keep;
        this.put(ins, 0, n, r);
        return done();
      }
      case Mnemonic.Neg: case Mnemonic.Not: {
        const n = this.size(ins, 0), a = this.get(ins, 0, n);
        if (mn === Mnemonic.Not) { this.put(ins, 0, n, ~a & maskOf(n)); return done(); }
        this.put(ins, 0, n, this.alu(Mnemonic.Sub, 0, a, n)!);
        return done();
      }
      case Mnemonic.Shl: case Mnemonic.Sal: case Mnemonic.Shr: case Mnemonic.Sar: {
        const n = this.size(ins, 0);
        const count = ins.opCount > 1 ? (ins.opKind(1) === OpKind.Register ? this.reg(ins.opRegister(1)) : Number(ins.immediate(1))) : 1;
        this.put(ins, 0, n, this.shift(mn, this.get(ins, 0, n), count, n));
        return done();
      }
      case Mnemonic.Bt: case Mnemonic.Bts: case Mnemonic.Btr: case Mnemonic.Btc: {
        if (ins.opKind(0) !== OpKind.Register) throw new RealModeError(`${ins.toString()} (bit test on memory)`);
        const n = this.size(ins, 0), a = this.get(ins, 0, n);
        const bit = (ins.opKind(1) === OpKind.Register ? this.reg(ins.opRegister(1)) : Number(ins.immediate(1))) & (n * 8 - 1);
        const m = 2 ** bit, set = Math.floor(a / m) % 2 === 1;
        this.fl = (this.fl & ~CF) | (set ? CF : 0);
        const r = mn === Mnemonic.Bts ? (set ? a : a + m) : mn === Mnemonic.Btr ? (set ? a - m : a) : mn === Mnemonic.Btc ? (set ? a - m : a + m) : a;
        if (mn !== Mnemonic.Bt) this.put(ins, 0, n, r);
        return done();
      }
      case Mnemonic.Push: {
        const n = ins.opKind(0) === OpKind.Register || ins.opKind(0) === OpKind.Memory ? this.size(ins, 0)
          : ins.code === Code.Pushd_imm8 || ins.code === Code.Pushd_imm32 ? 4 : 2;
        this.push(n, this.get(ins, 0, n));
        return done();
      }
      case Mnemonic.Pop: {
        const n = this.size(ins, 0);
        if (ins.opKind(0) === OpKind.Register && SEG_OF.has(ins.opRegister(0))) {
          const s = SEG_OF.get(ins.opRegister(0))!;
          if (s === "cs") throw new RealModeError("pop CS");
          c[s] = this.pop(2);
          return done();
        }
        this.put(ins, 0, n, this.pop(n));
        return done();
      }
      case Mnemonic.Pushf: this.push(2, this.fl & 0xffff); return done();
      case Mnemonic.Pushfd: this.push(4, this.fl & 0x00fcffff); return done(); // VM and RF read as 0
      case Mnemonic.Popf: this.fl = (this.fl & 0xffff0000) | this.pop(2) | 2; return done();
      case Mnemonic.Popfd: this.fl = (this.pop(4) & 0x003f7fd7) | 2; return done();
      case Mnemonic.Jmp: {
        if (ins.opKind(0) === OpKind.FarBranch16 || ins.opKind(0) === OpKind.FarBranch32) {
          const sel = ins.farBranchSelector, to = ins.opKind(0) === OpKind.FarBranch16 ? ins.farBranch16 : ins.farBranch32;
          return this.farJump(sel, to);
        }
        return done(this.nearTarget(ins));
      }
      case Mnemonic.Call: {
        const to = this.nearTarget(ins);
        this.push(ins.code === Code.Call_rel32_32 ? 4 : 2, next);
        return done(to);
      }
      case Mnemonic.Ret: {
        const to = this.pop(ins.code === Code.Retnd || ins.code === Code.Retnd_imm16 ? 4 : 2);
        if (ins.opCount > 0) this.setReg(Register.SP, ((c.R[4]! & 0xffff) + Number(ins.immediate(0))) & 0xffff);
        return done(to);
      }
      case Mnemonic.Int3:
        throw new RealModeError("int3 (no interrupt vector table delivery in the emulated subset)");
    }
    if (ins.conditionCode !== iced.ConditionCode.None && ins.opCount === 1 &&
      (ins.opKind(0) === OpKind.NearBranch16 || ins.opKind(0) === OpKind.NearBranch32)) {
      return done(this.cond(ins.conditionCode) ? this.nearTarget(ins) : next);
    }
    if (ins.code === Code.INVALID) throw new RealModeError("invalid opcode");
    throw new RealModeError(ins.toString());
  }

  private nearTarget(ins: iced.Instruction): number {
    switch (ins.opKind(0)) {
      case OpKind.NearBranch16: return ins.nearBranch16;
      case OpKind.NearBranch32: return ins.nearBranch32;
      case OpKind.Register: case OpKind.Memory: return this.get(ins, 0, this.size(ins, 0));
    }
    throw new RealModeError(`${ins.toString()} (branch form)`);
  }

  /**
   * jmp ptr16:16 / ptr16:32. In real mode CS becomes selector × 16; with CR0.PE set the selector
   * names a GDT descriptor (SDM Vol. 3A §9.9.1 step 4: the far jump after setting PE), and a
   * 32-bit or 64-bit code segment hands the vCPU to the interpreter.
   */
  private farJump(sel: number, to: number): undefined {
    const c = this.c;
    if ((c.cr0 & CR0_PE) === 0) {
      c.cs = { selector: sel & 0xffff, long: false, db: false };
      c.rip = to & 0xffff;
      return undefined;
    }
    c.loadCs(sel);
    if (!c.cs.db && !c.cs.long) throw new RealModeError(`far jump to 16-bit protected-mode segment 0x${sel.toString(16)}`);
    c.rip = to >>> 0;
    return undefined;
  }
}

/**
 * Runs 16-bit code on `cpu` for up to `budget` instructions: until an exit for the hypervisor,
 * the far jump out of 16-bit code (a budget exit; the next slice runs compiled code), or the
 * budget. An instruction outside the subset, or an exception, is an `unsupported` exit naming it.
 */
export function runRealMode(cpu: Vcpu, budget: number): Exit {
  const run = new RealModeRun(cpu);
  try {
    for (let n = 0; n < budget; n++) {
      if (!runs16BitCode(cpu)) return { kind: "budget", rip: cpu.rip as Gva };
      const x = run.step();
      if (x) return x;
    }
    return { kind: "budget", rip: cpu.rip as Gva };
  } catch (e) {
    const at = `${cpu.cs.selector.toString(16).padStart(4, "0")}:${(cpu.rip & 0xffff).toString(16).padStart(4, "0")}`;
    if (e instanceof RealModeError) return { kind: "unsupported", rip: cpu.rip as Gva, reason: `real mode at ${at}: ${e.message} is not emulated` };
    // The machine's own signals: an exit (a guest-physical address with no memory) or a fault.
    if (typeof e === "object" && e !== null && "exit" in e) return (e as { exit: Exit }).exit;
    const why = typeof e === "object" && e !== null && "reason" in e ? String((e as { reason: unknown }).reason) : e instanceof Error ? e.message : String(e);
    return { kind: "unsupported", rip: cpu.rip as Gva, reason: `real mode at ${at}: ${why} (exceptions in real mode are not delivered)` };
  } finally {
    cpu.setFlags(run.fl);
  }
}
