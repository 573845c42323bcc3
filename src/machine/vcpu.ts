/**
 * The x86-64 vCPU: architectural state, the soft-MMU (guest page walk + P2M collapsed into one
 * TLB entry), exception/interrupt delivery through the IDT, and the run loop over compiled blocks.
 *
 * Registers are two Int32Arrays (low and high halves) so the hot path never touches BigInt.
 * Addresses are signed doubles (canonical 48-bit addresses are exact). Flags are lazy (flags.ts).
 */
import { interruptRequested } from "../interrupt";
import {
  TLB_MASK, TLB_SIZE, ptRead as ptReadImpl, ptWrite as ptWriteImpl, translate as translateImpl, walk as walkImpl,
  xlate as xlateImpl,
} from "./mmu";
import {
  deliver as deliverImpl, deliver32 as deliver32Impl, iret as iretImpl, iret32 as iret32Impl,
  softInt as softIntImpl, syscall as syscallImpl, sysenter as sysenterImpl, sysexit as sysexitImpl, sysret as sysretImpl,
} from "./events";
import { SegCheck, lldt as lldtImpl, ltr as ltrImpl, segCheck as segCheckImpl } from "./desc-tables";
import {
  descriptor as descriptorImpl, lgdt as lgdtImpl, loadCs as loadCsImpl, loadSeg as loadSegImpl,
  rdmsr as rdmsrImpl, readCr as readCrImpl, sgdt as sgdtImpl, wrmsr as wrmsrImpl,
  writeCr as writeCrImpl,
} from "./sysregs";
import {
  disassembly as disassemblyImpl, pageWalk as pageWalkImpl, recentInstructions as recentInstructionsImpl,
} from "./vcpu-views";
import { Block, compileBlock } from "./codegen";
import { Exit, ExitSignal, GuestFault, HAS_ERROR_CODE, Vector, vectorName } from "./exits";
export { vectorName } from "./exits";
import { ARITH_FLAGS, CF, DF, FlagOp, IF, computeFlags, evalCond } from "./flags";
import { CpuMode, CpuState, SegmentState } from "./cpu-state";
import { cpuidDynamic } from "./cpu-features";
import { Machine } from "./machine";
import { P2m } from "./p2m";
import {
  CR0_PE, CR0_PG, CR0_WP, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE, EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE, GPR_NAMES, gprIndex,
} from "./registers";
import { DomId, Gpa, Gva, PAGE_SIZE, gva, mfn } from "./types";
import { MachineError } from "./errors";
import { TraceRing } from "./trace";
import { DispatchCounters } from "./cpu-stats";
import { X87 } from "./x87";
import { FpuState, fpuState, loadFpuState } from "./fpu-state";
import { EntropySource } from "./entropy";
import { flatSegments } from "./segcache";
import { farCall as farCallImpl, farRet as farRetImpl } from "./far";
import { initState, startupIpi as startupIpiImpl } from "./realmode";
import { commitPdptes, paePaging, readPdptes } from "./mmu-legacy";
import { display, type MimeBundle } from "../mime";
import { Listing, listingText } from "./listing";
import type { PageWalk } from "./page-walk";
import { disassemble } from "./disasm";

const CANON = 2 ** 47;
const TWO32 = 4294967296;
/** Permission bits cached with a walk result. */

export type { CpuMode, SegmentState } from "./cpu-state";

/**
 * The whole architectural state of a vCPU as plain data (the shape of Xen's vcpu_hvm_context /
 * hvm_hw_cpu, simplified): what a hypervisor saves, restores or sets for VCPUOP_initialise.
 */
export interface VcpuState {
  gprs: Record<(typeof GPR_NAMES)[number], bigint>;
  rip: bigint;
  rflags: number;
  cr0: number; cr2: bigint; cr3: bigint; cr4: number; efer: number;
  cs: SegmentState; ss: number; ds: number; es: number; fs: number; gs: number;
  fsBase: bigint; gsBase: bigint; kernelGsBase: bigint;
  gdtr: { base: bigint; limit: number }; idtr: { base: bigint; limit: number };
  tr: { selector: number; base: bigint; limit?: number };
  /** Absent in states saved before LDTR was modelled: a null LDTR. */
  ldtr?: { selector: number; base: bigint; limit: number };
  /**
   * The hidden bases of ES, CS, SS, DS, the limits of ES..GS and SS.B (segcache.ts). Absent in
   * states saved before segment caches were modelled: flat 4 GiB segments.
   */
  segCache?: { es: number; cs: number; ss: number; ds: number; limits: number[]; ssBig: boolean };
  star: bigint; lstar: bigint; cstar: bigint; sfmask: number; tscAux: number;
  /** IA32_SYSENTER_CS/ESP/EIP (hvm_hw_cpu's sysenter_cs/esp/eip). Absent in states saved before they were modelled: 0. */
  sysenter?: { cs: number; esp: bigint; eip: bigint };
  cpl: number;
  icount: number;
  /** x87/MMX, SSE and XCR0 (fpu-state.ts). Absent in states saved before it was modelled: reset FPU state. */
  fpu?: FpuState;
}

export interface VcpuInit {
  /** "real16": real-address mode at cs:rip (cs a selector, base cs·16; default 0). */
  mode: CpuMode;
  cs?: number;
  rip: number | bigint;
  rsp?: number | bigint;
  cr3?: number | bigint;
  regs?: Partial<Record<(typeof GPR_NAMES)[number], number | bigint>>;
  rflags?: number;
}

/** The FPU part of a state saved before VcpuState carried it: the power-on values (SDM Vol. 3A Table 9-1). */
const RESET_FPU: FpuState = fpuState(new CpuState());

/** Blocks between two looks at the interrupt flag (a block is a few to a few dozen instructions). */
const INTERRUPT_CHECK_BLOCKS = 4096;

export class Vcpu extends CpuState {
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
  /** @internal */ tlbGen = 0;
  pendingExit: Exit | undefined;

  // ---- soft TLB: direct-mapped by virtual page ----
  /** @internal */ readonly rTag = new Float64Array(TLB_SIZE).fill(NaN);
  /** @internal */ readonly rView: DataView[] = new Array<DataView>(TLB_SIZE);
  /** @internal */ readonly wTag = new Float64Array(TLB_SIZE).fill(NaN);
  /** @internal */ readonly wView: DataView[] = new Array<DataView>(TLB_SIZE);
  /** @internal */ readonly xTag = new Float64Array(TLB_SIZE).fill(NaN);
  /** @internal */ readonly xPhys = new Float64Array(TLB_SIZE);
  /** @internal */ seenEpoch = -1;
  /** @internal */ seenCodeEpoch = -1;
  /** Walk result side channel. */
  /** @internal */ walkPerm = 0;
  /** Some TLB entry came from a 2 MiB / 1 GiB page (invlpg must then drop more than one entry). */
  /** @internal */ largePagesCached = false;
  tlbFlushes = 0;

  // ---- events and debugging ----
  /** @internal */ pendingIrq: number[] = [];
  /** @internal */ interruptShadow = false;
  /** @internal */ stopRequested = false;
  /** @internal */ readonly breakpoints = new Map<number, string | undefined>();
  /** @internal */ skipBreakpointAt = NaN;
  /** @internal */ readonly watches: { address: number; size: number }[] = [];
  /** @internal */ readonly watchPages = new Set<number>();
  readonly trace = new TraceRing();
  /** Dispatch and exit counters (the `%cpu stats` view). */
  readonly dispatch = new DispatchCounters();
  /** The x87 FPU (x87.ts): behaviour over this state's fpr/fcw/fsw/ftw. */
  readonly fpu: X87 = new X87(this);
  /** Symbols for views and breakpoints (name → address), e.g. from an ELF file. */
  symbols = new Map<string, number>();

  /**
   * `translation` is the second stage the vCPU's accesses go through: the domain's P2M (HVM, PVH:
   * EPT/NPT), or a MachineFrames identity for a PV guest whose page tables hold machine frames.
   */
  constructor(readonly machine: Machine, readonly domain: DomId, readonly id = 0, init?: VcpuInit, translation?: P2m) {
    super();
    this.p2m = translation ?? machine.p2m(domain);
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
    flatSegments(this);
    if (init.mode === "real16" || init.mode === "protected16") {
      if (init.mode === "protected16") throw new MachineError(`reset: mode "protected16" is reached by a far jump to a 16-bit code segment, not set directly`);
      initState(this);
      const sel = init.cs ?? 0;
      this.cs = { selector: sel & 0xffff, long: false, db: false };
      this.csBase = (sel & 0xffff) * 16;
      this.R[2] = 0;
      this.setFlags(init.rflags ?? 0x2);
    } else if (init.mode === "protected32") {
      // The PVH entry state (xen/include/public/arch-x86/hvm/start_info.h): 32-bit flat
      // protected mode, paging off, CS/DS/ES/SS flat 4 GiB.
      this.cr0 = CR0_PE; this.cr4 = 0; this.efer = 0; this.cr3 = 0;
      this.cs = { selector: 0x10, long: false, db: true };
      this.ss = this.ds = this.es = 0x18;
    } else {
      this.cr0 = CR0_PE | CR0_PG | CR0_WP | (1 << 4) | (1 << 5);
      // SSE enabled, as a 64-bit loader hands over (the x86-64 psABI assumes SSE2 is usable).
      this.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
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

  /** A snapshot of the architectural state (plain data; see VcpuState). */
  getState(): VcpuState {
    const u = (a: number) => BigInt.asUintN(64, BigInt(a));
    const gprs = {} as Record<(typeof GPR_NAMES)[number], bigint>;
    for (const r of GPR_NAMES) gprs[r] = this.getReg(r);
    return {
      gprs, rip: u(this.rip), rflags: this.getFlags(),
      cr0: this.cr0 >>> 0, cr2: u(this.cr2), cr3: BigInt(this.cr3), cr4: this.cr4 >>> 0, efer: this.efer >>> 0,
      cs: { ...this.cs }, ss: this.ss, ds: this.ds, es: this.es, fs: this.fs, gs: this.gs,
      fsBase: u(this.fsBase), gsBase: u(this.gsBase), kernelGsBase: u(this.kernelGsBase),
      gdtr: { base: u(this.gdtrBase), limit: this.gdtrLimit }, idtr: { base: u(this.idtrBase), limit: this.idtrLimit },
      tr: { selector: this.trSelector, base: u(this.trBase), limit: this.trLimit },
      ldtr: { selector: this.ldtr, base: u(this.ldtrBase), limit: this.ldtrLimit },
      segCache: { es: this.esBase, cs: this.csBase, ss: this.ssBase, ds: this.dsBase, limits: [...this.segLimit], ssBig: this.ssBig },
      star: this.star, lstar: u(this.lstar), cstar: u(this.cstar), sfmask: this.sfmask, tscAux: this.tscAux,
      sysenter: { cs: this.sysenterCs, esp: u(this.sysenterEsp), eip: u(this.sysenterEip) },
      cpl: this.cpl, icount: this.icount, fpu: fpuState(this),
    };
  }

  /** Loads a full state (from getState, or built by a hypervisor); flushes the TLB. */
  setState(st: VcpuState): void {
    // The FPU part first: it is the part with checks, and a bad one must leave the vCPU as it was.
    loadFpuState(this, st.fpu ?? RESET_FPU);
    for (const r of GPR_NAMES) this.setReg(r, st.gprs[r]);
    this.rip = gva(st.rip);
    this.setFlags(st.rflags);
    this.cr0 = st.cr0 | 0; this.cr2 = gva(st.cr2); this.cr3 = Number(st.cr3); this.cr4 = st.cr4 | 0; this.efer = st.efer | 0;
    this.cs = { ...st.cs }; this.ss = st.ss; this.ds = st.ds; this.es = st.es; this.fs = st.fs; this.gs = st.gs;
    this.fsBase = gva(st.fsBase); this.gsBase = gva(st.gsBase); this.kernelGsBase = gva(st.kernelGsBase);
    this.gdtrBase = gva(st.gdtr.base); this.gdtrLimit = st.gdtr.limit; this.idtrBase = gva(st.idtr.base); this.idtrLimit = st.idtr.limit;
    this.trSelector = st.tr.selector; this.trBase = gva(st.tr.base); this.trLimit = st.tr.limit ?? 0x67;
    this.ldtr = st.ldtr?.selector ?? 0; this.ldtrBase = gva(st.ldtr?.base ?? 0n); this.ldtrLimit = st.ldtr?.limit ?? 0;
    this.star = st.star; this.lstar = gva(st.lstar); this.cstar = gva(st.cstar); this.sfmask = st.sfmask; this.tscAux = st.tscAux;
    this.sysenterCs = st.sysenter?.cs ?? 0; this.sysenterEsp = gva(st.sysenter?.esp ?? 0n); this.sysenterEip = gva(st.sysenter?.eip ?? 0n);
    this.cpl = st.cpl; this.icount = st.icount;
    flatSegments(this);
    if (!st.segCache && !(this.cr0 & CR0_PE)) {
      // A real-mode state without caches (e.g. Xen's hvm_vcpu_reset_state for a startup IPI):
      // base = selector·16 and 64 KiB limits, as real mode defines them.
      this.esBase = this.es * 16; this.csBase = this.cs.selector * 16; this.ssBase = this.ss * 16; this.dsBase = this.ds * 16;
      this.fsBase = this.fs * 16; this.gsBase = this.gs * 16;
      this.segLimit.fill(0xffff);
      this.ssBig = false;
    }
    if (st.segCache) {
      const sc = st.segCache;
      this.esBase = sc.es; this.csBase = sc.cs; this.ssBase = sc.ss; this.dsBase = sc.ds; this.ssBig = sc.ssBig;
      sc.limits.forEach((l, i) => { if (i < 6) this.segLimit[i] = l; });
    }
    this.updateMode();
    this.loadPdptesForHost();
    this.flushTlb();
  }

  /**
   * A state set from outside (setState, setReg("cr3")) under PAE paging loads the PDPTEs from CR3
   * as VM entry does (SDM Vol. 3C §27.3.1.6, "checks on PDPTEs"): reserved bits refuse the state.
   */
  private loadPdptesForHost(): void {
    if (!paePaging(this.cr0, this.cr4, this.efer)) return;
    try {
      commitPdptes(this, readPdptes(this, this.cr3));
    } catch (e) {
      if (e instanceof GuestFault) throw new MachineError(`PAE paging state refused: ${e.reason}`);
      if (e instanceof ExitSignal) throw new MachineError(`PAE paging state refused: the PDPT at CR3 0x${this.cr3.toString(16)} is not in guest memory`);
      throw e;
    }
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
      case "cr3": this.cr3 = Number(v); this.loadPdptesForHost(); this.flushTlb(); return;
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
    if (this.mode64) return "long64";
    if (!(this.cr0 & CR0_PE)) return "real16";
    return this.code16 ? "protected16" : "protected32";
  }

  /** INIT (SDM Vol. 3A §9.1.1): real mode at F000:FFF0, as a processor is after RESET. */
  init(): void {
    initState(this);
  }

  /** A startup IPI after INIT: real mode at vector·256:0, linear vector·4096 (SDM Vol. 3A §8.4.4.1). */
  startupIpi(vector: number): void {
    startupIpiImpl(this, vector);
  }

  /** CS.base + EIP outside 64-bit mode (where the fetch happens); RIP in 64-bit mode. */
  linearIp(ip = this.rip): number {
    return this.mode64 ? ip : (ip + this.csBase) >>> 0;
  }

  /** Recomputes derived mode bits after CR0/EFER/CS changes. */
  updateMode(): void {
    this.paging = (this.cr0 & CR0_PG) !== 0;
    if (this.paging && (this.efer & EFER_LME) && (this.cr4 & CR4_PAE)) this.efer |= EFER_LMA;
    else this.efer &= ~EFER_LMA;
    this.mode64 = (this.efer & EFER_LMA) !== 0 && this.cs.long;
    this.code16 = !this.mode64 && !this.cs.db;
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
   * Takes a queued vector back before the CPU accepts it (a local APIC whose PPR rose above it,
   * or that now offers a higher-priority one). Returns whether it was queued.
   */
  withdrawInterrupt(vector: number): boolean {
    const i = this.pendingIrq.indexOf(vector);
    if (i < 0) return false;
    this.pendingIrq.splice(i, 1);
    return true;
  }

  /**
   * Called as the CPU accepts a queued vector (the INTA cycle: a local APIC moves it from IRR to
   * ISR here), before its gate is delivered.
   */
  interruptAccepted: ((vector: number) => void) | undefined;

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
    // RAX/RCX still hold the leaf and sub-leaf: fill in the bits that mirror vCPU state.
    [eax, ebx, ecx, edx] = cpuidDynamic(this, this.R[0]! >>> 0, this.R[1]! >>> 0, [eax, ebx, ecx, edx]);
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
    // A Jupyter interrupt (or any host's) stops a long run between blocks, within a millisecond.
    let untilInterruptCheck = INTERRUPT_CHECK_BLOCKS;
    for (;;) {
      if (--untilInterruptCheck === 0) {
        untilInterruptCheck = INTERRUPT_CHECK_BLOCKS;
        if (interruptRequested()) this.stopRequested = true;
      }
      if (this.seenEpoch !== this.machine.epoch) this.flushTlb();
      if (this.seenCodeEpoch !== this.machine.codeEpoch) this.flushWriteTlb();
      if (this.pendingIrq.length !== 0 && (this.eflagsRest & IF) && !this.interruptShadow) {
        const v = this.pendingIrq.shift()!;
        this.trace.event(this.rip, `interrupt ${v}`);
        this.interruptAccepted?.(v);
        const x = this.deliver(v, undefined, false, this.rip, "external interrupt");
        if (x) return x;
      }
      // sti shields exactly one instruction (SDM vol. 3, 6.8.3): with an interrupt waiting, run
      // only that instruction, so the interrupt is taken right after it and not a block later.
      const shielded = this.interruptShadow && this.pendingIrq.length !== 0 && (this.eflagsRest & IF) !== 0;
      this.interruptShadow = false;
      if (this.stopRequested) {
        this.stopRequested = false;
        return this.exit({ kind: "interrupt", rip: this.rip as Gva });
      }
      if (left <= 0) { this.dispatch.countExit("budget"); return { kind: "budget", rip: this.rip as Gva }; }
      if (this.breakpoints.size !== 0 && this.breakpoints.has(this.rip) && this.skipBreakpointAt !== this.rip) {
        this.skipBreakpointAt = this.rip;
        return this.exit({ kind: "breakpoint", rip: this.rip as Gva, symbol: this.breakpoints.get(this.rip) });
      }
      this.skipBreakpointAt = NaN;
      const start = this.rip;
      let blk: Block | undefined;
      const limit = shielded ? 1 : left;
      try {
        // The block's key is checked on every entry, so a link survives TLB flushes and CR3
        // switches while the translation it was made under still holds (a TLB hit here).
        const key = this.fetchPhys(this.linearIp(start)) * 8 + (this.mode64 ? 4 : this.code16 ? 2 : 0);
        // Chaining: the previous block remembers its last two successors.
        if (prev !== undefined) {
          if (prev.s1va === start) blk = prev.s1;
          else if (prev.s2va === start) blk = prev.s2;
          if (blk !== undefined && (blk.key !== key || !blk.valid)) blk = undefined;
        }
        if (blk === undefined) {
          this.dispatch.lookups++;
          blk = this.lookupBlock(start, key, false);
          if (prev !== undefined) {
            prev.s2va = prev.s1va; prev.s2 = prev.s1;
            prev.s1va = start; prev.s1 = blk;
          }
        }
        // Too long for what is left of the budget (or one instruction under an interrupt shadow).
        if (blk.n > limit) blk = this.lookupBlock(start, key + 1, true);
      } catch (e) {
        prev = undefined;
        const x = this.handleThrow(e, start);
        if (x) return x;
        continue;
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
    this.dispatch.countExit(x.kind);
    this.trace.event(x.rip, `exit ${x.kind}`);
    return x;
  }

  /** Turns a throw from generated code or the MMU into delivery or an exit. */
  private handleThrow(e: unknown, rip: number): Exit | undefined {
    this.rip = rip;
    if (e instanceof GuestFault) {
      if (e.vector === Vector.PF && e.cr2 !== undefined) this.cr2 = e.cr2;
      this.dispatch.countFault(vectorName(e.vector));
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

  /** The block at `va` (the offset in CS, fetched at CS.base + va) whose decode-cache key is `key`
   *  (machine address of its first byte * 8 + code size 64/16/32 as 4/2/0 + single-stepping). */
  private lookupBlock(va: number, key: number, single: boolean): Block {
    const b = this.machine.code.get(key) as Block | undefined;
    if (b !== undefined && b.va === va && b.valid) return b;
    const nb = compileBlock(this, va, key, single);
    this.dispatch.compiled++;
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
      const v = this.machine.memory.view(mfn(Math.floor(phys / PAGE_SIZE)));
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

  /** A stack (SS-relative) address: non-canonical is #SS(0), not #GP (SDM Vol. 3A §6.15, #SS). */
  cnss(x: number): number {
    if (x >= -CANON && x < CANON) return x;
    throw new GuestFault(Vector.SS, 0, `non-canonical stack address ${x}`);
  }

  r8(ea: number): number {
    const off = ea & 4095, i = (ea >>> 12) & TLB_MASK;
    if (this.rTag[i] === ea - off) return this.rView[i]!.getUint8(off);
    return this.readMiss(ea, 1);
  }
  r16(ea: number): number {
    const off = ea & 4095, i = (ea >>> 12) & TLB_MASK;
    if (this.rTag[i] === ea - off && off <= 4094) return this.rView[i]!.getUint16(off, true);
    return this.readMiss(ea, 2);
  }
  r32(ea: number): number {
    const off = ea & 4095, i = (ea >>> 12) & TLB_MASK;
    if (this.rTag[i] === ea - off && off <= 4092) return this.rView[i]!.getInt32(off, true);
    return this.readMiss(ea, 4) | 0;
  }
  /** 64-bit read: returns the low half, high half in `tH`. */
  r64(ea: number): number {
    const off = ea & 4095, i = (ea >>> 12) & TLB_MASK;
    if (this.rTag[i] === ea - off && off <= 4088) {
      const v = this.rView[i]!;
      this.tH = v.getInt32(off + 4, true);
      return v.getInt32(off, true);
    }
    const lo = this.readMiss(ea, 4) | 0;
    this.tH = this.readMiss(ea + 4, 4) | 0;
    return lo;
  }
  w8(ea: number, v: number): void {
    const off = ea & 4095, i = (ea >>> 12) & TLB_MASK;
    if (this.wTag[i] === ea - off) this.wView[i]!.setUint8(off, v);
    else this.writeSlow(ea, 1, v, 0);
  }
  w16(ea: number, v: number): void {
    const off = ea & 4095, i = (ea >>> 12) & TLB_MASK;
    if (this.wTag[i] === ea - off && off <= 4094) this.wView[i]!.setUint16(off, v, true);
    else this.writeSlow(ea, 2, v, 0);
  }
  w32(ea: number, v: number): void {
    const off = ea & 4095, i = (ea >>> 12) & TLB_MASK;
    if (this.wTag[i] === ea - off && off <= 4092) this.wView[i]!.setInt32(off, v, true);
    else this.writeSlow(ea, 4, v, 0);
  }
  w64(ea: number, lo: number, hi: number): void {
    const off = ea & 4095, i = (ea >>> 12) & TLB_MASK;
    if (this.wTag[i] === ea - off && off <= 4088) {
      const w = this.wView[i]!;
      w.setInt32(off, lo, true);
      w.setInt32(off + 4, hi, true);
    } else this.writeSlow(ea, 8, lo, hi);
  }

  /**
   * A read that missed the TLB: one translation fills the entry, then the access is served from
   * it; only a read crossing into the next page goes byte by byte.
   */
  private readMiss(ea: number, size: number): number {
    const off = ea & 4095;
    if (off + size > 4096) return this.readSlow(ea, size);
    const m = this.xlate(ea, 0);
    const i = (ea >>> 12) & TLB_MASK;
    const v = this.rTag[i] === ea - off ? this.rView[i]! : this.machine.memory.view(mfn(Math.floor(m / PAGE_SIZE)));
    return size === 1 ? v.getUint8(off) : size === 2 ? v.getUint16(off, true) : v.getUint32(off, true);
  }

  private readSlow(ea: number, size: number): number {
    let v = 0;
    for (let k = 0; k < size; k++) {
      const a = ea + k;
      const m = this.xlate(a, 0);
      const b = this.machine.memory.view(mfn(Math.floor(m / PAGE_SIZE))).getUint8(m % PAGE_SIZE);
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
      if (this.machine.codeFrames[frame] !== 0 && this.machine.invalidateRange(frame, m % PAGE_SIZE, 1)) {
        this.stop = 1;
        this.trace.event(this.rip, `code in frame ${frame} written: its blocks dropped from the decode cache`);
      }
      const byte = k < 4 ? (lo >>> (8 * k)) & 255 : (hi >>> (8 * (k - 4))) & 255;
      mem.view(mfn(frame)).setUint8(m % PAGE_SIZE, byte);
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
    const i = (va >>> 12) & TLB_MASK;
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
    return xlateImpl(this, va, acc);
  }

  /** Reads a 64-bit page-table entry at a guest-physical address as [lo, hi]. */
  ptRead(a: number, va: number): [number, number, DataView, number] {
    return ptReadImpl(this, a, va);
  }

  /** The walk of the paging mode in use (mmu.ts walk). Returns the guest-physical 4 KiB page base. */
  walk(va: number, acc: 0 | 1 | 2): number {
    return walkImpl(this, va, acc);
  }

  ptWrite(view: DataView, m: number, off: number, lo: number): void {
    ptWriteImpl(this, view, m, off, lo);
  }

  /** Walks the page tables for `va` without side effects (for views and the host). */
  translate(va: number | bigint, access: "read" | "write" | "exec" = "read"): { gpa: Gpa } | { fault: string } {
    return translateImpl(this, va, access);
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

  /** The stack pointer: RSP in 64-bit mode, else ESP or SP as SS.B says. */
  sp(): number {
    return this.mode64 ? this.H[4]! * TWO32 + (this.R[4]! >>> 0) : this.ssBig ? this.R[4]! >>> 0 : this.R[4]! & 0xffff;
  }
  setSp(v: number): void {
    if (this.mode64) {
      this.R[4] = v | 0;
      this.H[4] = Math.floor(v / TWO32) | 0;
    } else if (this.ssBig) this.R[4] = v | 0;
    else this.R[4] = (this.R[4]! & ~0xffff) | (v & 0xffff);
  }
  /** Outside 64-bit mode: a stack offset wrapped to the stack width, and its linear address. */
  private stackOff(s: number): number {
    return this.ssBig ? s >>> 0 : s & 0xffff;
  }
  private stackLin(off: number): number {
    return (off + this.ssBase) >>> 0;
  }
  push64(lo: number, hi: number): void {
    const s = this.cnss(this.sp() - 8);
    this.w64(s, lo, hi);
    this.setSp(s);
  }
  push32(v: number): void {
    if (this.mode64) {
      // A 4-byte push in 64-bit mode (far call, iretd frames): RSP as a whole, not wrapped to 32 bits.
      const s = this.cnss(this.sp() - 4);
      this.w32(s, v);
      this.setSp(s);
      return;
    }
    const s = this.stackOff(this.sp() - 4);
    this.w32(this.stackLin(s), v);
    this.setSp(s);
  }
  push16(v: number): void {
    if (this.mode64) {
      const s = this.cnss(this.sp() - 2);
      this.w16(s, v);
      this.setSp(s);
      return;
    }
    const s = this.stackOff(this.sp() - 2);
    this.w16(this.stackLin(s), v);
    this.setSp(s);
  }
  pop64(): number {
    const s = this.cnss(this.sp());
    const lo = this.r64(s);
    this.setSp(s + 8);
    return lo;
  }
  pop32(): number {
    if (this.mode64) {
      const s = this.cnss(this.sp());
      const v = this.r32(s);
      this.setSp(s + 4);
      return v;
    }
    const s = this.sp();
    const v = this.r32(this.stackLin(s));
    this.setSp(this.stackOff(s + 4));
    return v;
  }
  pop16(): number {
    if (this.mode64) {
      const s = this.cnss(this.sp());
      const v = this.r16(s);
      this.setSp(s + 2);
      return v;
    }
    const s = this.sp();
    const v = this.r16(this.stackLin(s));
    this.setSp(this.stackOff(s + 2));
    return v;
  }

  /**
   * A 32-bit offset in 16-bit code: checked against the segment's cached limit (#GP(0), #SS(0)
   * for SS; SDM Vol. 3A §5.3), then based. Unreal mode is a limit above 64 KiB left in the cache.
   */
  segEa(seg: number, off: number, size: number): number {
    const limit = this.segLimit[seg]!;
    if (off + size - 1 > limit) {
      throw new GuestFault(seg === 2 ? Vector.SS : Vector.GP, 0, `offset 0x${off.toString(16)} beyond the ${["ES", "CS", "SS", "DS", "FS", "GS"][seg]} limit 0x${limit.toString(16)}`);
    }
    const base = seg === 0 ? this.esBase : seg === 1 ? this.csBase : seg === 2 ? this.ssBase : seg === 3 ? this.dsBase : seg === 4 ? this.fsBase : this.gsBase;
    return (off + base) >>> 0;
  }

  /** Raises #UD for an instruction we do not implement (and says so in the trace). */
  ud(ix: number, rip: number, text: string): never {
    this.ix = ix;
    this.trace.event(rip, text === "invalid opcode" ? "invalid opcode" : `unimplemented: ${text}`);
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

  /** The TSC as the instruction at index `ix` of the running block reads it. */
  readTsc(ix: number): number {
    const t = this.icount + ix + this.tscOffset, f = this.tscFloor;
    if (f === undefined) return t;
    if (t < f.last) return f.last;
    f.last = t;
    return t;
  }

  private readonly entropy = new EntropySource();

  /** rdrand's 32 bits (emit/random.ts). */
  random32(): number {
    return this.entropy.random32();
  }

  rdtsc(ix: number): void {
    const t = BigInt(this.readTsc(ix));
    this.R[0] = Number(t & 0xffffffffn) | 0; this.H[0] = 0;
    this.R[2] = Number((t >> 32n) & 0xffffffffn) | 0; this.H[2] = 0;
  }

  // ---- system instructions (rare; plain methods) ----

  /** mov to CRn. Returns nothing; the block ends after every CR write. */
  writeCr(n: number, lo: number, hi: number): void {
    writeCrImpl(this, n, lo, hi);
  }

  readCr(n: number): number {
    return readCrImpl(this, n);
  }

  /** rdmsr: architectural MSRs are answered here, others become an exit. */
  rdmsr(ix: number, rip: number, next: number): boolean {
    return rdmsrImpl(this, ix, rip, next);
  }

  wrmsr(rip: number, next: number): boolean {
    return wrmsrImpl(this, rip, next);
  }

  /** Reads the 8-byte descriptor for a selector from the GDT. */
  descriptor(sel: number): [number, number] {
    return descriptorImpl(this, sel);
  }

  /** Loads CS (far jmp/call/ret, iret, syscall): reads L and D from the GDT descriptor. */
  loadCs(sel: number, fromGdt = true): void {
    loadCsImpl(this, sel, fromGdt);
  }

  loadSeg(which: "ss" | "ds" | "es" | "fs" | "gs", sel: number): void {
    loadSegImpl(this, which, sel);
  }

  lgdt(ea: number, idt: boolean): void {
    lgdtImpl(this, ea, idt);
  }

  sgdt(ea: number, idt: boolean): void {
    sgdtImpl(this, ea, idt);
  }

  ltr(sel: number): void {
    ltrImpl(this, sel);
  }

  lldt(sel: number): void {
    lldtImpl(this, sel);
  }

  /** lar/lsl/verr/verw: sets ZF; the value for lar/lsl, or -1 when the checks fail. */
  segCheck(op: SegCheck, sel: number): number {
    return segCheckImpl(this, op, sel);
  }

  /** Far call to sel:off with 16- or 32-bit operands (far.ts). */
  farCall(sel: number, off: number, size: 2 | 4 | 8, ret: number): void {
    farCallImpl(this, sel, off, size, ret);
  }

  /** Far return with 16- or 32-bit operands, releasing `imm` bytes (far.ts). */
  farRet(size: 2 | 4, imm: number): void {
    farRetImpl(this, size, imm);
  }

  /** Software interrupt `int n` (and int3/into): delivered with the next RIP pushed. */
  softInt(vector: number, next: number): void {
    softIntImpl(this, vector, next);
  }

  /**
   * Delivers an exception or interrupt through the IDT (SDM Vol. 3A §6.14: 64-bit mode gates).
   * A fault while delivering becomes #DF, a fault delivering #DF a triple-fault exit.
   */
  deliver(vector: number, errorCode: number | undefined, software: boolean, returnRip: number, reason: string, nested = 0): Exit | undefined {
    return deliverImpl(this, vector, errorCode, software, returnRip, reason, nested);
  }

  /**
   * Protected-mode delivery through 8-byte gates (SDM Vol. 3A §6.12.1, Figure 6-2): pushes
   * [SS, ESP,] EFLAGS, CS, EIP [, error code]; the stack switch comes from the 32-bit TSS
   * (ESP0 at +4, SS0 at +8). Flat segments are assumed, as everywhere in this model.
   */
  deliver32(vector: number, errorCode: number | undefined, software: boolean, returnRip: number, reason: string, nested: number): Exit | undefined {
    return deliver32Impl(this, vector, errorCode, software, returnRip, reason, nested);
  }

  /** iretd in protected mode: EIP, CS, EFLAGS [, ESP, SS when returning to an outer level]. */
  iret32(): void {
    iret32Impl(this);
  }

  /** iretq / iretd (SDM Vol. 2A IRET, 64-bit mode: always pops SS:RSP). */
  iret(size: 8 | 4 | 2): void {
    iretImpl(this, size);
  }

  /** @internal */ setSpRaw(v: number): void {
    this.R[4] = v | 0;
    this.H[4] = Math.floor(v / TWO32) | 0;
  }

  /** syscall (SDM Vol. 2B): RCX=next RIP, R11=RFLAGS, CS/SS from STAR, RIP=LSTAR, RFLAGS&=~SFMASK. */
  syscall(next: number): void {
    syscallImpl(this, next);
  }

  /** sysretq: back to CPL 3 at RCX with RFLAGS from R11. */
  sysret(): void {
    sysretImpl(this);
  }

  /** sysenter (SDM Vol. 2B): CPL 0 at IA32_SYSENTER_CS:EIP with IA32_SYSENTER_ESP. */
  sysenter(): void {
    sysenterImpl(this);
  }

  /** sysexit / sysexitq: CPL 3 at EDX (RDX) with the stack ECX (RCX). */
  sysexit(q: boolean): void {
    sysexitImpl(this, q);
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
    return disassemblyImpl(this, count);
  }

  /**
   * The last `count` instructions executed, oldest first, re-decoded from the trace ring's block
   * starts and lengths (a block's instructions are consecutive), plus the recorded events.
   */
  recentInstructions(count = 32): { address: bigint; text: string }[] {
    return recentInstructionsImpl(this, count);
  }

  disassembleAround(count: number): string[] {
    const d = this.disassembly(count);
    return listingText(d.lines, d.current);
  }

  /** The top `count` qwords of the stack, read through the guest's page tables. */
  stackAround(count: number): string[] {
    const rsp = this.getReg("rsp");
    const width = this.mode === "long64" ? 8 : 4;
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const at = rsp + BigInt(i * width);
      let value: string;
      try {
        const b = this.readVirt(at, width);
        let v = 0n;
        for (let k = width - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[k]!);
        value = v.toString(16).padStart(width * 2, "0");
      } catch {
        value = "(not mapped)";
      }
      out.push(`${i === 0 ? "rsp" : `   `}+${(i * width).toString(16).padStart(2, "0")}  ${at.toString(16).padStart(16, "0")}  ${value}`);
    }
    return out;
  }

  /** The trace ring as a view: the last instructions executed and the last events. */
  traceView(count = 24): MimeBundle {
    const ins = this.recentInstructions(count);
    const ev = this.trace.recentEvents().slice(-12);
    const text = [
      `last ${ins.length} instructions of vCPU ${this.id} (${this.icount} retired):`,
      ...ins.map((i) => `  ${i.address.toString(16).padStart(16, "0")}  ${i.text}`),
      `last events:`,
      ...ev.map((e) => `  ${BigInt.asUintN(64, BigInt(e.rip)).toString(16).padStart(16, "0")}  ${e.text}`),
    ].join("\n");
    const esc = (t: string) => t.replace(/[&<>]/g, (ch) => (ch === "&" ? "&amp;" : ch === "<" ? "&lt;" : "&gt;"));
    return { "text/plain": text, "text/html": `<pre style="font-size:12px">${esc(text)}</pre>` };
  }

  /** The disassembly view alone. */
  disassemblyView(count = 16): MimeBundle {
    const d = this.disassembly(count);
    return new Listing(d.lines, d.current, `vCPU ${this.id} at 0x${d.current.toString(16)}`).toMimeBundle();
  }

  /** Walks the guest page tables for `va` without changing A/D bits: levels, gpa, machine frame. */
  pageWalk(va: number | bigint): PageWalk {
    return pageWalkImpl(this, va);
  }

  /** Registers, flags decoded, disassembly at RIP (src/render/registers, through the MIME registry). */
  toMimeBundle(): MimeBundle {
    return display(this);
  }
}


