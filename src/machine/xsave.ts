/**
 * Saving and restoring the x87/MMX and SSE state: FXSAVE/FXRSTOR (SDM Vol. 2A FXSAVE, Tables
 * 3-43/3-46/3-47), the XSAVE feature set for XSAVE components 0 (x87) and 1 (SSE) — XSAVE,
 * XSAVEOPT, XSAVEC, XRSTOR, XGETBV, XSETBV (SDM Vol. 1 ch. 13) — and LDMXCSR. The state itself
 * lives in cpu-state.ts; this file only moves it between registers and guest memory.
 *
 * Component tracking (XINUSE, SDM Vol. 1 §13.6) is exact: a component is "in use" iff it differs
 * from its initial configuration, which the SDM permits (a processor may report 1 for a component
 * in its initial configuration, never 0 for one that is not).
 */
import { MXCSR_RESET, FCW_RESET } from "./cpu-state";
import { GuestFault, Vector } from "./exits";
import type { Vcpu } from "./vcpu";

/** The MXCSR bits this vCPU implements (FXSAVE's MXCSR_MASK: flags, DAZ, masks, RC, FTZ). */
export const MXCSR_MASK = 0xffff;
/** XSAVE components implemented: x87 (bit 0) and SSE (bit 1) (SDM Vol. 1 §13.1). */
export const XCR0_X87 = 1, XCR0_SSE = 2, XCR0_SUPPORTED = XCR0_X87 | XCR0_SSE;
/** Size of the XSAVE area for components 0 and 1: the 512-byte legacy region and the 64-byte header. */
export const XSAVE_AREA_SIZE = 576;
const TWO32 = 4294967296;

function gp(reason: string): never {
  throw new GuestFault(Vector.GP, 0, reason);
}

/** FXSAVE's abridged tag byte: bit i set iff physical register i is not empty. */
export function abridgedTag(ftw: number): number {
  let t = 0;
  for (let i = 0; i < 8; i++) if (((ftw >> (2 * i)) & 3) !== 3) t |= 1 << i;
  return t;
}

/** The full 2-bit tag of physical register i from its contents (SDM Vol. 1 §8.1.7, FXRSTOR). */
export function tagOf(c: Vcpu, i: number): number {
  const w = c.fpr, o = i * 5;
  const exp = w[o + 4]! & 0x7fff;
  const sigZero = w[o] === 0 && w[o + 1] === 0 && w[o + 2] === 0 && w[o + 3] === 0;
  if (exp === 0x7fff) return 2;
  if (exp === 0) return sigZero ? 1 : 2;
  return (w[o + 3]! & 0x8000) !== 0 ? 0 : 2; // integer bit clear: unnormal, "special"
}

function top(c: Vcpu): number {
  return (c.fsw >> 11) & 7;
}

// ---- the legacy region (FXSAVE layout), one piece per XSAVE component ----

/** x87 part of the legacy region: bytes 0..23 and 32..159. `rexW`: 64-bit FIP/FDP (FXSAVE64). */
function saveX87(c: Vcpu, ea: number, rexW: boolean): void {
  c.w16(ea, c.fcw);
  c.w16(ea + 2, c.fsw);
  c.w16(ea + 4, abridgedTag(c.ftw));
  c.w16(ea + 6, c.fop87 & 0x7ff);
  if (rexW) {
    c.w64(ea + 8, c.fip | 0, Math.floor(c.fip / TWO32) | 0);
    c.w64(ea + 16, c.fdp | 0, Math.floor(c.fdp / TWO32) | 0);
  } else {
    c.w32(ea + 8, c.fip | 0); c.w32(ea + 12, c.fcs & 0xffff);
    c.w32(ea + 16, c.fdp | 0); c.w32(ea + 20, c.fds & 0xffff);
  }
  // ST(0)..ST(7) in stack order, each 10 bytes followed by 6 reserved bytes (written as 0).
  const t = top(c);
  for (let i = 0; i < 8; i++) {
    const r = ((t + i) & 7) * 5, a = ea + 32 + 16 * i;
    for (let k = 0; k < 5; k++) c.w16(a + 2 * k, c.fpr[r + k]!);
    c.w16(a + 10, 0); c.w32(a + 12, 0);
  }
}

function restoreX87(c: Vcpu, ea: number, rexW: boolean): void {
  // As the processor holds them: FCW bit 6 reads 1 and bits 15:13 read 0; FSW.ES (and its copy
  // B) is set iff an exception flag is set whose mask is clear (SDM Vol. 1 §8.1.3, §8.1.5).
  c.fcw = (c.r16(ea) & 0x1f7f) | 0x40;
  const fsw = c.r16(ea + 2) & 0x7f7f;
  c.fsw = (fsw & ~c.fcw & 0x3f) !== 0 ? fsw | 0x8080 : fsw;
  const tags = c.r8(ea + 4);
  c.fop87 = c.r16(ea + 6) & 0x7ff;
  if (rexW) {
    const lo = c.r64(ea + 8) >>> 0, hi = c.tH;
    c.fip = hi * TWO32 + lo; c.fcs = 0;
    const dlo = c.r64(ea + 16) >>> 0, dhi = c.tH;
    c.fdp = dhi * TWO32 + dlo; c.fds = 0;
  } else {
    c.fip = c.r32(ea + 8) >>> 0; c.fcs = c.r16(ea + 12);
    c.fdp = c.r32(ea + 16) >>> 0; c.fds = c.r16(ea + 20);
  }
  const t = top(c);
  for (let i = 0; i < 8; i++) {
    const r = ((t + i) & 7) * 5, a = ea + 32 + 16 * i;
    for (let k = 0; k < 5; k++) c.fpr[r + k] = c.r16(a + 2 * k);
  }
  let ftw = 0;
  for (let i = 0; i < 8; i++) ftw |= ((tags >> i) & 1 ? tagOf(c, i) : 3) << (2 * i);
  c.ftw = ftw;
}

function initX87(c: Vcpu): void {
  c.fcw = FCW_RESET; c.fsw = 0; c.ftw = 0xffff;
  c.fop87 = 0; c.fip = 0; c.fcs = 0; c.fdp = 0; c.fds = 0;
  c.fpr.fill(0);
}

function x87InUse(c: Vcpu): boolean {
  if (c.fcw !== FCW_RESET || c.fsw !== 0 || c.ftw !== 0xffff || c.fop87 !== 0 || c.fip !== 0 || c.fdp !== 0 || c.fcs !== 0 || c.fds !== 0) return true;
  for (let i = 0; i < 40; i++) if (c.fpr[i] !== 0) return true;
  return false;
}

/** XMM registers 0..n-1 (8 outside 64-bit mode) at bytes 160.. */
function saveXmm(c: Vcpu, ea: number): void {
  const n = c.mode64 ? 64 : 32;
  for (let i = 0; i < n; i++) c.w32(ea + 160 + 4 * i, c.xmm[i]!);
}
function restoreXmm(c: Vcpu, ea: number): void {
  const n = c.mode64 ? 64 : 32;
  for (let i = 0; i < n; i++) c.xmm[i] = c.r32(ea + 160 + 4 * i);
}
function initXmm(c: Vcpu): void {
  c.xmm.fill(0, 0, c.mode64 ? 64 : 32);
}
function sseInUse(c: Vcpu): boolean {
  for (let i = 0; i < 64; i++) if (c.xmm[i] !== 0) return true;
  return false;
}

function saveMxcsr(c: Vcpu, ea: number): void {
  c.w32(ea + 24, c.mxcsr);
  c.w32(ea + 28, MXCSR_MASK);
}
function loadMxcsr(c: Vcpu, v: number): void {
  if ((v & ~MXCSR_MASK) !== 0) gp(`MXCSR value 0x${(v >>> 0).toString(16)} sets reserved bits (MXCSR_MASK 0x${MXCSR_MASK.toString(16)})`);
  c.mxcsr = v;
}

/** XINUSE: bit i set iff component i is not in its initial configuration. */
export function xinuse(c: Vcpu): number {
  return (x87InUse(c) ? XCR0_X87 : 0) | (sseInUse(c) ? XCR0_SSE : 0);
}

// ---- FXSAVE / FXRSTOR ----

export function fxsave(c: Vcpu, ea: number, rexW: boolean): void {
  if ((ea & 15) !== 0) gp("FXSAVE area not 16-byte aligned");
  saveX87(c, ea, rexW);
  saveMxcsr(c, ea);
  saveXmm(c, ea);
}

export function fxrstor(c: Vcpu, ea: number, rexW: boolean): void {
  if ((ea & 15) !== 0) gp("FXRSTOR area not 16-byte aligned");
  loadMxcsr(c, c.r32(ea + 24)); // #GP before any state changes
  restoreX87(c, ea, rexW);
  restoreXmm(c, ea);
}

// ---- XSAVE feature set ----

/** The requested-feature bitmap of XSAVE, XSAVEOPT, XSAVEC and XRSTOR: XCR0 AND EDX:EAX (only bits 0..1 exist). */
function rfbm(c: Vcpu): number {
  return c.xcr0 & c.R[0]! & XCR0_SUPPORTED;
}

function xsaveChecks(ea: number, what: string): void {
  if ((ea & 63) !== 0) gp(`${what} area at ${ea.toString(16)} not 64-byte aligned`);
}

export type XsaveKind = "xsave" | "xsaveopt" | "xsavec";

/**
 * XSAVE (standard format: XSTATE_BV bits of RFBM := XINUSE, other header bytes untouched),
 * XSAVEOPT (the same, and a component in its initial configuration is not written; the
 * "modified" optimisation is not used, which the SDM allows), XSAVEC (compacted format: XCOMP_BV
 * := bit 63 | RFBM, XSTATE_BV := XINUSE & RFBM, components in their initial configuration not
 * written; components 0 and 1 keep their legacy-region places).
 */
export function xsave(c: Vcpu, ea: number, rexW: boolean, kind: XsaveKind): void {
  xsaveChecks(ea, kind.toUpperCase());
  const rf = rfbm(c);
  const inuse = xinuse(c);
  const skipInit = kind !== "xsave";
  if ((rf & XCR0_X87) && (!skipInit || (inuse & XCR0_X87))) saveX87(c, ea, rexW);
  if (rf & XCR0_SSE) {
    saveMxcsr(c, ea);
    if (!skipInit || (inuse & XCR0_SSE)) saveXmm(c, ea);
  }
  if (kind === "xsavec") {
    c.w64(ea + 512, inuse & rf, 0);
    c.w64(ea + 520, rf, 1 << 31);
  } else {
    const old = c.r32(ea + 512);
    c.w32(ea + 512, (old & ~rf) | (inuse & rf));
  }
}

export function xrstor(c: Vcpu, ea: number, rexW: boolean): void {
  xsaveChecks(ea, "XRSTOR");
  const rf = rfbm(c);
  const bvLo = c.r32(ea + 512), bvHi = c.r32(ea + 516);
  const compLo = c.r32(ea + 520), compHi = c.r32(ea + 524);
  const compacted = (compHi & (1 << 31)) !== 0;
  if (compacted) {
    if (compHi !== (1 << 31) || (compLo & ~c.xcr0) !== 0) gp("XRSTOR: XCOMP_BV names components not enabled in XCR0");
    if (bvHi !== 0 || (bvLo & ~compLo) !== 0) gp("XRSTOR: XSTATE_BV has bits not in XCOMP_BV");
    for (let o = 528; o < 576; o += 4) if (c.r32(ea + o) !== 0) gp("XRSTOR: reserved bytes 63:16 of the XSAVE header are not zero");
  } else {
    if (bvHi !== 0 || (bvLo & ~c.xcr0) !== 0) gp("XRSTOR: XSTATE_BV has bits not enabled in XCR0");
    if (compLo !== 0 || compHi !== 0 || c.r32(ea + 528) !== 0 || c.r32(ea + 532) !== 0) gp("XRSTOR: bytes 23:8 of the XSAVE header are not zero");
  }
  // MXCSR: the standard form loads it whenever RFBM[1] is set; the compacted form only with the
  // SSE component (SDM Vol. 1 §13.8.1/13.8.2).
  const loadsMx = (rf & XCR0_SSE) !== 0 && (!compacted || (bvLo & XCR0_SSE) !== 0);
  if (loadsMx) loadMxcsr(c, c.r32(ea + 24));
  if (rf & XCR0_X87) { if (bvLo & XCR0_X87) restoreX87(c, ea, rexW); else initX87(c); }
  if (rf & XCR0_SSE) {
    if (bvLo & XCR0_SSE) restoreXmm(c, ea);
    else { initXmm(c); if (compacted) c.mxcsr = MXCSR_RESET; }
  }
}

/** XGETBV: ECX selects the XCR (only XCR0 exists; CPUID.(0DH,1):EAX[2] is not advertised). */
export function xgetbv(c: Vcpu): void {
  if ((c.R[1]! >>> 0) !== 0) gp(`XGETBV of XCR${c.R[1]! >>> 0}, which does not exist`);
  c.R[0] = c.xcr0; c.H[0] = 0;
  c.R[2] = 0; c.H[2] = 0;
}

/** XSETBV (CPL 0): XCR0 must keep x87, may not enable what is not implemented (SDM Vol. 2C XSETBV). */
export function xsetbv(c: Vcpu): void {
  if (c.cpl !== 0) gp("XSETBV at CPL > 0");
  const idx = c.R[1]! >>> 0;
  if (idx !== 0) gp(`XSETBV of XCR${idx}, which does not exist`);
  const lo = c.R[0]!, hi = c.R[2]!;
  if (hi !== 0 || (lo & ~XCR0_SUPPORTED) !== 0) gp(`XSETBV: XCR0 value ${((hi >>> 0) * TWO32 + (lo >>> 0)).toString(16)} enables components this vCPU does not implement (supported: ${XCR0_SUPPORTED})`);
  if ((lo & XCR0_X87) === 0) gp("XSETBV: XCR0 bit 0 (x87) must be 1");
  c.xcr0 = lo;
}

export function ldmxcsr(c: Vcpu, v: number): void {
  loadMxcsr(c, v);
}
