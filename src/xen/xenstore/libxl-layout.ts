/**
 * The directories libxl creates under /local/domain/<id> for every guest (libxl_create.c
 * libxl__domain_make: "device", "control", "data", "drivers", "feature", "attr", "error", each
 * owned by the guest so its drivers may write there), and control/shutdown, where the toolstack
 * asks for a shutdown and the guest acknowledges it. Both the Xen toolstack and the Longhorn
 * host's Xen adapter lay a domain out this way.
 */
import type { XenStore } from "./store";

export const LIBXL_GUEST_DIRS = ["device", "control", "data", "drivers", "feature", "attr", "error"] as const;

/** Writes the guest-owned directories and control/shutdown under `domainPath` for domain `id`. */
export function writeGuestDirectories(xs: XenStore, domainPath: string, id: number): void {
  for (const sub of LIBXL_GUEST_DIRS) {
    xs.mkdir(`${domainPath}/${sub}`);
    xs.setPerms(`${domainPath}/${sub}`, [{ perm: "n", id }]);
  }
  xs.write(`${domainPath}/control/shutdown`, "");
  xs.setPerms(`${domainPath}/control/shutdown`, [{ perm: "n", id }]);
}
