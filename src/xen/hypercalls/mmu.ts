/**
 * The PV MMU hypercalls (xen/arch/x86/mm.c): HYPERVISOR_mmu_update (do_mmu_update),
 * HYPERVISOR_mmuext_op (do_mmuext_op) and HYPERVISOR_update_va_mapping (__do_update_va_mapping).
 * The frame table they change is src/xen/pv/page-types.ts; this file reads the guest's requests,
 * picks the owner domains, and does the TLB maintenance Xen does.
 */
import { Mfn, mfn, PAGE_SIZE } from "../../machine";
import { DOMID_SELF, LAYOUT } from "../abi";
import type { Domain } from "../domain";
import {
  MMUEXT, MMU_MACHPHYS_UPDATE, MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_NO_TRANSLATE, MMU_PT_UPDATE_PRESERVE_AD, PGT, PageType,
  UVMF_ALL, UVMF_FLUSHTYPE_MASK, UVMF_INVLPG, UVMF_LOCAL, UVMF_TLB_FLUSH, _PAGE_PRESENT,
} from "../pv/abi";
import { PageTypes, pteFlags, pteMfn } from "../pv/page-types";
import type { XenVcpu } from "../xen-vcpu";
import { Handler, HcCtx, err, num } from "./context";

const MU = LAYOUT.mmu_update, MX = LAYOUT.mmuext_op;

/**
 * get_pg_owner: DOMID_SELF or the caller's own id is the caller; another PV domain only for a
 * privileged caller (XSM's target check, -EPERM); a domain that does not exist is -ESRCH.
 */
function pgOwner(c: HcCtx, raw: number): Domain | number {
  if (raw === DOMID_SELF || raw === c.dom.domid) return c.dom;
  const d = c.host.domains.get(raw as Domain["domid"]);
  if (!d) return err("ESRCH");
  if (!c.dom.privileged) return err("EPERM");
  return d;
}

/** Flushes the TLBs of the vCPUs a UVMF_* / MMUEXT_*_MULTI target names: one, all, or a vCPU bitmap. */
function vcpusOf(c: HcCtx, target: "local" | "all" | number): XenVcpu[] {
  if (target === "local") return [c.v];
  if (target === "all") return c.dom.vcpus;
  const mask = c.mem.u64(target);
  return c.dom.vcpus.filter((v) => v.id < 64 && ((mask >> BigInt(v.id)) & 1n) === 1n);
}
function flush(vs: XenVcpu[], va?: number): void {
  for (const v of vs) if (v.cpu) va === undefined ? v.cpu.flushTlb() : v.cpu.invlpg(va);
}

/**
 * new_guest_cr3: the vCPU takes a type reference of the new L4 (validating it if needed), runs on
 * it, and gives back the reference its old base held.
 */
export function newGuestCr3(types: PageTypes, v: XenVcpu, m: number): number {
  const cpu = v.cpu!;
  if (v.guestTable === m) { cpu.flushTlb(); return 0; }
  const rc = types.getType(v.domain.domid, m, PGT.l4);
  if (rc < 0) return rc;
  const old = v.guestTable;
  v.guestTable = mfn(m);
  cpu.setReg("cr3", m * PAGE_SIZE); // flushes the TLB (write_ptbase)
  if (old !== undefined) types.putType(old);
  return 0;
}

export const mmuUpdate: Handler = (c, a) => {
  if (c.dom.kind !== "pv") return err("ENOSYS"); // not in the HVM hypercall table (hypercall-defs.c)
  const reqs = num(a[0]!), count = num(a[1]!) >>> 0, pdone = num(a[2]!), foreign = num(a[3]!) >>> 0;
  // The page-table-owner half (foreigndom >> 16, for building another domain's tables) is not modelled.
  if ((foreign >>> 16) !== 0 && (foreign >>> 16) - 1 !== c.dom.domid) return err("EOPNOTSUPP");
  const owner = pgOwner(c, foreign & 0xffff);
  if (typeof owner === "number") return owner;
  const types = c.host.pageTypes;
  let rc = 0, i = 0, flushAll = false;
  for (; i < count; i++) {
    const at = reqs + i * MU.size;
    const ptr = c.mem.u64(at + MU.f.ptr), val = c.mem.u64(at + MU.f.val);
    const cmd = Number(ptr & 3n);
    if (cmd === MMU_NORMAL_PT_UPDATE || cmd === MMU_PT_UPDATE_PRESERVE_AD || cmd === MMU_PT_UPDATE_NO_TRANSLATE) {
      const maddr = ptr - BigInt(cmd);
      const m = Number(maddr >> 12n), offset = Number(maddr & 0xfffn);
      rc = err("EINVAL");
      if (offset % 8 !== 0 || !types.owns(c.dom.domid, m)) break; // get_page_from_gfn(pt_owner): not the caller's frame
      const t = types.typeOf(m);
      if (t.count > 0 && t.validated && t.type !== PGT.writable) {
        // mod_l2..l4_entry need the mapped frames and the table to belong to one domain.
        if (t.type !== PGT.l1 && owner !== c.dom) break;
        rc = types.modEntry(t.type === PGT.l1 ? owner.domid : c.dom.domid, m, offset / 8, val, cmd === MMU_PT_UPDATE_PRESERVE_AD);
        if (rc === 0 && t.type !== PGT.l1) flushAll = true; // flush_linear_pt
      } else if (types.getType(c.dom.domid, m, PGT.writable) === 0) {
        // An ordinary page: the write is just a write (paging_write_guest_entry).
        c.host.machine.memory.view(mfn(m)).setBigUint64(offset, val, true);
        c.host.machine.invalidateRange(m, offset, 8);
        types.putType(m);
        rc = 0;
      }
    } else if (cmd === MMU_MACHPHYS_UPDATE) {
      const m = Number(ptr >> 12n);
      rc = 0;
      if (owner.kind !== "pv") rc = err("EINVAL"); // a translated domain has no M2P entries to set
      else if (!types.owns(owner.domid, m)) rc = err("EINVAL"); // "Could not get page for mach->phys update"
      else types.setMachToPhys(mfn(m), Number(val));
    } else rc = err("ENOSYS");
    if (rc !== 0) break;
  }
  if (flushAll) flush(c.dom.vcpus);
  if (pdone !== 0) c.mem.setU32(pdone, i);
  return rc;
};

const PIN_TYPE: Record<number, PageType> = {
  [MMUEXT.PIN_L1_TABLE]: PGT.l1, [MMUEXT.PIN_L2_TABLE]: PGT.l2, [MMUEXT.PIN_L3_TABLE]: PGT.l3, [MMUEXT.PIN_L4_TABLE]: PGT.l4,
};

export const mmuextOp: Handler = (c, a) => {
  const ops = num(a[0]!), count = num(a[1]!) >>> 0, pdone = num(a[2]!), foreign = num(a[3]!) & 0xffff;
  const owner = pgOwner(c, foreign);
  if (typeof owner === "number") return owner;
  if (owner.kind !== "pv") return err("EINVAL"); // do_mmuext_op: !is_pv_domain(pg_owner)
  const types = c.host.pageTypes, self = owner === c.dom;
  let rc = 0, i = 0;
  for (; i < count; i++) {
    const at = ops + i * MX.size;
    const cmd = c.mem.u32(at + MX.f.cmd), arg1 = c.mem.u64(at + MX.f.arg1), arg2 = c.mem.u64(at + MX.f.arg2);
    const m = Number(BigInt.asUintN(52, arg1));
    const pin = PIN_TYPE[cmd];
    if (pin !== undefined) rc = types.pin(owner.domid, m, pin);
    else switch (cmd) {
      case MMUEXT.UNPIN_TABLE: rc = types.unpin(owner.domid, m); break;
      case MMUEXT.NEW_BASEPTR: rc = self ? newGuestCr3(types, c.v, m) : err("EPERM"); break;
      case MMUEXT.TLB_FLUSH_LOCAL: rc = self ? (flush([c.v]), 0) : err("EPERM"); break;
      case MMUEXT.INVLPG_LOCAL: rc = self ? (flush([c.v], num(arg1)), 0) : err("EPERM"); break;
      case MMUEXT.TLB_FLUSH_ALL: rc = self ? (flush(c.dom.vcpus), 0) : err("EPERM"); break;
      case MMUEXT.INVLPG_ALL: rc = self ? (flush(c.dom.vcpus, num(arg1)), 0) : err("EPERM"); break;
      case MMUEXT.TLB_FLUSH_MULTI: rc = self ? (flush(vcpusOf(c, num(arg2))), 0) : err("EPERM"); break;
      case MMUEXT.INVLPG_MULTI: rc = self ? (flush(vcpusOf(c, num(arg2)), num(arg1)), 0) : err("EPERM"); break;
      case MMUEXT.CLEAR_PAGE:
      case MMUEXT.COPY_PAGE: {
        // The destination must take the writable type (not a page table); COPY's source must be the owner's.
        const src = Number(BigInt.asUintN(52, arg2));
        if (cmd === MMUEXT.COPY_PAGE && !types.owns(owner.domid, src)) { rc = err("EINVAL"); break; }
        rc = types.getType(owner.domid, m, PGT.writable);
        if (rc < 0) { rc = err("EINVAL"); break; }
        const mem = c.host.machine.memory, dst = new Uint8Array(mem.view(mfn(m)).buffer, mem.view(mfn(m)).byteOffset, PAGE_SIZE);
        if (cmd === MMUEXT.CLEAR_PAGE) dst.fill(0);
        else dst.set(new Uint8Array(mem.view(mfn(src)).buffer, mem.view(mfn(src)).byteOffset, PAGE_SIZE));
        c.host.machine.invalidateFrame(m);
        types.putType(m);
        break;
      }
      default: rc = err("ENOSYS");
    }
    if (rc !== 0) break;
  }
  if (pdone !== 0) c.mem.setU32(pdone, i);
  return rc;
};

/**
 * guest_map_l1e: the L1 table that maps `va` in the vCPU's current page tables, walking machine
 * frames from its base; undefined when an upper level is not present.
 */
function l1TableOf(types: PageTypes, v: XenVcpu, va: number): { table: Mfn; slot: number } | undefined {
  const u = BigInt.asUintN(48, BigInt(va));
  let table: number | undefined = v.guestTable;
  for (const shift of [39n, 30n, 21n]) {
    if (table === undefined) return undefined;
    const e = types.entry(table, Number((u >> shift) & 511n));
    if (!(pteFlags(e) & _PAGE_PRESENT)) return undefined;
    table = pteMfn(e);
  }
  return { table: mfn(table!), slot: Number((u >> 12n) & 511n) };
}

export const updateVaMapping: Handler = (c, a) => {
  if (c.dom.kind !== "pv") return err("ENOSYS");
  const va = num(a[0]!), val = a[1]!, flags = num(a[2]!);
  const types = c.host.pageTypes;
  const l1 = l1TableOf(types, c.v, va);
  // The L1 must be the caller's and validated as an L1 (page_lock + the type check): else -EINVAL.
  if (!l1 || !types.owns(c.dom.domid, l1.table)) return err("EINVAL");
  const t = types.typeOf(l1.table);
  if (t.type !== PGT.l1 || !t.validated || t.count === 0) return err("EINVAL");
  const rc = types.modEntry(c.dom.domid, l1.table, l1.slot, val);
  if (rc) return rc; // nothing changed: no flush
  const target = flags & ~UVMF_FLUSHTYPE_MASK;
  const vs = vcpusOf(c, target === UVMF_LOCAL ? "local" : target === UVMF_ALL ? "all" : target);
  if ((flags & UVMF_FLUSHTYPE_MASK) === UVMF_TLB_FLUSH) flush(vs);
  else if ((flags & UVMF_FLUSHTYPE_MASK) === UVMF_INVLPG) flush(vs, va);
  return 0;
};
