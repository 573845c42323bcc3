/**
 * The x86-64 vCPU: architectural state, the soft-MMU (guest page walk + P2M collapsed into one
 * TLB entry), exception/interrupt delivery through the IDT, and the run loop over compiled blocks.
 *
 * Registers are two Int32Arrays (low and high halves) so the hot path never touches BigInt.
 * Addresses are signed doubles (canonical 48-bit addresses are exact). Flags are lazy (flags.ts).
 */
import { Block, compileBlock } from "./codegen";
import { Exit, ExitSignal, GuestFault, HAS_ERROR_CODE, Vector } from "./exits";
import { ARITH_FLAGS, CF, DF, FlagOp, IF, TF, computeFlags, evalCond } from "./flags";
import { Machine } from "./machine";
import { P2m } from "./p2m";
import {
  CR0_PE, CR0_PG, CR0_WP, CR4_PAE, EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE, GPR_NAMES, MSR_CSTAR, MSR_EFER,
  MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_LSTAR, MSR_SFMASK, MSR_STAR, MSR_TSC, MSR_TSC_AUX,
  PFEC_I, PFEC_P, PFEC_RSVD, PFEC_U, PFEC_W, PTE_A, PTE_D, PTE_PS, gprIndex,
} from "./registers";
import { DomId, Gpa, Gva, PAGE_SIZE, gva } from "./types";
import { MachineError } from "./errors";
import { TraceRing } from "./trace";
import type { MimeBundle } from "../render/mime";
import { renderVcpu } from "../render/registers";
import { renderListing, listingText } from "../render/disasm";
import { WalkLevel, WalkResult, renderWalk } from "../render/pagewalk";
import { disassemble, symbolizerFrom } from "./disasm";

const TLB_SIZE = 256;
const CANON = 2 ** 47;
const TWO32 = 4294967296;
/** Permission bits cached with a walk result. */
const WP_WRITABLE_NOW = 1;

export type CpuMode = "long64" | "protected32";

export interface SegmentState {
  selector: number;
  /** CS only: 64-bit code segment (L bit). */
  long: boolean;
  /** CS only: default operand size 32 (D bit). */
  db: boolean;
}

export interface VcpuInit {
  mode: CpuMode;
  rip: number | bigint;
  rsp?: number | bigint;
  cr3?: number | bigint;
  regs?: Partial<Record<(typeof GPR_NAMES)[number], number | bigint>>;
  rflags?: number;
}

export class Vcpu {
  /** General-purpose registers, low and high 32 bits. */
  readonly R = new Int32Array(16);
  readonly H = new Int32Array(16);
  /** RIP as a signed double (see types.ts Gva). */
  rip = 0;
  // lazy flags (flags.ts)
  fop = 0; fr = 0; frh = 0; fa = 0; fah = 0; fb = 0; fbh = 0; fc = 0; fbits = 0;
  /** EFLAGS other than the six arithmetic flags (bit 1 is always 1). */
  eflagsRest = 0x2;
  cr0 = CR0_PE; cr2 = 0; cr3 = 0; cr4 = 0; cr8 = 0; efer = 0;
  readonly dr = [0, 0, 0, 0, 0, 0, 0x0ffff0ff0, 0x400];
  gdtrBase = 0; gdtrLimit = 0xffff; idtrBase = 0; idtrLimit = 0xffff;
  trSelector = 0; trBase = 0; ldtr = 0;
  cs: SegmentState = { selector: 0x08, long: false, db: true };
  ss = 0x10; ds = 0x10; es = 0x10; fs = 0; gs = 0;
  fsBase = 0; gsBase = 0; kernelGsBase = 0;
  star = 0n; lstar = 0; cstar = 0; sfmask = 0; tscAux = 0;
  cpl = 0;
  /** Derived: executing 64-bit code (EFER.LMA && CS.L). */
  mode64 = false;
  /** Derived: CR0.PG (guest page tables in use). */
  paging = false;
  /** Instructions retired: the vCPU's virtual time. */
  icount = 0;
  /** rdtsc = icount + tscOffset (the owner may scale or offset it). */
  tscOffset = 0;

  // ---- interpreter scratch (read by generated code) ----
  /** High half returned by 64-bit helpers. */
  tH = 0;
  /** Index in the current block of the instruction executing (for precise faults). */
  ix = 0;
  /** Set to stop the current block after the current instruction (SMC, watchpoint). */
  stop = 0;
  /** Instructions retired by earlier iterations of a self-looping block. */
  lb = 0;
  /** Bumped whenever any translation or the mode may have changed (block chaining key). */
  private tlbGen = 0;
  pendingExit: Exit | undefined;

  // ---- soft TLB: direct-mapped by virtual page ----
  private readonly rTag = new Float64Array(TLB_SIZE).fill(NaN);
  private readonly rView: DataView[] = new Array<DataView>(TLB_SIZE);
  private readonly wTag = new Float64Array(TLB_SIZE).fill(NaN);
  private readonly wView: DataView[] = new Array<DataView>(TLB_SIZE);
  private readonly xTag = new Float64Array(TLB_SIZE).fill(NaN);
  private readonly xPhys = new Float64Array(TLB_SIZE);
  private seenEpoch = -1;
  private seenCodeEpoch = -1;
  /** Walk result side channel. */
  private walkPerm = 0;
  /** Some TLB entry came from a 2 MiB / 1 GiB page (invlpg must then drop more than one entry). */
  private largePagesCached = false;
  tlbFlushes = 0;

  // ---- events and debugging ----
  private pendingIrq: number[] = [];
  private interruptShadow = false;
  private stopRequested = false;
  private readonly breakpoints = new Map<number, string | undefined>();
  private skipBreakpointAt = NaN;
  private readonly watches: { address: number; size: number }[] = [];
  private readonly watchPages = new Set<number>();
  readonly trace = new TraceRing();
  /** Symbols for views and breakpoints (name → address), e.g. from an ELF file. */
  symbols = new Map<string, number>();

  constructor(readonly machine: Machine, readonly domain: DomId, readonly id = 0, init?: VcpuInit) {
    this.p2m = machine.p2m(domain);
    if (init) this.reset(init);
    else this.updateMode();
  }
  readonly p2m: P2m;

  // =========================================================================================
  // Public state API
  // =========================================================================================

  /** Puts the vCPU into a mode with the given registers (all others zero). */
  reset(init: VcpuInit): void {
    this.R.fill(0); this.H.fill(0);
    this.setFlags(init.rflags ?? 0x2);
    if (init.mode === "protected32") {
      // The PVH entry state (xen/include/public/arch-x86/hvm/start_info.h): 32-bit flat
      // protected mode, paging off, CS/DS/ES/SS flat 4 GiB.
      this.cr0 = CR0_PE; this.cr4 = 0; this.efer = 0; this.cr3 = 0;
      this.cs = { selector: 0x10, long: false, db: true };
      this.ss = this.ds = this.es = 0x18;
    } else {
      this.cr0 = CR0_PE | CR0_PG | CR0_WP | (1 << 4) | (1 << 5);
      this.cr4 = CR4_PAE;
      this.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
      this.cs = { selector: 0x08, long: true, db: false };
      this.ss = this.ds = this.es = 0x10;
      this.cr3 = init.cr3 === undefined ? 0 : Number(init.cr3);
    }
    this.cpl = 0;
    this.rip = gva(init.rip);
    if (init.rsp !== undefined) this.setReg("rsp", init.rsp);
    for (const [k, v] of Object.entries(init.regs ?? {})) this.setReg(k, v as number | bigint);
    this.updateMode();
    this.flushTlb();
  }

  getReg(name: string): bigint {
    const n = name.toLowerCase();
    const i = gprIndex(n);
    if (i >= 0) return (BigInt(this.H[i]! >>> 0) << 32n) | BigInt(this.R[i]! >>> 0);
    switch (n) {
      case "rip": return BigInt.asUintN(64, BigInt(this.rip));
      case "rflags": case "eflags": return BigInt(this.getFlags());
      case "cr0": return BigInt(this.cr0 >>> 0);
      case "cr2": return BigInt.asUintN(64, BigInt(this.cr2));
      case "cr3": return BigInt(this.cr3);
      case "cr4": return BigInt(this.cr4 >>> 0);
      case "efer": return BigInt(this.efer >>> 0);
      case "fs_base": return BigInt.asUintN(64, BigInt(this.fsBase));
      case "gs_base": return BigInt.asUintN(64, BigInt(this.gsBase));
    }
    throw new MachineError(`unknown register ${name}`);
  }

  setReg(name: string, value: number | bigint): void {
    const n = name.toLowerCase();
    const v = BigInt.asUintN(64, BigInt(value));
    const i = gprIndex(n);
    if (i >= 0) {
      this.R[i] = Number(v & 0xffffffffn) | 0;
      this.H[i] = Number(v >> 32n) | 0;
      return;
    }
    switch (n) {
      case "rip": this.rip = gva(v); return;
      case "rflags": case "eflags": this.setFlags(Number(v & 0xffffffffn)); return;
      case "cr3": this.cr3 = Number(v); this.flushTlb(); return;
      case "fs_base": this.fsBase = gva(v); return;
      case "gs_base": this.gsBase = gva(v); return;
    }
    throw new MachineError(`unknown or read-only register ${name}`);
  }

  /** RAX..R15 as bigints, plus rip and rflags. */
  regs(): Record<string, bigint> {
    const o: Record<string, bigint> = {};
    for (const r of GPR_NAMES) o[r] = this.getReg(r);
    o.rip = this.getReg("rip");
    o.rflags = this.getReg("rflags");
    return o;
  }

  getFlags(): number {
    return (this.eflagsRest & ~ARITH_FLAGS) | computeFlags(this) | 2;
  }

  setFlags(v: number): void {
    this.fop = FlagOp.Eager << 2;
    this.fbits = v & ARITH_FLAGS;
    this.eflagsRest = (v & ~ARITH_FLAGS & 0x3f7fd7) | 2;
  }

  get mode(): CpuMode {
    return this.mode64 ? "long64" : "protected32";
  }

  /** Recomputes derived mode bits after CR0/EFER/CS changes. */
  updateMode(): void {
    this.paging = (this.cr0 & CR0_PG) !== 0;
    if (this.paging && (this.efer & EFER_LME) && (this.cr4 & CR4_PAE)) this.efer |= EFER_LMA;
    else this.efer &= ~EFER_LMA;
    this.mode64 = (this.efer & EFER_LMA) !== 0 && this.cs.long;
    this.tlbGen++;
  }

  // =========================================================================================
  // Events, debugging
  // =========================================================================================

  /** Queues an external interrupt; delivered at the next instruction boundary with IF=1. */
  injectInterrupt(vector: number): void {
    if (!(vector >= 32 && vector <= 255)) throw new MachineError(`interrupt vector ${vector} must be 32..255`);
    this.pendingIrq.push(vector);
  }

  get pendingInterrupts(): readonly number[] {
    return this.pendingIrq;
  }

  /**
   * Delivers an exception now (e.g. #GP for an MSR the owner refuses). If `atRip` is given, RIP is
   * first rewound to it (the faulting instruction) as for a fault.
   */
  injectException(vector: number, errorCode?: number, atRip?: number): Exit | undefined {
    if (atRip !== undefined) {
      this.rip = atRip;
      this.icount--;
    }
    return this.deliver(vector, HAS_ERROR_CODE.has(vector) ? errorCode ?? 0 : undefined, false, this.rip, "injected");
  }

  /**
   * Makes the current (or next) `run` return an `interrupt` exit at the next block boundary:
   * for an owner's callback, a timer or a Jupyter interrupt between time slices.
   */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Answers a cpuid exit. */
  completeCpuid(eax: number, ebx: number, ecx: number, edx: number): void {
    this.setReg("rax", eax >>> 0); this.setReg("rbx", ebx >>> 0); this.setReg("rcx", ecx >>> 0); this.setReg("rdx", edx >>> 0);
  }

  /** Answers an rdmsr exit (EDX:EAX). */
  completeRdmsr(value: bigint): void {
    const v = BigInt.asUintN(64, value);
    this.setReg("rax", v & 0xffffffffn);
    this.setReg("rdx", v >> 32n);
  }

  /** Answers an `in` exit: writes AL/AX/EAX (EAX zero-extends as a 32-bit write does). */
  completeIn(size: 1 | 2 | 4, value: number): void {
    if (size === 1) this.R[0] = (this.R[0]! & ~0xff) | (value & 0xff);
    else if (size === 2) this.R[0] = (this.R[0]! & ~0xffff) | (value & 0xffff);
    else { this.R[0] = value | 0; this.H[0] = 0; }
  }

  /** Adds a breakpoint at an address or an ELF symbol known to `symbols`. */
  addBreakpoint(where: number | bigint | string): number {
    let a: number;
    let sym: string | undefined;
    if (typeof where === "string") {
      const s = this.symbols.get(where);
      if (s === undefined) throw new MachineError(`unknown symbol ${where}`);
      a = s; sym = where;
    } else a = gva(where);
    if (!this.breakpoints.has(a)) this.machine.breakAddrs.set(a, (this.machine.breakAddrs.get(a) ?? 0) + 1);
    this.breakpoints.set(a, sym);
    this.machine.flushCode(); // blocks (shared by all vCPUs) must end before breakpoints
    return a;
  }

  removeBreakpoint(where: number | bigint | string): boolean {
    const a = typeof where === "string" ? this.symbols.get(where) : gva(where);
    if (a === undefined) return false;
    const had = this.breakpoints.delete(a);
    if (had) {
      const n = (this.machine.breakAddrs.get(a) ?? 1) - 1;
      if (n <= 0) this.machine.breakAddrs.delete(a);
      else this.machine.breakAddrs.set(a, n);
      this.machine.flushCode();
    }
    return had;
  }

  get breakpointList(): number[] {
    return [...this.breakpoints.keys()];
  }

  /** True if any vCPU of the machine has a breakpoint at `a` (used to end compiled blocks). */
  hasBreakpoint(a: number): boolean {
    return this.machine.breakAddrs.size !== 0 && this.machine.breakAddrs.has(a);
  }

  /** Stops `run` after any instruction that writes [address, address+size) (guest-virtual). */
  addWatchpoint(address: number | bigint, size: number): void {
    const a = gva(address);
    this.watches.push({ address: a, size });
    for (let p = Math.floor(a / PAGE_SIZE); p <= Math.floor((a + size - 1) / PAGE_SIZE); p++) this.watchPages.add(p * PAGE_SIZE);
    this.flushTlb();
  }

  clearWatchpoints(): void {
    this.watches.length = 0;
    this.watchPages.clear();
    this.flushTlb();
  }

  // =========================================================================================
  // Running
  // =========================================================================================

  /** Executes one instruction (or delivers one pending event). */
  step(): Exit {
    return this.run(1);
  }

  /** Runs until an exit; at most `budget` instructions. */
  run(budget: number): Exit {
    let left = budget;
    const R = this.R, H = this.H;
    this.pendingExit = undefined;
    let prev: Block | undefined;
    for (;;) {
      if (this.seenEpoch !== this.machine.epoch) this.flushTlb();
      if (this.seenCodeEpoch !== this.machine.codeEpoch) this.flushWriteTlb();
      if (this.pendingIrq.length !== 0 && (this.eflagsRest & IF) && !this.interruptShadow) {
        const v = this.pendingIrq.shift()!;
        this.trace.event(this.rip, `interrupt ${v}`);
        const x = this.deliver(v, undefined, false, this.rip, "external interrupt");
        if (x) return x;
      }
      this.interruptShadow = false;
      if (this.stopRequested) {
        this.stopRequested = false;
        return this.exit({ kind: "interrupt", rip: this.rip as Gva });
      }
      if (left <= 0) return { kind: "budget", rip: this.rip as Gva };
      if (this.breakpoints.size !== 0 && this.breakpoints.has(this.rip) && this.skipBreakpointAt !== this.rip) {
        this.skipBreakpointAt = this.rip;
        return this.exit({ kind: "breakpoint", rip: this.rip as Gva, symbol: this.breakpoints.get(this.rip) });
      }
      this.skipBreakpointAt = NaN;
      const start = this.rip;
      let blk: Block | undefined;
      // Chaining: the previous block remembers its last two successors for this TLB generation.
      if (prev !== undefined && prev.sgen === this.tlbGen) {
        if (prev.s1va === start) blk = prev.s1;
        else if (prev.s2va === start) blk = prev.s2;
        if (blk !== undefined && !blk.valid) blk = undefined;
      }
      if (blk === undefined || blk.n > left) {
        try {
          blk = this.lookupBlock(start, false);
          if (blk.n > left) blk = this.lookupBlock(start, true);
        } catch (e) {
          prev = undefined;
          const x = this.handleThrow(e, start);
          if (x) return x;
          continue;
        }
        if (prev !== undefined && !blk.single) {
          if (prev.sgen !== this.tlbGen) { prev.sgen = this.tlbGen; prev.s1va = NaN; prev.s2va = NaN; }
          if (prev.s1va !== prev.s1va) { prev.s1va = start; prev.s1 = blk; }
          else { prev.s2va = start; prev.s2 = blk; }
        }
      }
      this.ix = 0;
      this.stop = 0;
      this.lb = 0;
      let n: number;
      try {
        n = blk.fn(this, R, H, left);
      } catch (e) {
        n = this.lb + this.ix;
        this.icount += n;
        left -= n;
        this.trace.block(start, n);
        prev = undefined;
        const x = this.handleThrow(e, blk.ips[this.ix]!);
        if (x) return x;
        continue;
      }
      this.icount += n;
      left -= n;
      this.trace.block(start, n);
      prev = blk;
      if (this.pendingExit !== undefined) {
        const x = this.pendingExit;
        this.pendingExit = undefined;
        prev = undefined;
        return this.exit(x);
      }
    }
  }

  private exit(x: Exit): Exit {
    this.trace.event(x.rip, `exit ${x.kind}`);
    return x;
  }

  /** Turns a throw from generated code or the MMU into delivery or an exit. */
  private handleThrow(e: unknown, rip: number): Exit | undefined {
    this.rip = rip;
    if (e instanceof GuestFault) {
      if (e.vector === Vector.PF && e.cr2 !== undefined) this.cr2 = e.cr2;
      this.trace.event(rip, `#${vectorName(e.vector)}${e.errorCode !== undefined ? `(${e.errorCode})` : ""} ${e.reason}`);
      return this.deliver(e.vector, e.errorCode, false, rip, e.reason);
    }
    if (e instanceof ExitSignal) {
      const x = e.exit as { rip: number };
      x.rip = rip;
      return this.exit(e.exit);
    }
    throw e;
  }

  private lookupBlock(va: number, single: boolean): Block {
    const phys = this.fetchPhys(va);
    const key = phys * 4 + (this.mode64 ? 2 : 0) + (single ? 1 : 0);
    const b = this.machine.code.get(key) as Block | undefined;
    if (b !== undefined && b.va === va && b.valid) return b;
    if (!(this.cr0 & CR0_PE)) throw new ExitSignal({ kind: "unsupported", rip: va as Gva, reason: "real mode is not modelled" });
    const nb = compileBlock(this, va, key, single);
    this.machine.registerBlock(nb);
    if (this.seenCodeEpoch !== this.machine.codeEpoch) this.flushWriteTlb();
    return nb;
  }

  /** Machine address of the instruction byte at `va` (exec access). */
  fetchPhys(va: number): number {
    const off = va & 4095;
    const i = (va >>> 12) & (TLB_SIZE - 1);
    if (this.xTag[i] === va - off) return this.xPhys[i]! + off;
    return this.xlate(va, 2);
  }

  /** Reads up to `len` code bytes at `va` for the decoder (stops at a fault after the first page). */
  fetchBytes(va: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let got = 0;
    while (got < len) {
      let phys: number;
      try {
        phys = this.fetchPhys(va + got);
      } catch (e) {
        if (got === 0) throw e;
        break;
      }
      const off = phys % PAGE_SIZE;
      const n = Math.min(len - got, PAGE_SIZE - off);
      const v = this.machine.memory.view(Math.floor(phys / PAGE_SIZE) as never);
      out.set(new Uint8Array(v.buffer, off, n), got);
      got += n;
    }
    return got === len ? out : out.subarray(0, got);
  }

  // =========================================================================================
  // Memory access (called by generated code)
  // =========================================================================================

  /** Canonical check of a 64-bit address (SDM Vol. 1 §3.3.7.1): #GP(0) otherwise. */
  cn(x: number): number {
    if (x >= -CANON && x < CANON) return x;
    throw new GuestFault(Vector.GP, 0, `non-canonical address ${x}`);
  }

  r8(ea: number): number {
    const off = ea & 4095, i = (ea >>> 12) & 255;
    if (this.rTag[i] === ea - off) return this.rView[i]!.getUint8(off);
    return this.readSlow(ea, 1);
  }
  r16(ea: number): number {
    const off = ea & 4095, i = (ea >>> 12) & 255;
    if (this.rTag[i] === ea - off && off <= 4094) return this.rView[i]!.getUint16(off, true);
    return this.readSlow(ea, 2);
  }
  r32(ea: number): number {
    const off = ea & 4095, i = (ea >>> 12) & 255;
    if (this.rTag[i] === ea - off && off <= 4092) return this.rView[i]!.getInt32(off, true);
    return this.readSlow(ea, 4) | 0;
  }
  /** 64-bit read: returns the low half, high half in `tH`. */
  r64(ea: number): number {
    const off = ea & 4095, i = (ea >>> 12) & 255;
    if (this.rTag[i] === ea - off && off <= 4088) {
      const v = this.rView[i]!;
      this.tH = v.getInt32(off + 4, true);
      return v.getInt32(off, true);
    }
    const lo = this.readSlow(ea, 4) | 0;
    this.tH = this.readSlow(ea + 4, 4) | 0;
    return lo;
  }
  w8(ea: number, v: number): void {
    const off = ea & 4095, i = (ea >>> 12) & 255;
    if (this.wTag[i] === ea - off) this.wView[i]!.setUint8(off, v);
    else this.writeSlow(ea, 1, v, 0);
  }
  w16(ea: number, v: number): void {
    const off = ea & 4095, i = (ea >>> 12) & 255;
    if (this.wTag[i] === ea - off && off <= 4094) this.wView[i]!.setUint16(off, v, true);
    else this.writeSlow(ea, 2, v, 0);
  }
  w32(ea: number, v: number): void {
    const off = ea & 4095, i = (ea >>> 12) & 255;
    if (this.wTag[i] === ea - off && off <= 4092) this.wView[i]!.setInt32(off, v, true);
    else this.writeSlow(ea, 4, v, 0);
  }
  w64(ea: number, lo: number, hi: number): void {
    const off = ea & 4095, i = (ea >>> 12) & 255;
    if (this.wTag[i] === ea - off && off <= 4088) {
      const w = this.wView[i]!;
      w.setInt32(off, lo, true);
      w.setInt32(off + 4, hi, true);
    } else this.writeSlow(ea, 8, lo, hi);
  }

  private readSlow(ea: number, size: number): number {
    let v = 0;
    for (let k = 0; k < size; k++) {
      const a = ea + k;
      const m = this.xlate(a, 0);
      const b = this.machine.memory.view(Math.floor(m / PAGE_SIZE) as never).getUint8(m % PAGE_SIZE);
      v += b * 2 ** (8 * k);
    }
    return v;
  }

  private writeSlow(ea: number, size: number, lo: number, hi: number): void {
    // Translate every byte first so a fault on the second page leaves memory untouched.
    const addrs: number[] = [];
    for (let k = 0; k < size; k++) {
      const a = ea + k;
      if (k === 0 || (a & 4095) === 0) addrs.push(this.xlate(a, 1));
      else addrs.push(addrs[k - 1]! + 1);
    }
    const mem = this.machine.memory;
    for (let k = 0; k < size; k++) {
      const m = addrs[k]!;
      const frame = Math.floor(m / PAGE_SIZE);
      if (this.machine.codeFrames[frame] !== 0) {
        this.machine.invalidateFrame(frame);
        this.stop = 1;
        this.trace.event(this.rip, `code frame ${frame} written: decode cache invalidated`);
      }
      const byte = k < 4 ? (lo >>> (8 * k)) & 255 : (hi >>> (8 * (k - 4))) & 255;
      mem.view(frame as never).setUint8(m % PAGE_SIZE, byte);
    }
    if (this.watches.length !== 0) this.checkWatch(ea, size, lo, hi);
  }

  private checkWatch(ea: number, size: number, lo: number, hi: number): void {
    for (const w of this.watches) {
      if (ea < w.address + w.size && w.address < ea + size) {
        const value = size === 8 ? (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0) : BigInt(lo >>> 0) & ((1n << BigInt(8 * size)) - 1n);
        this.pendingExit = { kind: "watchpoint", rip: 0 as Gva, address: ea as Gva, size, value };
        this.stop = 1;
        return;
      }
    }
  }

  flushTlb(): void {
    this.rTag.fill(NaN);
    this.wTag.fill(NaN);
    this.xTag.fill(NaN);
    this.seenEpoch = this.machine.epoch;
    this.seenCodeEpoch = this.machine.codeEpoch;
    this.largePagesCached = false;
    this.tlbFlushes++;
    this.tlbGen++;
  }

  /** Drops write translations only (a frame became code: stores to it must take the slow path). */
  private flushWriteTlb(): void {
    this.wTag.fill(NaN);
    this.seenCodeEpoch = this.machine.codeEpoch;
  }

  /** invlpg: drops one page from every TLB (all of them if a large page may cover it). */
  invlpg(va: number): void {
    if (this.largePagesCached) {
      this.flushTlb();
      return;
    }
    const page = va - (va & 4095);
    const i = (va >>> 12) & 255;
    if (this.rTag[i] === page) this.rTag[i] = NaN;
    if (this.wTag[i] === page) this.wTag[i] = NaN;
    if (this.xTag[i] === page) this.xTag[i] = NaN;
    this.tlbGen++;
  }

  /**
   * Translates `va` for an access (0 read, 1 write, 2 exec) to a machine address, filling the TLB.
   * Raises #PF (GuestFault) or a gpa-fault exit (ExitSignal).
   */
  xlate(va: number, acc: 0 | 1 | 2): number {
    const off = va & 4095;
    const page = va - off;
    let gpaPage: number;
    let writable: boolean;
    if (this.paging) {
      if (!(this.efer & EFER_LMA)) throw new ExitSignal({ kind: "unsupported", rip: 0 as Gva, reason: "paging without long mode (legacy 32-bit/PAE paging) is not modelled" });
      gpaPage = this.walk(va, acc);
      writable = (this.walkPerm & WP_WRITABLE_NOW) !== 0;
    } else {
      gpaPage = page >= 0 ? page % TWO32 : (page % TWO32) + TWO32;
      writable = true;
    }
    const g = gpaPage / PAGE_SIZE;
    const e = this.p2m.raw(g);
    const access = acc === 0 ? "read" : acc === 1 ? "write" : "exec";
    if (e < 0 || (acc === 1 && (e & 1) === 0)) {
      throw new ExitSignal({ kind: "gpa-fault", gpa: (gpaPage + off) as Gpa, access, rip: 0 as Gva, va: va as Gva });
    }
    const m = Math.floor(e / 2);
    const view = this.machine.memory.view(m as never);
    const i = (va >>> 12) & (TLB_SIZE - 1);
    if (acc === 2) {
      this.xTag[i] = page;
      this.xPhys[i] = m * PAGE_SIZE;
    } else {
      this.rTag[i] = page;
      this.rView[i] = view;
      if (writable && (e & 1) && this.machine.codeFrames[m] === 0 && !this.watchPages.has(page)) {
        this.wTag[i] = page;
        this.wView[i] = view;
      } else if (this.wTag[i] === page) this.wTag[i] = NaN;
    }
    return m * PAGE_SIZE + off;
  }

  /** Reads a 64-bit page-table entry at a guest-physical address as [lo, hi]. */
  private ptRead(a: number, va: number): [number, number, DataView, number] {
    const g = Math.floor(a / PAGE_SIZE);
    const e = this.p2m.raw(g);
    if (e < 0) throw new ExitSignal({ kind: "gpa-fault", gpa: a as Gpa, access: "read", rip: 0 as Gva, va: va as Gva });
    const m = Math.floor(e / 2);
    const v = this.machine.memory.view(m as never);
    const off = a % PAGE_SIZE;
    return [v.getInt32(off, true), v.getInt32(off + 4, true), v, m];
  }

  /** 4-level walk (SDM Vol. 3A §4.5). Returns the guest-physical 4 KiB page base. */
  private walk(va: number, acc: 0 | 1 | 2): number {
    if (!(va >= -CANON && va < CANON)) throw new GuestFault(Vector.GP, 0, "non-canonical address");
    const u48 = va < 0 ? va + 2 ** 48 : va;
    const hi16 = Math.floor(u48 / TWO32);
    const lo = u48 >>> 0;
    const idx = [(hi16 >>> 7) & 511, ((hi16 & 127) << 2) | (lo >>> 30), (lo >>> 21) & 511, (lo >>> 12) & 511];
    const user = this.cpl === 3;
    const nxe = (this.efer & EFER_NXE) !== 0;
    let table = this.cr3 - (this.cr3 % PAGE_SIZE);
    table = table % 2 ** 52;
    let us = 1, rw = 1, nx = 0;
    const pfec = (user ? PFEC_U : 0) | (acc === 1 ? PFEC_W : 0) | (acc === 2 && nxe ? PFEC_I : 0);
    for (let level = 0; level < 4; level++) {
      const ea = table + idx[level]! * 8;
      const [el, eh, view, m] = this.ptRead(ea, va);
      if ((el & 1) === 0) throw new GuestFault(Vector.PF, pfec, `page not present at level ${4 - level}`, va);
      us &= (el >>> 2) & 1;
      rw &= (el >>> 1) & 1;
      if (nxe && eh < 0) nx = 1;
      const leaf = level === 3 || (level >= 1 && (el & PTE_PS) !== 0);
      // Reserved bits (SDM Vol. 3A §4.5, Tables 4-14..4-20): XD without EFER.NXE, PS in a PML4E,
      // and the low frame bits of a 1 GiB / 2 MiB page (it must be aligned).
      if ((!nxe && eh < 0) || (level === 0 && (el & PTE_PS)) || (leaf && level === 1 && (el & 0x3fffe000)) || (leaf && level === 2 && (el & 0x1fe000))) {
        throw new GuestFault(Vector.PF, pfec | PFEC_P | PFEC_RSVD, `reserved bit set in a level ${4 - level} entry`, va);
      }
      let nl = el;
      if ((el & PTE_A) === 0) nl |= PTE_A;
      let base = (eh & 0xfffff) * TWO32 + ((el & ~0xfff) >>> 0);
      if (leaf) {
        if (user && !us) throw new GuestFault(Vector.PF, pfec | PFEC_P, "user access to supervisor page", va);
        if (acc === 1 && !rw && (user || (this.cr0 & CR0_WP))) throw new GuestFault(Vector.PF, pfec | PFEC_P, "write to read-only page", va);
        if (acc === 2 && nx) throw new GuestFault(Vector.PF, pfec | PFEC_P, "execute from no-execute page", va);
        if (acc === 1) nl |= PTE_D;
        if (nl !== el) this.ptWrite(view, m, ea % PAGE_SIZE, nl);
        const dirty = (nl & PTE_D) !== 0;
        this.walkPerm = dirty && (rw || (!user && !(this.cr0 & CR0_WP))) ? WP_WRITABLE_NOW : 0;
        if (level < 3) this.largePagesCached = true;
        if (level === 1) {
          // 1 GiB page: bits 29:13 of the entry are reserved/PAT; frame is bits 51:30.
          return base - (base % 2 ** 30) + ((lo & 0x3ffff000) >>> 0);
        }
        if (level === 2) {
          base = base - (base % 2 ** 21) + ((lo & 0x1ff000) >>> 0);
          return base;
        }
        return base;
      }
      if (nl !== el) this.ptWrite(view, m, ea % PAGE_SIZE, nl);
      table = base;
    }
    throw new MachineError("unreachable page walk state");
  }

  private ptWrite(view: DataView, m: number, off: number, lo: number): void {
    if (this.machine.codeFrames[m] !== 0) this.machine.invalidateFrame(m);
    view.setInt32(off, lo, true);
  }

  /** Walks the page tables for `va` without side effects (for views and the host). */
  translate(va: number | bigint, access: "read" | "write" | "exec" = "read"): { gpa: Gpa } | { fault: string } {
    const a = gva(va);
    const saveCpl = this.cpl;
    try {
      // Use xlate's logic on a copy would need a side-effect-free walk; A/D updates are benign.
      const acc = access === "read" ? 0 : access === "write" ? 1 : 2;
      if (!this.paging) return { gpa: ((a >>> 0) as Gpa) };
      const p = this.walk(a, acc);
      return { gpa: (p + (a & 4095)) as Gpa };
    } catch (e) {
      if (e instanceof GuestFault) return { fault: `#${vectorName(e.vector)} error code ${e.errorCode}: ${e.reason}` };
      if (e instanceof ExitSignal) return { fault: `gpa-fault ${JSON.stringify(e.exit, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}` };
      throw e;
    } finally {
      this.cpl = saveCpl;
    }
  }

  /** Reads guest-virtual memory as the guest at CPL 0 would (faults become MachineError). */
  readVirt(va: number | bigint, length: number): Uint8Array {
    const a = gva(va);
    const out = new Uint8Array(length);
    this.hostAccess(() => { for (let k = 0; k < length; k++) out[k] = this.r8(a + k); });
    return out;
  }

  writeVirt(va: number | bigint, data: Uint8Array): void {
    const a = gva(va);
    this.hostAccess(() => { for (let k = 0; k < data.length; k++) this.w8(a + k, data[k]!); });
    this.stop = 0;
  }

  readVirtU64(va: number | bigint): bigint {
    const b = this.readVirt(va, 8);
    return new DataView(b.buffer).getBigUint64(0, true);
  }
  readVirtU32(va: number | bigint): number {
    const b = this.readVirt(va, 4);
    return new DataView(b.buffer).getUint32(0, true);
  }
  writeVirtU64(va: number | bigint, v: bigint | number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
    this.writeVirt(va, b);
  }
  writeVirtU32(va: number | bigint, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.writeVirt(va, b);
  }

  private hostAccess(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (e instanceof GuestFault) throw new MachineError(`guest-virtual access faulted: #${vectorName(e.vector)} ${e.reason} at 0x${BigInt.asUintN(64, BigInt(e.cr2 ?? 0)).toString(16)}`);
      if (e instanceof ExitSignal) throw new MachineError(`guest-virtual access hit ${e.exit.kind} ${"gpa" in e.exit ? `at gpa 0x${e.exit.gpa.toString(16)}` : ""}`);
      throw e;
    }
  }

  // =========================================================================================
  // Helpers for generated code
  // =========================================================================================

  cf(): number {
    return computeFlags(this) & CF;
  }
  cond(cc: number): boolean {
    return evalCond(computeFlags(this), cc);
  }
  /** Stores eagerly computed arithmetic flags. */
  setArith(bits: number): void {
    this.fop = FlagOp.Eager << 2;
    this.fbits = bits;
  }
  /** Current arithmetic flags with some replaced (for ops that leave others unchanged). */
  mergeArith(mask: number, bits: number): void {
    const f = computeFlags(this);
    this.fop = FlagOp.Eager << 2;
    this.fbits = (f & ~mask) | (bits & mask);
  }

  sp(): number {
    return this.mode64 ? this.H[4]! * TWO32 + (this.R[4]! >>> 0) : this.R[4]! >>> 0;
  }
  setSp(v: number): void {
    if (this.mode64) {
      this.R[4] = v | 0;
      this.H[4] = Math.floor(v / TWO32) | 0;
    } else this.R[4] = v | 0;
  }
  push64(lo: number, hi: number): void {
    const s = this.cn(this.sp() - 8);
    this.w64(s, lo, hi);
    this.setSp(s);
  }
  push32(v: number): void {
    const s = (this.sp() - 4) >>> 0;
    this.w32(s, v);
    this.setSp(s);
  }
  push16(v: number): void {
    const s = this.mode64 ? this.cn(this.sp() - 2) : (this.sp() - 2) >>> 0;
    this.w16(s, v);
    this.setSp(s);
  }
  pop64(): number {
    const s = this.sp();
    const lo = this.r64(s);
    this.setSp(s + 8);
    return lo;
  }
  pop32(): number {
    const s = this.sp();
    const v = this.r32(s);
    this.setSp((s + 4) >>> 0);
    return v;
  }
  pop16(): number {
    const s = this.sp();
    const v = this.r16(s);
    this.setSp(this.mode64 ? s + 2 : (s + 2) >>> 0);
    return v;
  }

  /** Raises #UD for an instruction we do not implement (and says so in the trace). */
  ud(ix: number, text: string): never {
    this.ix = ix;
    this.trace.event(this.rip, `unimplemented: ${text}`);
    throw new GuestFault(Vector.UD, undefined, `unimplemented instruction ${text}`);
  }

  fault(vector: number, code: number | undefined, reason: string): never {
    throw new GuestFault(vector, code, reason);
  }

  /** Privileged-instruction check: #GP(0) unless CPL 0. */
  priv(): void {
    if (this.cpl !== 0) throw new GuestFault(Vector.GP, 0, "privileged instruction at CPL 3");
  }

  /** An instruction exit: the instruction is retired; `run` returns the exit after the block. */
  exitAfter(x: Exit): void {
    this.pendingExit = x;
  }

  rdtsc(ix: number): void {
    const t = BigInt(this.icount + ix + this.tscOffset);
    this.R[0] = Number(t & 0xffffffffn) | 0; this.H[0] = 0;
    this.R[2] = Number((t >> 32n) & 0xffffffffn) | 0; this.H[2] = 0;
  }

  // ---- system instructions (rare; plain methods) ----

  /** mov to CRn. Returns nothing; the block ends after every CR write. */
  writeCr(n: number, lo: number, hi: number): void {
    this.priv();
    const v = hi * TWO32 + (lo >>> 0);
    switch (n) {
      case 0: {
        if ((lo & CR0_PG) && !(lo & CR0_PE)) throw new GuestFault(Vector.GP, 0, "CR0.PG without PE");
        if ((lo & CR0_PG) && (this.efer & EFER_LME) && !(this.cr4 & CR4_PAE)) throw new GuestFault(Vector.GP, 0, "long mode needs CR4.PAE");
        this.cr0 = lo | 0;
        this.updateMode();
        this.flushTlb();
        return;
      }
      case 2: this.cr2 = hi * TWO32 + (lo >>> 0); return;
      case 3: this.cr3 = v % 2 ** 52; this.flushTlb(); return;
      case 4: this.cr4 = lo | 0; this.updateMode(); this.flushTlb(); return;
      case 8: this.cr8 = lo & 15; return;
    }
    throw new GuestFault(Vector.UD, undefined, `mov to cr${n}`);
  }

  readCr(n: number): number {
    this.priv();
    switch (n) {
      case 0: return this.cr0 >>> 0;
      case 2: return this.cr2;
      case 3: return this.cr3;
      case 4: return this.cr4 >>> 0;
      case 8: return this.cr8;
    }
    throw new GuestFault(Vector.UD, undefined, `mov from cr${n}`);
  }

  /** rdmsr: architectural MSRs are answered here, others become an exit. */
  rdmsr(ix: number, rip: number, next: number): boolean {
    this.priv();
    const msr = this.R[1]! >>> 0;
    let v: bigint | undefined;
    switch (msr) {
      case MSR_EFER: v = BigInt(this.efer >>> 0); break;
      case MSR_STAR: v = this.star; break;
      case MSR_LSTAR: v = BigInt.asUintN(64, BigInt(this.lstar)); break;
      case MSR_CSTAR: v = BigInt.asUintN(64, BigInt(this.cstar)); break;
      case MSR_SFMASK: v = BigInt(this.sfmask >>> 0); break;
      case MSR_FS_BASE: v = BigInt.asUintN(64, BigInt(this.fsBase)); break;
      case MSR_GS_BASE: v = BigInt.asUintN(64, BigInt(this.gsBase)); break;
      case MSR_KERNEL_GS_BASE: v = BigInt.asUintN(64, BigInt(this.kernelGsBase)); break;
      case MSR_TSC: v = BigInt(this.icount + ix + this.tscOffset); break;
      case MSR_TSC_AUX: v = BigInt(this.tscAux >>> 0); break;
    }
    if (v !== undefined) {
      this.completeRdmsr(v);
      return false;
    }
    this.exitAfter({ kind: "rdmsr", msr, rip: rip as Gva, nextRip: next as Gva });
    return true;
  }

  wrmsr(rip: number, next: number): boolean {
    this.priv();
    const msr = this.R[1]! >>> 0;
    const value = (BigInt(this.R[2]! >>> 0) << 32n) | BigInt(this.R[0]! >>> 0);
    const asVa = (): number => {
      const a = gva(value);
      if (!(a >= -CANON && a < CANON)) throw new GuestFault(Vector.GP, 0, `non-canonical value for MSR 0x${msr.toString(16)}`);
      return a;
    };
    switch (msr) {
      case MSR_EFER: {
        const lo = this.R[0]! | 0;
        if ((this.cr0 & CR0_PG) && ((lo ^ this.efer) & EFER_LME)) throw new GuestFault(Vector.GP, 0, "EFER.LME changed with paging on");
        this.efer = (lo & ~EFER_LMA) | (this.efer & EFER_LMA);
        this.updateMode();
        this.flushTlb();
        return false;
      }
      case MSR_STAR: this.star = value; return false;
      case MSR_LSTAR: this.lstar = asVa(); return false;
      case MSR_CSTAR: this.cstar = asVa(); return false;
      case MSR_SFMASK: this.sfmask = this.R[0]! >>> 0; return false;
      case MSR_FS_BASE: this.fsBase = asVa(); return false;
      case MSR_GS_BASE: this.gsBase = asVa(); return false;
      case MSR_KERNEL_GS_BASE: this.kernelGsBase = asVa(); return false;
      case MSR_TSC_AUX: this.tscAux = this.R[0]! >>> 0; return false;
    }
    this.exitAfter({ kind: "wrmsr", msr, value, rip: rip as Gva, nextRip: next as Gva });
    return true;
  }

  /** Reads the 8-byte descriptor for a selector from the GDT. */
  descriptor(sel: number): [number, number] {
    const off = sel & ~7;
    if (off + 7 > this.gdtrLimit) throw new GuestFault(Vector.GP, sel & ~3, `selector 0x${sel.toString(16)} beyond GDT limit`);
    const lo = this.r32(this.gdtrBase + off);
    const hi = this.r32(this.gdtrBase + off + 4);
    return [lo, hi];
  }

  /** Loads CS (far jmp/call/ret, iret, syscall): reads L and D from the GDT descriptor. */
  loadCs(sel: number, fromGdt = true): void {
    if (fromGdt) {
      if ((sel & ~3) === 0) throw new GuestFault(Vector.GP, 0, "null CS selector");
      const [, hi] = this.descriptor(sel);
      if (!(hi & (1 << 15))) throw new GuestFault(Vector.NP, sel & ~3, "code segment not present");
      this.cs = { selector: sel, long: (hi & (1 << 21)) !== 0, db: (hi & (1 << 22)) !== 0 };
    } else this.cs = { ...this.cs, selector: sel };
    const newCpl = sel & 3;
    if (newCpl !== this.cpl) {
      this.cpl = newCpl;
      this.flushTlb();
    }
    this.updateMode();
  }

  loadSeg(which: "ss" | "ds" | "es" | "fs" | "gs", sel: number): void {
    if ((sel & ~3) !== 0) this.descriptor(sel); // #GP if outside the GDT
    this[which] = sel & 0xffff;
    // In long mode the FS/GS bases come from MSRs; a selector load in 32-bit mode would set them
    // from the descriptor: flat segments (base 0) are all we model.
    if (!this.mode64 && which === "fs") this.fsBase = 0;
    if (!this.mode64 && which === "gs") this.gsBase = 0;
  }

  lgdt(ea: number, idt: boolean): void {
    this.priv();
    const limit = this.r16(ea);
    let base: number;
    if (this.mode64) {
      const lo = this.r32(ea + 2), hi = this.r32(ea + 6);
      base = gva((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
    } else base = this.r32(ea + 2) >>> 0;
    if (idt) { this.idtrBase = base; this.idtrLimit = limit; }
    else { this.gdtrBase = base; this.gdtrLimit = limit; }
  }

  sgdt(ea: number, idt: boolean): void {
    this.w16(ea, idt ? this.idtrLimit : this.gdtrLimit);
    const b = idt ? this.idtrBase : this.gdtrBase;
    this.w32(ea + 2, b | 0);
    if (this.mode64) this.w32(ea + 6, Math.floor(b / TWO32) | 0);
  }

  ltr(sel: number): void {
    this.priv();
    const [lo, hi] = this.descriptor(sel);
    // 64-bit TSS descriptor: 16 bytes (SDM Vol. 3A §8.2.3); base 31:0 from bytes 2-4,7; 63:32 next dword.
    let base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
    if (this.mode64) base += (this.r32(this.gdtrBase + (sel & ~7) + 8) >>> 0) * TWO32;
    this.trSelector = sel;
    this.trBase = gva(base);
  }

  /** Software interrupt `int n` (and int3/into): delivered with the next RIP pushed. */
  softInt(vector: number, next: number): void {
    const x = this.deliver(vector, undefined, true, next, `int ${vector}`);
    if (x) this.pendingExit = x;
  }

  /**
   * Delivers an exception or interrupt through the IDT (SDM Vol. 3A §6.14: 64-bit mode gates).
   * A fault while delivering becomes #DF, a fault delivering #DF a triple-fault exit.
   */
  deliver(vector: number, errorCode: number | undefined, software: boolean, returnRip: number, reason: string, nested = 0): Exit | undefined {
    if (!(this.efer & EFER_LMA)) return this.deliver32(vector, errorCode, software, returnRip, reason, nested);
    const oldCpl = this.cpl;
    try {
      const gateAddr = this.idtrBase + vector * 16;
      if (vector * 16 + 15 > this.idtrLimit) throw new GuestFault(Vector.GP, vector * 8 + 2, `vector ${vector} beyond IDT limit`);
      // IDT, GDT and TSS reads are supervisor accesses regardless of CPL (SDM Vol. 3A §4.6.1
      // "implicit supervisor-mode accesses"); the frame is pushed at the new CPL.
      if (oldCpl !== 0) { this.cpl = 0; this.flushTlb(); }
      const d0 = this.r32(gateAddr), d1 = this.r32(gateAddr + 4), d2 = this.r32(gateAddr + 8);
      const type = (d1 >>> 8) & 0xf;
      if (!(d1 & 0x8000)) throw new GuestFault(Vector.NP, vector * 8 + 2, `IDT gate ${vector} not present`);
      if (type !== 0xe && type !== 0xf) throw new GuestFault(Vector.GP, vector * 8 + 2, `IDT gate ${vector} has type ${type}`);
      const dpl = (d1 >>> 13) & 3;
      if (software && dpl < oldCpl) throw new GuestFault(Vector.GP, vector * 8 + 2, `int ${vector} from CPL ${this.cpl} to gate DPL ${dpl}`);
      const sel = d0 >>> 16;
      const target = gva((BigInt(d2 >>> 0) << 32n) | BigInt(((d1 & 0xffff0000) | (d0 & 0xffff)) >>> 0));
      const ist = d1 & 7;
      const [, chi] = this.descriptor(sel);
      const newCpl = (chi >>> 13) & 3;
      const oldSs = this.ss;
      const oldRsp = this.H[4]! * TWO32 + (this.R[4]! >>> 0);
      const rflags = this.getFlags();
      let rsp = oldRsp;
      if (newCpl < oldCpl || ist) {
        const slot = ist ? 36 + 8 * (ist - 1) : 4 + 8 * newCpl;
        const lo = this.r32(this.trBase + slot), hi = this.r32(this.trBase + slot + 4);
        rsp = gva((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
      }
      this.cpl = newCpl;
      if (newCpl !== 0) this.flushTlb();
      rsp -= rsp % 16 === 0 ? 0 : ((rsp % 16) + 16) % 16;
      const frame: number[] = [oldSs, oldRsp, rflags, this.cs.selector, returnRip];
      if (errorCode !== undefined) frame.push(errorCode);
      for (const v of frame) {
        rsp -= 8;
        const b = BigInt.asUintN(64, BigInt(v));
        this.w64(rsp, Number(b & 0xffffffffn) | 0, Number(b >> 32n) | 0);
      }
      this.R[4] = rsp | 0;
      this.H[4] = Math.floor(rsp / TWO32) | 0;
      if (newCpl < oldCpl) this.ss = newCpl; // null selector with RPL = new CPL (SDM §6.14.2)
      this.cs = { selector: (sel & ~3) | newCpl, long: (chi & (1 << 21)) !== 0, db: (chi & (1 << 22)) !== 0 };
      this.updateMode();
      this.rip = target;
      let rest = this.eflagsRest & ~(TF | (1 << 16) | (1 << 14) | (1 << 8));
      if (type === 0xe) rest &= ~IF;
      this.eflagsRest = rest;
      return undefined;
    } catch (e) {
      if (this.cpl !== oldCpl) { this.cpl = oldCpl; this.flushTlb(); }
      if (e instanceof GuestFault) {
        if (e.vector === Vector.PF && e.cr2 !== undefined) this.cr2 = e.cr2;
        if (nested >= 1 || vector === Vector.DF) {
          return { kind: "triple-fault", rip: returnRip as Gva, vector, reason: `${reason}; then ${e.reason} while delivering` };
        }
        this.trace.event(returnRip, `#${vectorName(e.vector)} while delivering vector ${vector}: ${e.reason} -> #DF`);
        return this.deliver(Vector.DF, 0, false, returnRip, `double fault: ${e.reason}`, nested + 1);
      }
      if (e instanceof ExitSignal) {
        (e.exit as { rip: number }).rip = returnRip;
        return e.exit;
      }
      throw e;
    }
  }

  /**
   * Protected-mode delivery through 8-byte gates (SDM Vol. 3A §6.12.1, Figure 6-2): pushes
   * [SS, ESP,] EFLAGS, CS, EIP [, error code]; the stack switch comes from the 32-bit TSS
   * (ESP0 at +4, SS0 at +8). Flat segments are assumed, as everywhere in this model.
   */
  private deliver32(vector: number, errorCode: number | undefined, software: boolean, returnRip: number, reason: string, nested: number): Exit | undefined {
    const oldCpl = this.cpl;
    try {
      if (vector * 8 + 7 > this.idtrLimit) throw new GuestFault(Vector.GP, vector * 8 + 2, `vector ${vector} beyond IDT limit`);
      if (oldCpl !== 0) { this.cpl = 0; this.flushTlb(); }
      const lo = this.r32((this.idtrBase + vector * 8) >>> 0), hi = this.r32((this.idtrBase + vector * 8 + 4) >>> 0);
      const type = (hi >>> 8) & 0xf;
      if (!(hi & 0x8000)) throw new GuestFault(Vector.NP, vector * 8 + 2, `IDT gate ${vector} not present`);
      if (type !== 0xe && type !== 0xf) throw new GuestFault(Vector.GP, vector * 8 + 2, `IDT gate ${vector} has type ${type} (only 32-bit interrupt/trap gates are modelled)`);
      if (software && ((hi >>> 13) & 3) < oldCpl) throw new GuestFault(Vector.GP, vector * 8 + 2, `int ${vector} from CPL ${oldCpl}`);
      const sel = lo >>> 16;
      const target = ((hi & 0xffff0000) | (lo & 0xffff)) >>> 0;
      const [, chi] = this.descriptor(sel);
      const newCpl = (chi >>> 13) & 3;
      const eflags = this.getFlags();
      let esp = this.R[4]! >>> 0;
      const frame: number[] = [];
      if (newCpl < oldCpl) {
        frame.push(this.ss, esp);
        esp = this.r32((this.trBase + 4 + 8 * newCpl) >>> 0) >>> 0;
        this.ss = this.r16((this.trBase + 8 + 8 * newCpl) >>> 0);
      }
      frame.push(eflags, this.cs.selector, returnRip >>> 0);
      if (errorCode !== undefined) frame.push(errorCode);
      this.cpl = newCpl;
      for (const v of frame) {
        esp = (esp - 4) >>> 0;
        this.w32(esp, v | 0);
      }
      this.R[4] = esp | 0;
      this.cs = { selector: (sel & ~3) | newCpl, long: false, db: (chi & (1 << 22)) !== 0 };
      this.updateMode();
      this.rip = target;
      let rest = this.eflagsRest & ~(TF | (1 << 16) | (1 << 14) | (1 << 8));
      if (type === 0xe) rest &= ~IF;
      this.eflagsRest = rest;
      return undefined;
    } catch (e) {
      if (this.cpl !== oldCpl) { this.cpl = oldCpl; this.flushTlb(); }
      if (e instanceof GuestFault) {
        if (nested >= 1 || vector === Vector.DF) return { kind: "triple-fault", rip: returnRip as Gva, vector, reason: `${reason}; then ${e.reason} while delivering` };
        this.trace.event(returnRip, `#${vectorName(e.vector)} while delivering vector ${vector}: ${e.reason} -> #DF`);
        return this.deliver32(Vector.DF, 0, false, returnRip, `double fault: ${e.reason}`, nested + 1);
      }
      if (e instanceof ExitSignal) {
        (e.exit as { rip: number }).rip = returnRip;
        return e.exit;
      }
      throw e;
    }
  }

  /** iretd in protected mode: EIP, CS, EFLAGS [, ESP, SS when returning to an outer level]. */
  private iret32(): void {
    const eip = this.pop32() >>> 0, cs = this.pop32() & 0xffff, fl = this.pop32() >>> 0;
    const newCpl = cs & 3;
    if (newCpl < this.cpl) throw new GuestFault(Vector.GP, cs & ~3, "iret to a more privileged level");
    let esp: number | undefined, ss: number | undefined;
    if (newCpl > this.cpl) { esp = this.pop32() >>> 0; ss = this.pop32() & 0xffff; }
    const keepIopl = this.cpl !== 0;
    const old = this.eflagsRest;
    this.setFlags(fl);
    if (keepIopl) this.eflagsRest = (this.eflagsRest & ~0x3000) | (old & 0x3000);
    this.loadCs(cs);
    if (esp !== undefined) { this.R[4] = esp | 0; this.ss = ss!; }
    this.rip = eip;
  }

  /** iretq / iretd (SDM Vol. 2A IRET, 64-bit mode: always pops SS:RSP). */
  iret(size: 8 | 4): void {
    if (!(this.efer & EFER_LMA)) return this.iret32();
    if (!this.mode64) throw new GuestFault(Vector.UD, undefined, "iret in compatibility mode is not modelled");
    const pop = (): number => {
      if (size === 8) {
        const lo = this.pop64();
        return gva((BigInt(this.tH >>> 0) << 32n) | BigInt(lo >>> 0));
      }
      return this.pop32() >>> 0;
    };
    const rip = pop(), cs = pop(), fl = pop(), rsp = pop(), ss = pop();
    const newCpl = cs & 3;
    if (newCpl < this.cpl) throw new GuestFault(Vector.GP, cs & ~3, "iret to a more privileged level");
    const keepIopl = this.cpl !== 0;
    const old = this.eflagsRest;
    this.setFlags(fl);
    if (keepIopl) this.eflagsRest = (this.eflagsRest & ~0x3000) | (old & 0x3000);
    this.loadCs(cs);
    this.ss = ss & 0xffff;
    this.setSpRaw(rsp);
    this.rip = rip;
  }

  private setSpRaw(v: number): void {
    this.R[4] = v | 0;
    this.H[4] = Math.floor(v / TWO32) | 0;
  }

  /** syscall (SDM Vol. 2B): RCX=next RIP, R11=RFLAGS, CS/SS from STAR, RIP=LSTAR, RFLAGS&=~SFMASK. */
  syscall(next: number): void {
    if (!(this.efer & EFER_SCE) || !this.mode64) throw new GuestFault(Vector.UD, undefined, "syscall with EFER.SCE clear or outside 64-bit mode");
    const b = BigInt.asUintN(64, BigInt(next));
    this.R[1] = Number(b & 0xffffffffn) | 0; this.H[1] = Number(b >> 32n) | 0;
    const fl = this.getFlags();
    this.R[11] = fl; this.H[11] = 0;
    const sel = Number((this.star >> 32n) & 0xffffn);
    this.cs = { selector: sel & ~3, long: true, db: false };
    this.ss = (sel + 8) & ~3;
    if (this.cpl !== 0) { this.cpl = 0; this.flushTlb(); }
    this.updateMode();
    this.setFlags(fl & ~this.sfmask & ~0x10000);
    this.rip = this.lstar;
  }

  /** sysretq: back to CPL 3 at RCX with RFLAGS from R11. */
  sysret(): void {
    this.priv();
    if (!(this.efer & EFER_SCE) || !this.mode64) throw new GuestFault(Vector.UD, undefined, "sysret with EFER.SCE clear");
    const sel = Number((this.star >> 48n) & 0xffffn);
    const rcx = this.H[1]! * TWO32 + (this.R[1]! >>> 0);
    if (!(rcx >= -CANON && rcx < CANON)) throw new GuestFault(Vector.GP, 0, "sysret to non-canonical RCX");
    this.cs = { selector: (sel + 16) | 3, long: true, db: false };
    this.ss = (sel + 8) | 3;
    this.setFlags((this.R[11]! & 0x3c7fd7) | 2);
    this.cpl = 3;
    this.flushTlb();
    this.updateMode();
    this.rip = rcx;
  }

  swapgs(): void {
    this.priv();
    const t = this.gsBase;
    this.gsBase = this.kernelGsBase;
    this.kernelGsBase = t;
  }

  sti(): void {
    if (this.cpl > ((this.eflagsRest >> 12) & 3)) throw new GuestFault(Vector.GP, 0, "sti above IOPL");
    if (!(this.eflagsRest & IF)) this.interruptShadow = true;
    this.eflagsRest |= IF;
  }
  cli(): void {
    if (this.cpl > ((this.eflagsRest >> 12) & 3)) throw new GuestFault(Vector.GP, 0, "cli above IOPL");
    this.eflagsRest &= ~IF;
  }
  get df(): boolean {
    return (this.eflagsRest & DF) !== 0;
  }

  /**
   * Disassembles `count` instructions at RIP (starting at the enclosing symbol when it is close,
   * so the lines before RIP decode on real instruction boundaries).
   */
  disassembly(count = 12): { lines: ReturnType<typeof disassemble>; current: bigint } {
    const sym = this.symbols.size ? symbolizerFrom(this.symbols) : undefined;
    let start = this.rip;
    if (sym) {
      const w = sym(gvaToU64(this.rip));
      const m = w ? /^(.*?)(?:\+0x([0-9a-f]+))?$/.exec(w) : null;
      const off = m && m[2] ? parseInt(m[2], 16) : 0;
      if (m && off <= 48) start = this.rip - off;
    }
    const bytes: number[] = [];
    for (let k = 0; k < count * 15 + (this.rip - start); k++) {
      try {
        const phys = this.fetchPhys(start + k);
        bytes.push(this.machine.memory.view(Math.floor(phys / PAGE_SIZE) as never).getUint8(phys % PAGE_SIZE));
      } catch {
        break;
      }
    }
    const all = disassemble(Uint8Array.from(bytes), gvaToU64(start), this.mode64 ? 64 : 32, { symbols: sym });
    const cur = gvaToU64(this.rip);
    const at = all.findIndex((l) => l.address === cur);
    const from = at > 4 ? at - 4 : 0;
    return { lines: all.slice(from, from + count), current: cur };
  }

  /**
   * The last `count` instructions executed, oldest first, re-decoded from the trace ring's block
   * starts and lengths (a block's instructions are consecutive), plus the recorded events.
   */
  recentInstructions(count = 32): { address: bigint; text: string }[] {
    const out: { address: bigint; text: string }[] = [];
    const blocks = this.trace.recentBlocks();
    for (let b = blocks.length - 1; b >= 0 && out.length < count; b--) {
      const [start, n] = blocks[b]!;
      if (n <= 0) continue;
      const bytes: number[] = [];
      for (let k = 0; k < n * 15 && k < 4096 + 15; k++) {
        try {
          const phys = this.fetchPhys(start + k);
          bytes.push(this.machine.memory.view(Math.floor(phys / PAGE_SIZE) as never).getUint8(phys % PAGE_SIZE));
        } catch {
          break;
        }
      }
      // A self-looping block retires its instructions `n / length` times in one trace entry.
      const key = (() => { try { return this.fetchPhys(start) * 4 + (this.mode64 ? 2 : 0); } catch { return -1; } })();
      const blk = this.machine.code.get(key) as Block | undefined;
      const period = blk && blk.va === start ? blk.n : n;
      const lines = disassemble(Uint8Array.from(bytes), gvaToU64(start), this.mode64 ? 64 : 32, { count: period });
      const seq: { address: bigint; text: string }[] = [];
      for (let k = 0; k < n && lines.length; k++) seq.push({ address: lines[k % lines.length]!.address, text: lines[k % lines.length]!.text });
      out.unshift(...seq.slice(-(count - out.length)));
    }
    return out;
  }

  disassembleAround(count: number): string[] {
    const d = this.disassembly(count);
    return listingText(d.lines, d.current);
  }

  /** The disassembly view alone. */
  disassemblyView(count = 16): MimeBundle {
    const d = this.disassembly(count);
    return renderListing(d.lines, d.current, `vCPU ${this.id} at 0x${d.current.toString(16)}`);
  }

  /** Walks the guest page tables for `va` without changing A/D bits: levels, gpa, machine frame. */
  pageWalk(va: number | bigint): WalkResult & { toMimeBundle(): MimeBundle } {
    const a = gva(va);
    const levels: WalkLevel[] = [];
    const res: WalkResult = { va: gvaToU64(a), levels };
    const show = (lo: number, hi: number, level: number): string[] => {
      const f: string[] = [];
      if (lo & 1) f.push("P");
      if (lo & 2) f.push("RW");
      if (lo & 4) f.push("US");
      if (lo & 0x20) f.push("A");
      if (lo & 0x40) f.push("D");
      if (level > 1 && lo & 0x80) f.push("PS");
      if (hi < 0) f.push("NX");
      return f;
    };
    if (!this.paging) {
      res.gpa = a >>> 0;
    } else {
      const u48 = a < 0 ? a + 2 ** 48 : a;
      let table = this.cr3 - (this.cr3 % PAGE_SIZE);
      for (let level = 4; level >= 1; level--) {
        const idx = Math.floor(u48 / 2 ** (12 + 9 * (level - 1))) % 512;
        const ea = table + idx * 8;
        const e = this.p2m.raw(Math.floor(ea / PAGE_SIZE));
        if (e < 0) { res.fault = `table at gpa 0x${ea.toString(16)} has no P2M entry`; break; }
        const view = this.machine.memory.view(Math.floor(e / 2) as never);
        const lo = view.getInt32(ea % PAGE_SIZE, true), hi = view.getInt32((ea % PAGE_SIZE) + 4, true);
        const leaf = level === 1 || (level <= 3 && (lo & PTE_PS) !== 0);
        levels.push({ level, tableGpa: table, index: idx, entry: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), flags: show(lo, hi, level), leaf: leaf && (lo & 1) === 1 });
        if (!(lo & 1)) { res.fault = `not present at ${["", "PT", "PD", "PDPT", "PML4"][level]}`; break; }
        const base = (hi & 0xfffff) * TWO32 + ((lo & ~0xfff) >>> 0);
        if (leaf) {
          const size = 2 ** (12 + 9 * (level - 1));
          res.gpa = base - (base % size) + (u48 % size);
          break;
        }
        table = base;
      }
    }
    if (res.gpa !== undefined) {
      const e = this.p2m.raw(Math.floor(res.gpa / PAGE_SIZE));
      if (e >= 0) res.mfn = Math.floor(e / 2);
    }
    return Object.assign(res, { toMimeBundle: () => renderWalk(res) });
  }

  toMimeBundle(): MimeBundle {
    return renderVcpu(this);
  }
}

function gvaToU64(a: number): bigint {
  return BigInt.asUintN(64, BigInt(a));
}

export function vectorName(v: number): string {
  const names = ["DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", "15", "MF", "AC", "MC", "XM"];
  return names[v] ?? String(v);
}
