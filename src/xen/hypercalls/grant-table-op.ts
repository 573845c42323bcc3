/** HYPERVISOR_grant_table_op, version 1 (common/grant_table.c; public grant_table.h). */
import { gfn, PAGE_SIZE } from "../../machine";
import {
  GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly, GNTST, GNTTABOP, GTF_permit_access,
  GTF_readonly, GTF_type_mask, LAYOUT,
} from "../abi";
import { GRANT_ENTRIES_PER_FRAME, isRefusal } from "../grant-table";
import { grantHandle, grantRef } from "../types";
import { Handler, HcCtx, err, num, domainArg } from "./context";

const ST = LAYOUT.gnttab_setup_table.f, QS = LAYOUT.gnttab_query_size.f, MP = LAYOUT.gnttab_map_grant_ref.f;
const UM = LAYOUT.gnttab_unmap_grant_ref.f, CP = LAYOUT.gnttab_copy.f;

function mapOne(c: HcCtx, op: number): void {
  const { dom, mem } = c;
  const hostAddr = num(mem.u64(op + MP.host_addr)), flags = mem.u32(op + MP.flags), ref = grantRef(mem.u32(op + MP.ref)), domid = mem.u16(op + MP.dom);
  const status = (s: number) => mem.setI16(op + MP.status, s);
  const gd = domainArg(c, domid);
  if (!gd || gd === dom) return status(GNTST.bad_domain);
  if (!(flags & GNTMAP_host_map)) return status(GNTST.general_error); // device_map needs an IOMMU
  const m = dom.gnttab.map(gd.gnttab, ref, hostAddr, (flags & GNTMAP_readonly) !== 0);
  if (isRefusal(m)) return status(m.status);
  mem.setU32(op + MP.handle, m.handle);
  mem.setU64(op + MP.dev_bus_addr, BigInt(m.mfn) * BigInt(PAGE_SIZE));
  status(GNTST.okay);
}

function unmapOne(c: HcCtx, op: number): void {
  const { dom, mem } = c;
  const hostAddr = num(mem.u64(op + UM.host_addr)), handle = grantHandle(mem.u32(op + UM.handle));
  mem.setI16(op + UM.status, dom.gnttab.unmap(handle, hostAddr));
}

/** Resolves one side of a gnttab_copy to (domain, machine frame, offset); a status on failure. */
function copySide(c: HcCtx, at: number, isGref: boolean, write: boolean): { view: DataView; off: number } | number {
  const { host, dom, mem } = c;
  const u = num(mem.u64(at)), domid = mem.u16(at + 8), offset = mem.u16(at + 10);
  let d = domainArg(c, domid);
  if (!d) return GNTST.bad_domain;
  let frame: number;
  if (isGref) {
    if (u >= d.gnttab.nrEntries) return GNTST.bad_gntref;
    const e = d.gnttab.entry(grantRef(u))!;
    if ((e.flags & GTF_type_mask) !== GTF_permit_access || (e.domid !== dom.domid && d !== dom)) return GNTST.permission_denied;
    if (write && (e.flags & GTF_readonly)) return GNTST.permission_denied;
    frame = e.frame;
  } else {
    // A plain gmfn only for one's own memory (or dom0's privilege).
    if (d !== dom && dom.domid !== 0) return GNTST.permission_denied;
    frame = u;
  }
  const p = host.machine.p2m(d.domid).lookup(gfn(frame));
  if (!p) return GNTST.bad_page;
  if (write) host.machine.invalidateFrame(p.mfn);
  d = undefined;
  return { view: host.machine.memory.view(p.mfn), off: offset };
}

function copyOne(c: HcCtx, op: number): void {
  const { mem } = c;
  const len = mem.u16(op + CP.len), flags = mem.u16(op + CP.flags);
  const status = (s: number) => mem.setI16(op + CP.status, s);
  const s = copySide(c, op + CP["source.u"], (flags & GNTCOPY_source_gref) !== 0, false);
  if (typeof s === "number") return status(s);
  const d = copySide(c, op + CP["dest.u"], (flags & GNTCOPY_dest_gref) !== 0, true);
  if (typeof d === "number") return status(d);
  if (s.off + len > PAGE_SIZE || d.off + len > PAGE_SIZE) return status(GNTST.bad_copy_arg);
  new Uint8Array(d.view.buffer, d.view.byteOffset + d.off, len).set(new Uint8Array(s.view.buffer, s.view.byteOffset + s.off, len));
  status(GNTST.okay);
}

export const grantTableOp: Handler = (c, a) => {
  const cmd = num(a[0]!), uop = num(a[1]!), count = num(a[2]!);
  const { mem } = c;
  if (count < 0 || count > 512) return err("EINVAL");
  switch (cmd) {
    case GNTTABOP.setup_table: {
      if (count !== 1) return err("EINVAL");
      const d = domainArg(c, mem.u16(uop + ST.dom));
      if (!d) { mem.setI16(uop + ST.status, GNTST.bad_domain); return 0; }
      if (d !== c.dom && c.dom.domid !== 0) { mem.setI16(uop + ST.status, GNTST.permission_denied); return 0; }
      const n = mem.u32(uop + ST.nr_frames);
      if (!d.gnttab.grow(n)) { mem.setI16(uop + ST.status, GNTST.general_error); return 0; }
      const list = num(mem.u64(uop + ST.frame_list));
      // Translated guests get the GFN where each frame is mapped (or the MFN if it is not).
      const p2m = c.host.machine.p2m(d.domid).entries();
      for (let i = 0; i < n; i++) {
        const m = d.gnttab.frames[i]!;
        const at = p2m.find((e) => e.mfn === m);
        mem.setU64(list + i * 8, at ? at.gfn : m);
      }
      mem.setI16(uop + ST.status, GNTST.okay);
      return 0;
    }
    case GNTTABOP.query_size: {
      const d = domainArg(c, mem.u16(uop + QS.dom));
      if (!d) { mem.setI16(uop + QS.status, GNTST.bad_domain); return 0; }
      mem.setU32(uop + QS.nr_frames, d.gnttab.frames.length);
      mem.setU32(uop + QS.max_nr_frames, d.gnttab.maxFrames);
      mem.setI16(uop + QS.status, GNTST.okay);
      return 0;
    }
    case GNTTABOP.map_grant_ref:
      for (let i = 0; i < count; i++) mapOne(c, uop + i * LAYOUT.gnttab_map_grant_ref.size);
      return 0;
    case GNTTABOP.unmap_grant_ref:
      for (let i = 0; i < count; i++) unmapOne(c, uop + i * LAYOUT.gnttab_unmap_grant_ref.size);
      return 0;
    case GNTTABOP.copy:
      for (let i = 0; i < count; i++) copyOne(c, uop + i * LAYOUT.gnttab_copy.size);
      return 0;
    case GNTTABOP.get_version:
      mem.setU32(uop + LAYOUT.gnttab_get_version.f.version, 1);
      return 0;
    case GNTTABOP.set_version: {
      const v = mem.u32(uop + LAYOUT.gnttab_set_version.f.version);
      return v === 1 ? 0 : err("EINVAL");
    }
    default: return err("ENOSYS");
  }
};

export { GRANT_ENTRIES_PER_FRAME };
