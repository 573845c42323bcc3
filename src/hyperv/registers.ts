/**
 * HvGetVpRegisters / HvSetVpRegisters register names (hvgdk_mini.h enum hv_register_name) mapped to
 * the machine's vCPU. Segment registers use hv_x64_segment_register: base u64, limit u32,
 * selector u16, attributes u16 (bit 13 = L, bit 14 = D/B). The x87/MMX/SSE registers are
 * fp-registers.ts's.
 */
import { HV_REG } from "./tlfs";
import type { VirtualProcessor } from "./partition";
import { getFpRegister, setFpRegister } from "./fp-registers";

const GPRS: Record<number, string> = {
  [HV_REG.RAX]: "rax", [HV_REG.RCX]: "rcx", [HV_REG.RDX]: "rdx", [HV_REG.RBX]: "rbx", [HV_REG.RSP]: "rsp",
  [HV_REG.RBP]: "rbp", [HV_REG.RSI]: "rsi", [HV_REG.RDI]: "rdi", [HV_REG.R8]: "r8", [HV_REG.R9]: "r9",
  [HV_REG.R10]: "r10", [HV_REG.R11]: "r11", [HV_REG.R12]: "r12", [HV_REG.R13]: "r13", [HV_REG.R14]: "r14",
  [HV_REG.R15]: "r15", [HV_REG.RIP]: "rip", [HV_REG.RFLAGS]: "rflags",
};
const SEG_ATTR_L = 1 << 13, SEG_ATTR_DB = 1 << 14;

export function getRegister(vp: VirtualProcessor, name: number): { low: bigint; high: bigint } | undefined {
  const c = vp.cpu;
  const r = GPRS[name];
  if (r) return { low: c.getReg(r), high: 0n };
  const fp = getFpRegister(c, name);
  if (fp) return fp;
  switch (name) {
    case HV_REG.EXPLICIT_SUSPEND: return { low: vp.state === "suspended" ? 1n : 0n, high: 0n };
    case HV_REG.CR0: return { low: BigInt(c.cr0 >>> 0), high: 0n };
    case HV_REG.CR2: return { low: c.getReg("cr2"), high: 0n };
    case HV_REG.CR3: return { low: c.getReg("cr3"), high: 0n };
    case HV_REG.CR4: return { low: BigInt(c.cr4 >>> 0), high: 0n };
    case HV_REG.EFER: return { low: BigInt(c.efer >>> 0), high: 0n };
    case HV_REG.CS: {
      const attr = (c.cs.long ? SEG_ATTR_L : 0) | (c.cs.db ? SEG_ATTR_DB : 0) | 0x9b;
      return { low: 0n, high: BigInt(0xffffffff) | (BigInt(c.cs.selector) << 32n) | (BigInt(attr) << 48n) };
    }
  }
  return undefined;
}

/** Returns false for a register this model does not have (HV_STATUS_INVALID_PARAMETER). */
export function setRegister(vp: VirtualProcessor, name: number, low: bigint, high: bigint): boolean {
  const c = vp.cpu;
  const r = GPRS[name];
  if (r) { c.setReg(r, low); return true; }
  const fp = setFpRegister(c, name, low, high);
  if (fp !== "unknown") return fp === "ok";
  switch (name) {
    case HV_REG.EXPLICIT_SUSPEND:
      // bit 0 "suspended": the root resumes a VP it has set up by clearing it.
      if (low & 1n) vp.state = "suspended";
      else if (vp.state === "suspended") vp.state = "running";
      return true;
    case HV_REG.CR0: c.cr0 = Number(low & 0xffffffffn) | 0; c.updateMode(); c.flushTlb(); return true;
    case HV_REG.CR3: c.setReg("cr3", low); return true;
    case HV_REG.CR4: c.cr4 = Number(low & 0xffffffffn) | 0; c.updateMode(); c.flushTlb(); return true;
    case HV_REG.EFER: c.efer = Number(low & 0xffffffffn) | 0; c.updateMode(); return true;
    case HV_REG.CS: {
      const attr = Number((high >> 48n) & 0xffffn);
      c.cs = { selector: Number((high >> 32n) & 0xffffn), long: (attr & SEG_ATTR_L) !== 0, db: (attr & SEG_ATTR_DB) !== 0 };
      c.updateMode();
      return true;
    }
  }
  return false;
}
