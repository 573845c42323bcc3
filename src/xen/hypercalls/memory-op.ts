/** HYPERVISOR_memory_op (common/memory.c do_memory_op; public memory.h) for translated guests. */
import { FrameUse, gfn, PAGE_SIZE } from "../../machine";
import { LAYOUT, XENMAPIDX_grant_table_status, XENMAPSPACE_gmfn, XENMAPSPACE_grant_table, XENMAPSPACE_shared_info, XENMEM } from "../abi";
import { CONSOLE_PFN, X86_HVM_END_SPECIAL_REGION, X86_HVM_NR_SPECIAL_PAGES } from "../builder";
import { Handler, HcCtx, err, num, domainArg, privilegedOrSelf } from "./context";

const R = LAYOUT.xen_memory_reservation.f;
const X = LAYOUT.xen_add_to_physmap.f;
const MM = LAYOUT.xen_memory_map.f;
const RP = LAYOUT.xen_remove_from_physmap.f;
/** Xen's x86 `struct e820entry` (xen/arch/x86/include/asm/e820.h, __packed): not in the public headers. */
const E820_ENTRY_SIZE = 20;

/** Frees the RAM page at a gfn (if it is the domain's own RAM) before something else is mapped there. */
function dropRam(c: HcCtx, d: HcCtx["dom"], g: number): boolean {
  const p2m = c.host.machine.p2m(d.domid);
  const e = p2m.lookup(gfn(g));
  if (!e) return false;
  const info = c.host.machine.memory.info(e.mfn);
  const own = info.owner === d.domid && info.use === FrameUse.Ram;
  if (own) c.host.machine.memory.free(e.mfn);
  p2m.remove(gfn(g));
  return own;
}

/** The domain's own RAM frames in its physmap. */
function ramPages(c: HcCtx, d: HcCtx["dom"]): number {
  let n = 0;
  for (const e of c.host.machine.p2m(d.domid).entries()) {
    const info = c.host.machine.memory.info(e.mfn);
    if (info.owner === d.domid && info.use === FrameUse.Ram) n++;
  }
  return n;
}

function reservation(c: HcCtx, arg: number, cmd: number): number {
  const list = num(c.mem.u64(arg + R.extent_start)), n = num(c.mem.u64(arg + R.nr_extents));
  const order = c.mem.u32(arg + R.extent_order), domid = c.mem.u16(arg + R.domid);
  const d = domainArg(c, domid);
  if (!d) return err("ESRCH");
  if (!privilegedOrSelf(c, d)) return err("EPERM");
  if (order > 9 || n < 0) return err("EINVAL");
  const per = 1 << order;
  const p2m = c.host.machine.p2m(d.domid);
  // max_pages bounds the domain's own RAM: shared_info and grant frames are Xen's pages mapped
  // into its physmap, not counted in tot_pages (common/memory.c populate_physmap via
  // assign_pages' max_pages check). Counted once per call, kept current below.
  let ram = cmd === XENMEM.decrease_reservation ? 0 : ramPages(c, d);
  let done = 0;
  for (; done < n; done++) {
    const g = num(c.mem.u64(list + done * 8));
    if (cmd === XENMEM.decrease_reservation) {
      for (let k = 0; k < per; k++) {
        const e = p2m.lookup(gfn(g + k));
        if (!e) return done;
        dropRam(c, d, g + k);
      }
      continue;
    }
    // populate_physmap / increase_reservation: allocate and map at the given GFNs.
    if (ram + per > d.maxPages) return done;
    if (c.host.machine.memory.frameCount - c.host.machine.memory.allocatedFrames < per) return done;
    let freed = 0;
    for (let k = 0; k < per; k++) if (dropRam(c, d, g + k)) freed++;
    c.host.machine.populate(d.domid, gfn(g), per);
    ram += per - freed;
  }
  return done;
}

export const memoryOp: Handler = (c, a) => {
  const cmd = num(a[0]!) & 0x3f, arg = num(a[1]!);
  const { host } = c;
  switch (cmd) {
    case XENMEM.populate_physmap:
    case XENMEM.increase_reservation:
    case XENMEM.decrease_reservation:
      return reservation(c, arg, cmd);
    case XENMEM.maximum_ram_page: return host.machine.memory.frameCount - 1;
    case XENMEM.current_reservation:
    case XENMEM.maximum_reservation: {
      const d = domainArg(c, c.mem.u16(arg));
      if (!d) return err("ESRCH");
      if (!privilegedOrSelf(c, d)) return err("EPERM");
      return cmd === XENMEM.current_reservation ? d.totPages : d.maxPages;
    }
    case XENMEM.maximum_gpfn: {
      const d = domainArg(c, c.mem.u16(arg));
      if (!d) return err("ESRCH");
      const e = host.machine.p2m(d.domid).entries();
      return e.length ? e[e.length - 1]!.gfn : 0;
    }
    case XENMEM.memory_map: {
      // The domain's E820 (what the builder put in hvm_start_info).
      const max = c.mem.u32(arg + MM.nr_entries), buf = num(c.mem.u64(arg + MM.buffer));
      const entries = [
        { addr: 0, size: c.dom.targetPages * PAGE_SIZE, type: 1 },
        { addr: (X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES) * PAGE_SIZE, size: X86_HVM_NR_SPECIAL_PAGES * PAGE_SIZE, type: 2 },
      ];
      void CONSOLE_PFN;
      if (max < entries.length) return err("EINVAL");
      entries.forEach((e, i) => { const o = buf + i * E820_ENTRY_SIZE; c.mem.setU64(o, e.addr); c.mem.setU64(o + 8, e.size); c.mem.setU32(o + 16, e.type); });
      c.mem.setU32(arg + MM.nr_entries, entries.length);
      return 0;
    }
    case XENMEM.add_to_physmap: {
      const d = domainArg(c, c.mem.u16(arg + X.domid));
      if (!d) return err("ESRCH");
      if (!privilegedOrSelf(c, d)) return err("EPERM");
      const space = c.mem.u32(arg + X.space), idx = num(c.mem.u64(arg + X.idx)), g = num(c.mem.u64(arg + X.gpfn));
      if (g < 0 || g >= 2 ** 40) return err("EINVAL");
      if (space === XENMAPSPACE_shared_info) {
        if (idx !== 0) return err("EINVAL");
        if (d.sharedInfoGfn !== undefined && d.sharedInfoGfn !== g) host.machine.p2m(d.domid).remove(gfn(d.sharedInfoGfn));
        dropRam(c, d, g);
        d.mapXenPage(g, d.sharedInfoMfn);
        d.sharedInfoGfn = g;
        return 0;
      }
      if (space === XENMAPSPACE_grant_table) {
        if (idx & XENMAPIDX_grant_table_status) return err("EINVAL"); // status frames are v2 only
        if (!d.gnttab.grow(idx + 1)) return err("EINVAL");
        dropRam(c, d, g);
        d.mapXenPage(g, d.gnttab.frames[idx]!);
        return 0;
      }
      if (space === XENMAPSPACE_gmfn) {
        const p2m = host.machine.p2m(d.domid);
        const e = p2m.lookup(gfn(idx));
        if (!e) return err("EINVAL");
        dropRam(c, d, g);
        p2m.remove(gfn(idx));
        p2m.set(gfn(g), e.mfn, e.writable);
        return 0;
      }
      return err("EINVAL");
    }
    case XENMEM.remove_from_physmap: {
      const d = domainArg(c, c.mem.u16(arg + RP.domid));
      if (!d) return err("ESRCH");
      if (!privilegedOrSelf(c, d)) return err("EPERM");
      const g = num(c.mem.u64(arg + RP.gpfn));
      if (d.sharedInfoGfn === g) { host.machine.p2m(d.domid).remove(gfn(g)); d.sharedInfoGfn = undefined; return 0; }
      dropRam(c, d, g);
      return 0;
    }
    default: return err("ENOSYS");
  }
};
