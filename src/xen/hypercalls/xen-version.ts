/** HYPERVISOR_xen_version (common/kernel.c do_xen_version; public version.h). */
import { XENFEAT, XENVER, XEN_EXTRA, XEN_MAJOR, XEN_MINOR, LAYOUT } from "../abi";
import { Handler, err, num } from "./context";

const F = LAYOUT.xen_feature_info.f;

function putString(c: Parameters<Handler>[0], va: number, s: string, size: number): void {
  const b = new Uint8Array(size);
  b.set(Buffer.from(s.slice(0, size - 1), "latin1"));
  c.mem.write(va, b);
}

/**
 * XENVER_get_features submap `idx` for a PVH/HVM guest (kernel.c: translated, callback vector,
 * safe pvclock; dom0 for the control domain). The Longhorn adapter answers with the same map.
 */
export function guestFeatureSubmap(idx: number, dom0: boolean): number {
  if (idx !== 0) return 0;
  const map = (1 << XENFEAT.writable_page_tables) | (1 << XENFEAT.auto_translated_physmap) | (1 << XENFEAT.supervisor_mode_kernel)
    | (1 << XENFEAT.hvm_callback_vector) | (1 << XENFEAT.hvm_safe_pvclock) | (dom0 ? 1 << XENFEAT.dom0 : 0);
  return map >>> 0;
}

export const xenVersion: Handler = (c, a) => {
  const cmd = num(a[0]!), arg = num(a[1]!);
  switch (cmd) {
    case XENVER.version: return (XEN_MAJOR << 16) | XEN_MINOR;
    case XENVER.extraversion: putString(c, arg, XEN_EXTRA, 16); return 0;
    case XENVER.compile_info: {
      const CI = LAYOUT.xen_compile_info;
      const b = new Uint8Array(CI.size);
      const put = (s: string, o: number, n: number) => b.set(Buffer.from(s.slice(0, n - 1), "latin1"), o);
      put("gcc (Debian) xenlab", CI.f.compiler, 64); put("xenlab", CI.f.compile_by, 16); put("xenlab.invalid", CI.f.compile_domain, 32); put("Tue Nov 24 2026", CI.f.compile_date, 32);
      c.mem.write(arg, b);
      return 0;
    }
    case XENVER.capabilities: putString(c, arg, "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64", 1024); return 0;
    case XENVER.changeset: putString(c, arg, "xenlab", 64); return 0;
    case XENVER.platform_parameters: c.mem.setU64(arg, 0xffff800000000000n); return 0;
    case XENVER.get_features: {
      c.mem.setU32(arg + F.submap, guestFeatureSubmap(c.mem.u32(arg + F.submap_idx), c.dom.domid === 0));
      return 0;
    }
    case XENVER.pagesize: return 4096;
    case XENVER.guest_handle: {
      const hex = c.dom.uuid.replace(/-/g, "");
      c.mem.write(arg, Uint8Array.from(Buffer.from(hex, "hex")));
      return 0;
    }
    case XENVER.commandline: putString(c, arg, "console=vga loglvl=all", 1024); return 0;
    default: return err("ENOSYS");
  }
};
