/**
 * System registers: CR0-CR8, the architectural MSRs the vCPU implements itself, descriptor
 * tables and segment loads (flat segments; CS carries the L and D bits).
 */
import type { Vcpu } from "./vcpu";
import { GuestFault, Vector } from "./exits";
import {
  CR0_PE, CR0_PG, CR4_IMPLEMENTED, CR4_PAE, CR4_PGE, CR4_PSE, EFER_LMA, EFER_LME, MSR_CSTAR, MSR_EFER, MSR_FS_BASE, MSR_GS_BASE,
  MSR_KERNEL_GS_BASE, MSR_LSTAR, MSR_SFMASK, MSR_STAR, MSR_SYSENTER_CS, MSR_SYSENTER_EIP, MSR_SYSENTER_ESP, MSR_TSC, MSR_TSC_AUX,
} from "./registers";
import { Gva, gva } from "./types";
import { lookup } from "./desc-tables";
import { descriptorBase, descriptorLimit, setSegCache } from "./segcache";
import { isReal, loadSegReal } from "./realmode";
import { commitPdptes, paePaging, readPdptes } from "./mmu-legacy";

const TWO32 = 4294967296;
const CANON = 2 ** 47;
/** CR0.PG, CD (30) and NW (29); CR4.PAE, PGE, PSE: the bits whose change reloads the PDPTEs (SDM Vol. 3A §4.4.1). */
const CR0_PDPTE_BITS = (CR0_PG | (1 << 30) | (1 << 29)) | 0;
const CR4_PDPTE_BITS = CR4_PAE | CR4_PGE | CR4_PSE;

/** mov to CRn. Returns nothing; the block ends after every CR write. */
export function writeCr(c: Vcpu, n: number, lo: number, hi: number): void {
  c.priv();
  const v = hi * TWO32 + (lo >>> 0);
  switch (n) {
    case 0: {
      if ((lo & CR0_PG) && !(lo & CR0_PE)) throw new GuestFault(Vector.GP, 0, "CR0.PG without PE");
      if ((lo & CR0_PG) && (c.efer & EFER_LME) && !(c.cr4 & CR4_PAE)) throw new GuestFault(Vector.GP, 0, "long mode needs CR4.PAE");
      // Leaving long mode goes through compatibility mode (SDM Vol. 3A §9.8.5.4; MOV to CR0, 64-bit mode exceptions).
      if (c.mode64 && !(lo & CR0_PG)) throw new GuestFault(Vector.GP, 0, "clearing CR0.PG in 64-bit mode");
      // PDPTEs load when PAE paging follows a change of PG, CD or NW (SDM Vol. 3A §4.4.1).
      const pd = paePaging(lo, c.cr4, c.efer) && ((lo ^ c.cr0) & CR0_PDPTE_BITS) !== 0 ? readPdptes(c, c.cr3) : undefined;
      c.cr0 = lo | 0;
      if (pd) commitPdptes(c, pd);
      c.updateMode();
      c.flushTlb();
      return;
    }
    case 2: c.cr2 = hi * TWO32 + (lo >>> 0); return;
    case 3: {
      if (paePaging(c.cr0, c.cr4, c.efer)) commitPdptes(c, readPdptes(c, lo >>> 0));
      c.cr3 = v % 2 ** 52; c.flushTlb(); return;
    }
    case 4: {
      if (hi !== 0 || (lo & ~CR4_IMPLEMENTED)) throw new GuestFault(Vector.GP, 0, `mov to CR4 sets bits 0x${(hi * TWO32 + ((lo & ~CR4_IMPLEMENTED) >>> 0)).toString(16)} that are reserved or not implemented`);
      if ((c.efer & EFER_LMA) && !(lo & CR4_PAE)) throw new GuestFault(Vector.GP, 0, "clearing CR4.PAE in long mode");
      // ...and when PAE paging follows a change of PAE, PGE or PSE (SDM Vol. 3A §4.4.1).
      if (paePaging(c.cr0, lo, c.efer) && ((lo ^ c.cr4) & CR4_PDPTE_BITS) !== 0) commitPdptes(c, readPdptes(c, c.cr3));
      c.cr4 = lo | 0; c.updateMode(); c.flushTlb(); return;
    }
    case 8: c.cr8 = lo & 15; return;
  }
  throw new GuestFault(Vector.UD, undefined, `mov to cr${n}`);
}

export function readCr(c: Vcpu, n: number): number {
  c.priv();
  switch (n) {
    case 0: return c.cr0 >>> 0;
    case 2: return c.cr2;
    case 3: return c.cr3;
    case 4: return c.cr4 >>> 0;
    case 8: return c.cr8;
  }
  throw new GuestFault(Vector.UD, undefined, `mov from cr${n}`);
}

/** rdmsr: architectural MSRs are answered here, others become an exit. */
export function rdmsr(c: Vcpu, ix: number, rip: number, next: number): boolean {
  c.priv();
  const msr = c.R[1]! >>> 0;
  let v: bigint | undefined;
  switch (msr) {
    case MSR_EFER: v = BigInt(c.efer >>> 0); break;
    case MSR_STAR: v = c.star; break;
    case MSR_LSTAR: v = BigInt.asUintN(64, BigInt(c.lstar)); break;
    case MSR_CSTAR: v = BigInt.asUintN(64, BigInt(c.cstar)); break;
    case MSR_SFMASK: v = BigInt(c.sfmask >>> 0); break;
    case MSR_FS_BASE: v = BigInt.asUintN(64, BigInt(c.fsBase)); break;
    case MSR_GS_BASE: v = BigInt.asUintN(64, BigInt(c.gsBase)); break;
    case MSR_KERNEL_GS_BASE: v = BigInt.asUintN(64, BigInt(c.kernelGsBase)); break;
    case MSR_TSC: v = BigInt(c.readTsc(ix)); break;
    case MSR_TSC_AUX: v = BigInt(c.tscAux >>> 0); break;
    case MSR_SYSENTER_CS: v = BigInt(c.sysenterCs); break;
    case MSR_SYSENTER_ESP: v = BigInt.asUintN(64, BigInt(c.sysenterEsp)); break;
    case MSR_SYSENTER_EIP: v = BigInt.asUintN(64, BigInt(c.sysenterEip)); break;
  }
  if (v !== undefined) {
    c.completeRdmsr(v);
    return false;
  }
  c.exitAfter({ kind: "rdmsr", msr, rip: rip as Gva, nextRip: next as Gva });
  return true;
}

export function wrmsr(c: Vcpu, rip: number, next: number): boolean {
  c.priv();
  const msr = c.R[1]! >>> 0;
  const value = (BigInt(c.R[2]! >>> 0) << 32n) | BigInt(c.R[0]! >>> 0);
  const asVa = (): number => {
    const a = gva(value);
    if (!(a >= -CANON && a < CANON)) throw new GuestFault(Vector.GP, 0, `non-canonical value for MSR 0x${msr.toString(16)}`);
    return a;
  };
  switch (msr) {
    case MSR_EFER: {
      const lo = c.R[0]! | 0;
      if ((c.cr0 & CR0_PG) && ((lo ^ c.efer) & EFER_LME)) throw new GuestFault(Vector.GP, 0, "EFER.LME changed with paging on");
      c.efer = (lo & ~EFER_LMA) | (c.efer & EFER_LMA);
      c.updateMode();
      c.flushTlb();
      return false;
    }
    case MSR_STAR: c.star = value; return false;
    case MSR_LSTAR: c.lstar = asVa(); return false;
    case MSR_CSTAR: c.cstar = asVa(); return false;
    case MSR_SFMASK: c.sfmask = c.R[0]! >>> 0; return false;
    case MSR_FS_BASE: c.fsBase = asVa(); return false;
    case MSR_GS_BASE: c.gsBase = asVa(); return false;
    case MSR_KERNEL_GS_BASE: c.kernelGsBase = asVa(); return false;
    case MSR_TSC_AUX: c.tscAux = c.R[0]! >>> 0; return false;
    // The CS MSR keeps its 32 bits (only 15:0 are used); ESP/EIP are addresses, #GP if non-canonical.
    case MSR_SYSENTER_CS: c.sysenterCs = c.R[0]! >>> 0; return false;
    case MSR_SYSENTER_ESP: c.sysenterEsp = asVa(); return false;
    case MSR_SYSENTER_EIP: c.sysenterEip = asVa(); return false;
  }
  c.exitAfter({ kind: "wrmsr", msr, value, rip: rip as Gva, nextRip: next as Gva });
  return true;
}

/** Reads the 8-byte descriptor for a selector from the GDT, or the LDT when TI (bit 2) is set. */
export function descriptor(c: Vcpu, sel: number): [number, number] {
  const d = lookup(c, sel);
  if (!d) throw new GuestFault(Vector.GP, sel & ~3, `selector 0x${sel.toString(16)} beyond the ${sel & 4 ? "LDT" : "GDT"} limit`);
  return [d.lo, d.hi];
}

/** Loads CS (far jmp/call/ret, iret, syscall): reads L and D from the GDT descriptor. */
export function loadCs(c: Vcpu, sel: number, fromGdt = true): void {
  if (fromGdt && isReal(c)) return loadSegReal(c, "cs", sel);
  if (fromGdt) {
    if ((sel & ~3) === 0) throw new GuestFault(Vector.GP, 0, "null CS selector");
    const [lo, hi] = c.descriptor(sel);
    if (!(hi & (1 << 15))) throw new GuestFault(Vector.NP, sel & ~3, "code segment not present");
    c.cs = { selector: sel, long: (hi & (1 << 21)) !== 0, db: (hi & (1 << 22)) !== 0 };
    setSegCache(c, "cs", descriptorBase(lo, hi), descriptorLimit(lo, hi));
  } else c.cs = { ...c.cs, selector: sel };
  const newCpl = sel & 3;
  if (newCpl !== c.cpl) {
    c.cpl = newCpl;
    c.flushTlb();
  }
  c.updateMode();
}

export function loadSeg(c: Vcpu, which: "ss" | "ds" | "es" | "fs" | "gs", sel: number): void {
  if (isReal(c)) return loadSegReal(c, which, sel);
  let base = 0, limit = 0xffffffff;
  if ((sel & ~3) !== 0) {
    const [lo, hi] = c.descriptor(sel); // #GP if outside the GDT
    base = descriptorBase(lo, hi); limit = descriptorLimit(lo, hi);
    if (which === "ss") c.ssBig = (hi & (1 << 22)) !== 0;
  }
  c[which] = sel & 0xffff;
  if (which !== "fs" && which !== "gs") setSegCache(c, which, base, limit);
  // In long mode the FS/GS bases come from MSRs; a selector load in 32-bit mode would set them
  // from the descriptor: flat segments (base 0) are all we model.
  if (!c.mode64 && which === "fs") setSegCache(c, "fs", base, limit);
  if (!c.mode64 && which === "gs") setSegCache(c, "gs", base, limit);
}

export function lgdt(c: Vcpu, ea: number, idt: boolean): void {
  c.priv();
  const limit = c.r16(ea);
  let base: number;
  if (c.mode64) {
    const lo = c.r32(ea + 2), hi = c.r32(ea + 6);
    base = gva((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  } else base = c.r32(ea + 2) >>> 0;
  if (idt) { c.idtrBase = base; c.idtrLimit = limit; }
  else { c.gdtrBase = base; c.gdtrLimit = limit; }
}

export function sgdt(c: Vcpu, ea: number, idt: boolean): void {
  c.w16(ea, idt ? c.idtrLimit : c.gdtrLimit);
  const b = idt ? c.idtrBase : c.gdtrBase;
  c.w32(ea + 2, b | 0);
  if (c.mode64) c.w32(ea + 6, Math.floor(b / TWO32) | 0);
}
