/**
 * The architectural state of one x86-64 vCPU as plain data, in one place (Blink's machine.h
 * idea): every register the guest can see or a hypervisor saves. `Vcpu` (vcpu.ts) extends this
 * class with behaviour (soft-MMU, events, the run loop) and scratch the generated code uses;
 * nothing else owns architectural state. Generated block code reads these fields by name (c.R,
 * c.xmm, c.mxcsr...), so renaming one means changing the emitters in emit/.
 *
 * Representation, chosen so the hot path never touches BigInt:
 *  - 64-bit values as two Int32Array halves (R low, H high) or as a signed double for addresses
 *    (canonical 48-bit addresses are exact; types.ts Gva).
 *  - The six arithmetic flags are lazy (flags.ts): the last flag-setting operation and its
 *    operands; the other EFLAGS bits live in eflagsRest.
 *  - Vector and x87 state in typed arrays laid out as FXSAVE stores them (SDM Vol. 1 §10.5.1,
 *    Table 10-2), so FXSAVE/XSAVE are copies.
 */
import { CR0_PE } from "./registers";

export type CpuMode = "long64" | "protected32" | "protected16" | "real16";

export interface SegmentState {
  selector: number;
  /** CS only: 64-bit code segment (L bit). */
  long: boolean;
  /** CS only: default operand size 32 (D bit). */
  db: boolean;
}

/** MXCSR after reset: all exceptions masked, round to nearest (SDM Vol. 1 §10.2.3.1). */
export const MXCSR_RESET = 0x1f80;
/** x87 FCW after FNINIT: all exceptions masked, 64-bit precision, round to nearest (SDM Vol. 1 §8.1.5). */
export const FCW_RESET = 0x037f;
/** XMM0..15 plus the vector scratch slots 16 (source) and 17 (result). */
export const VEC_SLOTS = 20, VEC_SRC = 16, VEC_RES = 17;
/** Slots 18 and 19: an MMX destination and source, widened to 128 bits (vec-mmx.ts). */
export const VEC_MM_D = 18, VEC_MM_S = 19;

export class CpuState {
  // ---- general-purpose registers and RIP ----
  /** General-purpose registers rax..r15 (Intel order), low and high 32 bits. */
  readonly R = new Int32Array(16);
  readonly H = new Int32Array(16);
  /** RIP as a signed double (see types.ts Gva). */
  rip = 0;

  // ---- RFLAGS ----
  /** Lazy arithmetic flags (flags.ts): op, result, operands (low/high halves), carry-in, bits. */
  fop = 0; fr = 0; frh = 0; fa = 0; fah = 0; fb = 0; fbh = 0; fc = 0; fbits = 0;
  /** EFLAGS other than the six arithmetic flags (bit 1 is always 1). */
  eflagsRest = 0x2;

  // ---- control, debug and descriptor-table registers ----
  cr0 = CR0_PE; cr2 = 0; cr3 = 0; cr4 = 0; cr8 = 0; efer = 0;
  /** XCR0 (XSETBV index 0): the XSAVE components enabled. Bit 0 (x87) is always 1 (SDM Vol. 1 §13.3). */
  xcr0 = 1;
  readonly dr = [0, 0, 0, 0, 0, 0, 0x0ffff0ff0, 0x400];
  gdtrBase = 0; gdtrLimit = 0xffff; idtrBase = 0; idtrLimit = 0xffff;
  trSelector = 0; trBase = 0; trLimit = 0x67;
  /**
   * PAE paging's PDPTE registers (SDM Vol. 3A §4.4.1): the four entries at CR3 as the last MOV to
   * CR0/CR3/CR4 that enabled or kept PAE paging loaded them, low and high words.
   */
  readonly pdpteLo = new Int32Array(4);
  readonly pdpteHi = new Int32Array(4);
  /** LDTR: selector and the base/limit cached from its descriptor (lldt). */
  ldtr = 0; ldtrBase = 0; ldtrLimit = 0;

  // ---- segments ----
  cs: SegmentState = { selector: 0x08, long: false, db: true };
  ss = 0x10; ds = 0x10; es = 0x10; fs = 0; gs = 0;
  fsBase = 0; gsBase = 0; kernelGsBase = 0;
  /**
   * The hidden part of ES, CS, SS and DS (SDM Vol. 3A §3.4.3): the base and limit loaded with the
   * selector, from a descriptor in protected mode or as selector·16 in real mode (which keeps the
   * limit: that is unreal mode). Used outside 64-bit mode, where only FS/GS bases count.
   */
  esBase = 0; csBase = 0; ssBase = 0; dsBase = 0;
  /** Limits (the last valid offset) by segment-register number: ES CS SS DS FS GS. */
  readonly segLimit = new Float64Array(6).fill(0xffffffff);
  /** SS.B: the stack pointer is ESP (true) or SP (false: real mode and 16-bit stacks). */
  ssBig = true;

  // ---- syscall MSRs and privilege ----
  star = 0n; lstar = 0; cstar = 0; sfmask = 0; tscAux = 0;
  /** IA32_SYSENTER_CS (bits 15:0), IA32_SYSENTER_ESP and _EIP (canonical addresses). */
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;
  cpl = 0;

  // ---- SSE state (XSAVE component 1) ----
  /**
   * One buffer for XMM0..XMM15 and four 16-byte scratch slots after them (slot 16: a memory
   * source operand, slot 17: a result being built, 18/19: MMX operands), seen through a view per lane width so the
   * vector helpers (vec-*.ts) address any lane of any slot as view[slot * lanes + lane].
   */
  private readonly vecBuf = new ArrayBuffer(VEC_SLOTS * 16);
  /** XMM0..XMM15, four little-endian 32-bit lanes each: xmm[4*i + lane] (lane 0 = bits 31:0). */
  readonly xmm = new Int32Array(this.vecBuf, 0, 16 * 4);
  /** The same registers (and scratch slots) as bytes, words, dwords. */
  readonly vb = new Uint8Array(this.vecBuf);
  readonly vw = new Uint16Array(this.vecBuf);
  readonly vd = new Int32Array(this.vecBuf);
  /** ...and as floats and doubles (only for non-NaN values: NaN bits may not survive a JS number). */
  readonly vf = new Float32Array(this.vecBuf);
  readonly vq = new Float64Array(this.vecBuf);
  /** MXCSR: exception flags 5:0, DAZ 6, masks 12:7, rounding 14:13, FTZ 15. */
  mxcsr = MXCSR_RESET;

  // ---- x87 / MMX state (XSAVE component 0) ----
  /**
   * The eight physical x87 registers R0..R7 (not ST(i): ST(i) = R[(TOP+i)&7]), five 16-bit
   * words each as FXSAVE's 10-byte format: words 0..3 the 64-bit significand (little-endian),
   * word 4 sign<<15 | exponent. MMX register i is the significand of R[i] (an MMX write sets
   * word 4 to 0xffff, SDM Vol. 1 §9.5).
   */
  readonly fpr = new Uint16Array(8 * 5);
  /** Control word, status word (TOP in bits 13:11), full 2-bit-per-register tag word. */
  fcw = FCW_RESET; fsw = 0; ftw = 0xffff;
  /** Last x87 opcode (11 bits), instruction pointer/selector and data pointer/selector. */
  fop87 = 0; fip = 0; fcs = 0; fdp = 0; fds = 0;

  // ---- derived and time ----
  /** Derived: executing 64-bit code (EFER.LMA && CS.L). */
  mode64 = false;
  /** Derived: 16-bit code (outside 64-bit mode with CS.D = 0: real mode, 16-bit protected mode). */
  code16 = false;
  /** Derived: CR0.PG (guest page tables in use). */
  paging = false;
  /** Instructions retired: the vCPU's virtual time. */
  icount = 0;
  /** rdtsc = icount + tscOffset (the owner may scale or offset it). */
  tscOffset = 0;
  /**
   * Shared by the vCPUs of one guest when its owner sets it: the highest TSC any of them has
   * read. Their slices of one quantum run one after another on this host, each from the
   * quantum's start, so without it a vCPU could read a TSC below one a sibling already read
   * (Linux's check_tsc_sync_source measures exactly that as a warp); reads never go below it.
   */
  tscFloor: { last: number } | undefined = undefined;
}
