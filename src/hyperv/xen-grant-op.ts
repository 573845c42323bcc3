/**
 * HYPERVISOR_grant_table_op through the adapter, version 1: every grant's state (entries, pins,
 * GTF_reading/GTF_writing, maptrack) is Xen's GrantTable's (src/xen/grant-table.ts), one per
 * Xen-enabled partition; what a mapping does to the mapper's physmap is the root's HvMapGpaPages
 * of the granter's frame (the table's physmap hook, set by the adapter). The guest's structs are
 * read by the layouts the header test checks, as Xen's handler reads them
 * (src/xen/hypercalls/grant-table-op.ts).
 */
import { DOMID_SELF, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly, GNTST, GNTTABOP, GTF_permit_access, GTF_readonly, GTF_type_mask, LAYOUT, XEN_ERRNO } from "../xen/abi";
import { isRefusal, type GrantTable } from "../xen/grant-table";
import { grantHandle, grantRef } from "../xen/types";
import { domId, gfn, PAGE_SIZE, type DomId, type Machine, type Vcpu } from "../machine";

const MP = LAYOUT.gnttab_map_grant_ref.f, UM = LAYOUT.gnttab_unmap_grant_ref.f, QS = LAYOUT.gnttab_query_size.f, CP = LAYOUT.gnttab_copy.f;

export interface GrantCall {
  cpu: Vcpu;
  machine: Machine;
  domid: DomId;
  gnttab: GrantTable;
  /** Another Xen domain's table (undefined: no such domain). */
  tableOf(d: DomId): GrantTable | undefined;
}

const NAMES = new Map<number, string>(Object.entries(GNTTABOP).map(([k, v]) => [v as number, k]));

export function grantTableOp(c: GrantCall, cmd: number, arg: bigint, count: number): { result: number; name: string; hyperv: string[] } {
  const { cpu } = c;
  const name = `grant_table_op(${NAMES.get(cmd) ?? cmd})`;
  const hyperv: string[] = [];
  const out = (result: number) => ({ result, name, hyperv });
  if (count < 0 || count > 512) return out(-XEN_ERRNO.EINVAL);
  const u16 = (a: bigint) => { const b = cpu.readVirt(a, 2); return b[0]! | (b[1]! << 8); };
  const setI16 = (a: bigint, v: number) => { const o = new Uint8Array(2); new DataView(o.buffer).setInt16(0, v, true); cpu.writeVirt(a, o); };
  const self = (d: number) => (d === DOMID_SELF || d === c.domid ? c.gnttab : c.tableOf(domId(d)));
  switch (cmd) {
    case GNTTABOP.map_grant_ref:
      for (let i = 0; i < count; i++) {
        const at = arg + BigInt(i * LAYOUT.gnttab_map_grant_ref.size);
        const hostAddr = Number(BigInt.asIntN(64, cpu.readVirtU64(at + BigInt(MP.host_addr)))), flags = cpu.readVirtU32(at + BigInt(MP.flags));
        const ref = cpu.readVirtU32(at + BigInt(MP.ref)), dom = u16(at + BigInt(MP.dom));
        const granter = dom === c.domid ? undefined : c.tableOf(domId(dom));
        if (!granter) { setI16(at + BigInt(MP.status), GNTST.bad_domain); continue; }
        if (!(flags & GNTMAP_host_map)) { setI16(at + BigInt(MP.status), GNTST.general_error); continue; } // device_map needs an IOMMU
        const m = c.gnttab.map(granter, grantRef(ref), hostAddr, (flags & GNTMAP_readonly) !== 0);
        if (isRefusal(m)) { setI16(at + BigInt(MP.status), m.status); continue; }
        cpu.writeVirtU32(at + BigInt(MP.handle), m.handle);
        cpu.writeVirtU64(at + BigInt(MP.dev_bus_addr), BigInt(m.mfn) * BigInt(PAGE_SIZE));
        setI16(at + BigInt(MP.status), GNTST.okay);
        hyperv.push(`root: HvMapGpaPages(domain ${c.domid} gfn 0x${m.gfn.toString(16)} <- domain ${dom}'s grant ${ref}${m.readonly ? ", read-only" : ""})`);
      }
      return out(0);
    case GNTTABOP.unmap_grant_ref:
      for (let i = 0; i < count; i++) {
        const at = arg + BigInt(i * LAYOUT.gnttab_unmap_grant_ref.size);
        const hostAddr = Number(BigInt.asIntN(64, cpu.readVirtU64(at + BigInt(UM.host_addr)))), handle = cpu.readVirtU32(at + BigInt(UM.handle));
        const mapping = c.gnttab.mapping(grantHandle(handle));
        const st = c.gnttab.unmap(grantHandle(handle), hostAddr);
        setI16(at + BigInt(UM.status), st);
        if (st === GNTST.okay && mapping) hyperv.push(`root: ${mapping.displaced ? "HvMapGpaPages (the guest's own page back)" : "HvUnmapGpaPages"}(domain ${c.domid} gfn 0x${mapping.gfn.toString(16)})`);
      }
      return out(0);
    case GNTTABOP.query_size: {
      const t = self(u16(arg + BigInt(QS.dom)));
      if (!t) { setI16(arg + BigInt(QS.status), GNTST.bad_domain); return out(0); }
      cpu.writeVirtU32(arg + BigInt(QS.nr_frames), t.frames.length);
      cpu.writeVirtU32(arg + BigInt(QS.max_nr_frames), t.maxFrames);
      setI16(arg + BigInt(QS.status), GNTST.okay);
      return out(0);
    }
    case GNTTABOP.copy:
      for (let i = 0; i < count; i++) {
        const op = arg + BigInt(i * LAYOUT.gnttab_copy.size);
        const len = u16(op + BigInt(CP.len)), flags = u16(op + BigInt(CP.flags));
        const s = copySide(c, op + BigInt(CP["source.u"]), (flags & GNTCOPY_source_gref) !== 0, false);
        const d = typeof s === "number" ? s : copySide(c, op + BigInt(CP["dest.u"]), (flags & GNTCOPY_dest_gref) !== 0, true);
        if (typeof s === "number" || typeof d === "number") { setI16(op + BigInt(CP.status), typeof s === "number" ? s : d as number); continue; }
        if (s.off + len > PAGE_SIZE || d.off + len > PAGE_SIZE) { setI16(op + BigInt(CP.status), GNTST.bad_copy_arg); continue; }
        new Uint8Array(d.view.buffer, d.view.byteOffset + d.off, len).set(new Uint8Array(s.view.buffer, s.view.byteOffset + s.off, len));
        setI16(op + BigInt(CP.status), GNTST.okay);
        hyperv.push(`root: copies ${len} B between the two partitions' frames (the root maps all memory; no hypercall)`);
      }
      return out(0);
    case GNTTABOP.get_version:
      cpu.writeVirtU32(arg + BigInt(LAYOUT.gnttab_get_version.f.version), 1);
      return out(0);
    case GNTTABOP.set_version:
      return out(cpu.readVirtU32(arg + BigInt(LAYOUT.gnttab_set_version.f.version)) === 1 ? 0 : -XEN_ERRNO.EINVAL);
    default:
      return out(-XEN_ERRNO.ENOSYS);
  }
}

/** One side of a gnttab_copy (u = gref or gmfn, domid, offset): the frame's bytes, or a GNTST status. */
function copySide(c: GrantCall, at: bigint, isGref: boolean, write: boolean): { view: DataView; off: number } | number {
  const { cpu } = c;
  const u = Number(cpu.readVirtU64(at)), b = cpu.readVirt(at + 8n, 4);
  const domid = b[0]! | (b[1]! << 8), offset = b[2]! | (b[3]! << 8);
  const mine = domid === DOMID_SELF || domid === c.domid;
  const t = mine ? c.gnttab : c.tableOf(domId(domid));
  if (!t) return GNTST.bad_domain;
  let frame: number;
  if (isGref) {
    if (u >= t.nrEntries) return GNTST.bad_gntref;
    const e = t.entry(grantRef(u))!;
    if ((e.flags & GTF_type_mask) !== GTF_permit_access || (e.domid !== c.domid && !mine)) return GNTST.permission_denied;
    if (write && (e.flags & GTF_readonly)) return GNTST.permission_denied;
    frame = e.frame;
  } else {
    // A plain gmfn only for one's own memory (the root, dom0, is not an adapter guest).
    if (!mine) return GNTST.permission_denied;
    frame = u;
  }
  const p = c.machine.p2m(t.owner).lookup(gfn(frame));
  if (!p) return GNTST.bad_page;
  if (write) c.machine.invalidateFrame(p.mfn);
  return { view: c.machine.memory.view(p.mfn), off: offset };
}
