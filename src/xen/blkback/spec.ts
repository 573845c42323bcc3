/**
 * From an xl disk spec to what the toolstack writes and the backend opens. libxl picks the backend
 * (libxl_device.c disk_try_backend): a raw image goes to "phy" (blkback, backend/vbd, params = the
 * path), any other format to "qdisk" (backend/qdisk, params = "<format>:<path>", as QEMU's xen-block
 * reads it). Here one backend serves both — the host's blkback over a BlockDevice — but the keys,
 * paths and types are libxl's, so a frontend sees what it would see on Xen.
 */
import { resolve } from "node:path";
import { existsSync } from "node:fs";
import type { DiskSpec } from "../xl-config";
import { parseDiskSpec } from "../xl-config";
import { BlkbackError } from "./errors";
import { parseVdev, DevId } from "./devid";
import { probeFormat } from "../../vhd/image";

export type BackendKind = "vbd" | "qdisk";

export interface ResolvedDisk {
  spec: DiskSpec;
  devid: DevId;
  vdev: string;
  kind: BackendKind;
  /** Backend `type` key: "phy" for blkback, "qdisk" for QEMU's backend. */
  type: "phy" | "qdisk";
  /** Absolute path of the image. */
  path: string;
  /** Image format we open: raw or vpc (VHD). */
  format: "raw" | "vhd";
  params: string;
  readOnly: boolean;
  cdrom: boolean;
  /** Things xl would accept but the user probably did not mean (e.g. a VHD served raw). */
  warnings: string[];
}

/** libxl__device_disk_string_of_format: the qdisk params prefix. */
const FORMAT_PREFIX: Record<string, string> = { raw: "aio", vhd: "vhd", qcow: "qcow", qcow2: "qcow2", qed: "qed" };

export function resolveDisk(specOrText: DiskSpec | string, baseDir = process.cwd()): ResolvedDisk {
  const spec = typeof specOrText === "string" ? parseDiskSpec(specOrText) : specOrText;
  const { devid } = parseVdev(spec.vdev);
  if (!spec.target) throw new BlkbackError("target", `disk ${spec.vdev} has no target (an empty cdrom drive is not supported)`);
  if (spec.format !== "raw" && spec.format !== "vhd") {
    throw new BlkbackError("format", `${spec.format} images are not served by this host (raw and vhd are); convert with: qemu-img convert -O vpc ${spec.target} disk.vhd`);
  }
  const bt = spec.backendtype;
  let kind: BackendKind = spec.format === "raw" ? "vbd" : "qdisk";
  if (bt === "phy") {
    if (spec.format !== "raw") throw new BlkbackError("backendtype", `phy serves raw devices only, not format=${spec.format} (libxl would pick qdisk)`);
    kind = "vbd";
  } else if (bt === "qdisk") kind = "qdisk";
  else if (bt !== undefined) throw new BlkbackError("backendtype", `${bt} is not available on this host (phy or qdisk)`);
  const path = resolve(baseDir, spec.target);
  if (!existsSync(path)) throw new BlkbackError("target", `${path}: no such file`);
  const warnings: string[] = [];
  // xl does not probe: a legacy 'file:x.vhd' is format=raw, and the guest sees the VHD's bytes.
  if (spec.format === "raw" && probeFormat(path) === "vpc") {
    warnings.push(`${spec.target} is a VHD but the spec says format=raw (the default, and what 'file:'/'phy:'/'aio:' mean): the guest sees the file's bytes, footer included; write 'vhd:${spec.target}' or format=vhd to serve the virtual disk`);
  }
  return {
    warnings, spec, devid, vdev: spec.vdev, kind, type: kind === "vbd" ? "phy" : "qdisk", path, format: spec.format,
    params: kind === "vbd" ? path : `${FORMAT_PREFIX[spec.format]}:${path}`,
    readOnly: spec.access === "ro" || spec.devtype === "cdrom", cdrom: spec.devtype === "cdrom",
  };
}
