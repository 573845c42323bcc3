/**
 * The toolstack's disk operations over the host's blkback: what `xl block-attach`, `block-list`
 * and `block-detach` (tools/xl/xl_block.c over libxl_disk.c) do, as functions a cell or a magic
 * calls, and the attach of the `disk = [...]` entries of a domain's xl.cfg.
 *
 *   const vbd = attachDisk(host, "guest", "format=vhd, vdev=xvda, access=rw, target=disk.vhd");
 *   host.run({ until: () => vbd.connected });   // the guest's blkfront connects
 *   vbd                                          // the ring view
 *   detachDisk(host, "guest", "xvda");           // backend Closing → frontend Closed → removed
 */
import type { Domain } from "../domain";
import type { XenHost } from "../host";
import type { DiskSpec } from "../xl-config";
import { XlConfigError } from "../errors";
import { openImage } from "../../vhd/image";
import { parseVdev } from "./devid";
import { BlkbackError } from "./errors";
import { resolveDisk } from "./spec";
import { Vbd } from "./vbd";
import { XenbusState } from "./abi";
import type { BackendHost, FrontendDomain } from "./backend-host";

const xenHosts = new WeakMap<XenHost, BackendHost>();

/** dom0 on the Xen host (one object per host, so the host's device registry is keyed by it). */
export function xenBackendHost(host: XenHost): BackendHost {
  let b = xenHosts.get(host);
  if (b) return b;
  b = {
    xenstore: host.xenstore,
    backendDomid: host.dom0.domid,
    log: (line) => host.log(line),
    memoryView: (m) => host.machine.memory.view(m),
    invalidateFrame: (m) => host.machine.invalidateFrame(m),
    bindService: (domid, remotePort, label, service) => {
      const d = host.domains.get(domid);
      if (!d) throw new RangeError(`no domain ${domid}`);
      return host.bindService(d, remotePort, label, service);
    },
    unbindService: (p, domid) => {
      const e = host.dom0.evtchn.get(p);
      if (e && e.state === "interdomain" && e.remoteDom === domid) host.events.close(host.dom0, e.port);
    },
    notify: (p) => host.notifyFromDom0(p),
    exists: (domid) => host.domains.has(domid),
  };
  xenHosts.set(host, b);
  return b;
}

/** Every backend's devices: one registry per backend host (dom0 of a Xen host, a Longhorn root). */
const registry = new WeakMap<BackendHost, Map<string, Vbd>>();
const key = (domid: number, devid: number) => `${domid}/${devid}`;

function vbdsOf(b: BackendHost): Map<string, Vbd> {
  let m = registry.get(b);
  if (!m) { m = new Map(); registry.set(b, m); }
  return m;
}

/** The devices a backend host serves, by frontend domain then device number. */
export function backendDisks(b: BackendHost, domid?: number): Vbd[] {
  return [...vbdsOf(b).values()].filter((v) => domid === undefined || v.domid === domid).sort((a, b2) => a.domid - b2.domid || a.devid - b2.devid);
}

function domainOf(host: XenHost, dom: Domain | number | string): Domain {
  return typeof dom === "object" ? dom : host.domain(dom);
}

export interface AttachOptions {
  /** Relative targets are resolved against this directory (default: the process's cwd). */
  baseDir?: string;
  /** Serve requests as soon as the frontend notifies (default) or only when stepped. */
  autoServe?: boolean;
}

/** libxl_device_disk_add: opens the image, writes the backend and frontend nodes, probes. */
export function attachDisk(host: XenHost, dom: Domain | number | string, spec: string | DiskSpec, opts: AttachOptions = {}): Vbd {
  return attachBackendDisk(xenBackendHost(host), domainOf(host, dom), spec, opts);
}

/**
 * The same on any backend host: the Xen host's dom0 (attachDisk) or a Longhorn root serving a
 * Xen-enabled child through the adapter (src/hyperv/xen-blkback.ts).
 */
export function attachBackendDisk(host: BackendHost, d: FrontendDomain, spec: string | DiskSpec, opts: AttachOptions = {}): Vbd {
  if (d.domid === host.backendDomid) throw new BlkbackError("domain", "disks are attached to guests, not to Domain-0");
  if (d.dying) throw new BlkbackError("domain", `${d.name} is being destroyed`);
  const disk = resolveDisk(spec, opts.baseDir);
  const all = vbdsOf(host);
  const k = key(d.domid, disk.devid);
  if (all.has(k) || host.xenstore.exists(`/local/domain/${d.domid}/device/vbd/${disk.devid}`)) {
    throw new BlkbackError("vdev", `${disk.vdev} (device ${disk.devid}) is already attached to ${d.name}`);
  }
  for (const other of all.values()) {
    if (other.disk.path === disk.path && (!other.readOnly || !disk.readOnly)) {
      throw new BlkbackError("target", `${disk.path} is already attached to d${other.domid} as ${other.disk.vdev}${other.readOnly ? "" : " read-write"}: one writer, or any number of readers`);
    }
  }
  const device = openImage(disk.path, disk.format === "vhd" ? "vpc" : "raw", { readOnly: disk.readOnly });
  const vbd = new Vbd(host, d, disk, device, (v) => { if (all.get(k) === v) all.delete(k); });
  all.set(k, vbd);
  try {
    vbd.start();
  } catch (e) {
    vbd.forceRemove();
    throw e;
  }
  if (opts.autoServe === false) vbd.autoServe = false;
  return vbd;
}

/** Attaches every `disk = [...]` entry of the domain's configuration (what xl create does). */
export function attachConfiguredDisks(host: XenHost, d: Domain, opts: AttachOptions = {}): Vbd[] {
  return d.config.disks.map((s) => attachDisk(host, d, s, opts));
}

/** The device a vdev name or number names on a domain. */
export function findDisk(host: XenHost, dom: Domain | number | string, vdev: string | number): Vbd {
  const d = domainOf(host, dom);
  const devid = typeof vdev === "number" ? vdev : parseVdev(vdev).devid;
  const v = vbdsOf(xenBackendHost(host)).get(key(d.domid, devid));
  if (!v) throw new BlkbackError("vdev", `Device ${vdev} not connected to ${d.name}`);
  return v;
}

export function listDisks(host: XenHost, dom?: Domain | number | string): Vbd[] {
  return backendDisks(xenBackendHost(host), dom === undefined ? undefined : domainOf(host, dom).domid);
}

/**
 * libxl_device_disk_remove: online = 0 and backend Closing; the device goes when the frontend has
 * closed. `force` (xl block-detach --force, libxl_device_disk_destroy) removes it at once.
 */
export function detachDisk(host: XenHost, dom: Domain | number | string, vdev: string | number, opts: { force?: boolean } = {}): Vbd {
  const v = findDisk(host, dom, vdev);
  if (opts.force) v.forceRemove();
  else v.requestRemoval();
  return v;
}

/** The rows of `xl block-list` (xl_block.c main_blocklist: libxl_device_disk_getinfo per disk). */
export function xlBlockList(host: XenHost, doms: (Domain | number | string)[]): string {
  let out = `${"Vdev".padEnd(5)} ${"BE".padEnd(3)} ${"handle".padEnd(6)} ${"state".padEnd(5)} ${"evt-ch".padEnd(6)} ${"ring-ref".padEnd(8)} ${"BE-path".padEnd(30)}\n`;
  const xs = host.xenstore;
  for (const dom of doms) {
    const d = domainOf(host, dom);
    let devids: string[] = [];
    try { devids = xs.directory(`/local/domain/${d.domid}/device/vbd`); } catch { devids = []; }
    for (const id of devids.map(Number).sort((a, b) => a - b)) {
      const fe = `/local/domain/${d.domid}/device/vbd/${id}`;
      const rd = (k: string, dflt: string) => { try { return xs.read(`${fe}/${k}`); } catch { return dflt; } };
      const num = (k: string) => { const s = rd(k, "-1"); return /^-?\d+$/.test(s) ? s : "-1"; };
      out += `${String(id).padEnd(5)} ${num("backend-id").padEnd(3)} ${String(d.domid).padEnd(6)} ${num("state").padEnd(5)} ${num("event-channel").padEnd(6)} ${num("ring-ref").padEnd(8)} ${rd("backend", "").padEnd(30)}\n`;
    }
  }
  return out;
}

export interface BlockXlResult { stdout: string; stderr: string; exitCode: number; vbd?: Vbd }

/**
 * `xl block-attach <Domain> <disk-spec-component(s)>...`, `xl block-list <Domain(s)>`,
 * `xl block-detach [--force] <Domain> <DevId>` — argv without the leading "xl". A detach runs the
 * host (up to libxl's 10 s device timeout in virtual time) for the frontend to close, then removes
 * the device whatever happened, as libxl does after its timeout.
 */
export function runBlockXl(host: XenHost, argv: string[], opts: AttachOptions = {}): BlockXlResult {
  const [cmd, ...args] = argv;
  try {
    switch (cmd) {
      case "block-attach": {
        if (args.length < 2) return { stdout: "", stderr: "Usage: xl [-v] block-attach <Domain> <disk-spec-component(s)>...\n", exitCode: 2 };
        const d = host.findDomain(args[0]!);
        if (!d) return { stdout: "", stderr: `${args[0]} is an invalid domain identifier\n`, exitCode: 1 };
        try {
          const vbd = attachDisk(host, d, args.slice(1).join(","), opts);
          return { stdout: "", stderr: vbd.disk.warnings.map((w) => `warning: ${w}\n`).join(""), exitCode: 0, vbd };
        } catch (e) {
          if (e instanceof BlkbackError || e instanceof XlConfigError) return { stdout: "", stderr: `libxl: error: ${e.message}\nlibxl_device_disk_add failed.\n`, exitCode: 1 };
          throw e;
        }
      }
      case "block-list": {
        if (args.length < 1) return { stdout: "", stderr: "Usage: xl [-v] block-list <Domain(s)>\n", exitCode: 2 };
        // Unknown domains are reported and skipped (xl_block.c main_blocklist).
        const known = args.filter((a) => host.findDomain(a));
        const stderr = args.filter((a) => !host.findDomain(a)).map((a) => `${a} is an invalid domain identifier\n`).join("");
        return { stdout: xlBlockList(host, known), stderr, exitCode: 0 };
      }
      case "block-detach": {
        const force = args[0] === "--force" || args[0] === "-f";
        const rest = force ? args.slice(1) : args;
        if (rest.length !== 2) return { stdout: "", stderr: "Usage: xl [-v] block-detach [--force] <Domain> <DevId>\n", exitCode: 2 };
        let vbd: Vbd;
        try { vbd = findDisk(host, rest[0]!, /^\d+$/.test(rest[1]!) ? Number(rest[1]) : rest[1]!); } catch (e) {
          if (e instanceof BlkbackError && e.field === "vdev") return { stdout: "", stderr: `Error: Device ${rest[1]} not connected.\n`, exitCode: 1 };
          throw e;
        }
        detachDisk(host, rest[0]!, vbd.devid, { force });
        if (!vbd.removed) host.run({ ns: 10e9, until: () => vbd.removed });
        if (!vbd.removed) {
          vbd.forceRemove();
          return { stdout: "", stderr: `libxl: error: timed out waiting for ${vbd.frontendPath} to close (backend state ${XenbusState.Closing}); removed\n`, exitCode: 0, vbd };
        }
        return { stdout: "", stderr: "", exitCode: 0, vbd };
      }
      default:
        return { stdout: "", stderr: `command not implemented: ${cmd}\n`, exitCode: 1 };
    }
  } catch (e) {
    if (e instanceof BlkbackError || e instanceof XlConfigError || (e as Error).name === "XenError") return { stdout: "", stderr: `${(e as Error).message}\n`, exitCode: 1 };
    if ((e as Error).name === "VhdFormatError" || (e as NodeJS.ErrnoException).code) return { stdout: "", stderr: `${(e as Error).message}\n`, exitCode: 1 };
    throw e;
  }
}
