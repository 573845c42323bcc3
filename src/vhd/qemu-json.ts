/**
 * `--output=json` in qemu-img's shapes, so scripts written against `qemu-img info|check|map
 * --output=json` read ours unchanged. Field names and meanings follow qemu's QAPI schema
 * (qapi/block-core.json: ImageInfo, ImageCheck, MapEntry); values are what qemu's vpc driver
 * (block/vpc.c) reports for the same file. `--json` stays our full, richer report.
 */
import { statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { CheckReport } from "./check";
import { Extent } from "./map";
import { qemuVirtualSize } from "./info";
import { SizeCalc, diskSize } from "./footer";
import { VhdDisk } from "./vhd-disk";

/** qapi ImageInfo as `qemu-img info --output=json -f vpc` prints it. */
export interface QemuImageInfo {
  "virtual-size": number;
  filename: string;
  /** vpc_get_info: the block size, dynamic and differencing disks only. */
  "cluster-size"?: number;
  format: "vpc";
  /** Bytes the file occupies on disk (st_blocks * 512), as qemu's bdrv_get_allocated_file_size. */
  "actual-size": number;
  "dirty-flag": false;
  /** A differencing disk's parent: qemu cannot open these (vpc.c refuses differencing), we can. */
  "backing-filename"?: string;
  "full-backing-filename"?: string;
  "backing-filename-format"?: "vpc";
}

/** `calc` is qemu's force_size_calc: without it, qemu's choice by creator. */
export function qemuImageInfo(d: VhdDisk, shownName: string, calc?: SizeCalc): QemuImageInfo {
  const out: QemuImageInfo = {
    "virtual-size": calc ? diskSize(d.footer, calc) : qemuVirtualSize(d),
    filename: shownName,
    ...(d.header ? { "cluster-size": d.header.blockSize } : {}),
    format: "vpc",
    "actual-size": statSync(d.path).blocks * 512,
    "dirty-flag": false,
  };
  if (d.parent && d.header) {
    out["backing-filename"] = d.header.parentUnicodeName || basename(d.parent.path);
    out["full-backing-filename"] = resolve(d.parent.path);
    out["backing-filename-format"] = "vpc";
  }
  return out;
}

/** `info --backing-chain --output=json`: the image, then each parent, as qemu prints a chain. */
export function qemuImageInfoChain(d: VhdDisk, shownName: string, calc?: SizeCalc): QemuImageInfo[] {
  return d.chain().map((x, i) => qemuImageInfo(x, i === 0 ? shownName : resolve(x.path), calc));
}

/**
 * qapi ImageCheck. qemu-img's vpc driver has no check (it prints "This image format does not
 * support checks"), so the counts here are ours in qemu's units: corruptions and leaks are the
 * number of findings of each kind, clusters are VHD blocks.
 */
export interface QemuImageCheck {
  "image-end-offset"?: number;
  "total-clusters"?: number;
  "allocated-clusters"?: number;
  "check-errors": number;
  filename: string;
  format: "vpc";
  corruptions?: number;
  leaks?: number;
  "corruptions-fixed"?: number;
  "leaks-fixed"?: number;
}

export function qemuImageCheck(r: CheckReport, shownName: string, before?: CheckReport): QemuImageCheck {
  const count = (x: CheckReport, s: string) => x.findings.filter((f) => f.severity === s).length;
  const out: QemuImageCheck = { "check-errors": r.unopenable ? 1 : 0, filename: shownName, format: "vpc" };
  if (r.unopenable) return out;
  let end = 0;
  try {
    end = statSync(r.file).size;
  } catch {
    // the file went away between check and report: leave the offset out, as qemu does when unknown
  }
  if (end) out["image-end-offset"] = end;
  if (r.totalBlocks) {
    out["total-clusters"] = r.totalBlocks;
    out["allocated-clusters"] = r.allocatedBlocks;
  }
  const corruptions = count(r, "error");
  const leaks = count(r, "leak");
  if (corruptions) out.corruptions = corruptions;
  if (leaks) out.leaks = leaks;
  if (before) {
    // qemu reports what it fixed beside what remains (qemu-img.c collect_image_check).
    const fixedC = count(before, "error") - corruptions;
    const fixedL = count(before, "leak") - leaks;
    if (fixedC > 0) out["corruptions-fixed"] = fixedC;
    if (fixedL > 0) out["leaks-fixed"] = fixedL;
  }
  return out;
}

/** qapi MapEntry as `qemu-img map --output=json -f vpc` prints it. */
export interface QemuMapEntry {
  start: number;
  length: number;
  depth: number;
  present: boolean;
  zero: boolean;
  data: boolean;
  offset?: number;
  filename?: string;
}

/**
 * Unallocated space reads as zeros from the bottom of the chain: qemu reports it present and zero
 * at the depth of the last image it looked in. Allocated extents carry their file offset; the file
 * name is given only inside a chain (qemu's map names no file for a single image).
 */
export function qemuMap(extents: Extent[], chainLength: number): QemuMapEntry[] {
  return extents.map((e) =>
    e.file === undefined
      ? { start: e.start, length: e.length, depth: chainLength - 1, present: true, zero: true, data: false }
      : {
          start: e.start,
          length: e.length,
          depth: e.depth,
          present: true,
          zero: false,
          data: true,
          offset: e.fileOffset!,
          ...(chainLength > 1 ? { filename: e.file } : {}),
        },
  );
}

/** The line-per-entry layout qemu-img map --output=json prints (qemu-img.c dump_map_entry). */
export function qemuMapText(entries: QemuMapEntry[]): string {
  const line = (m: QemuMapEntry) =>
    `{ "start": ${m.start}, "length": ${m.length}, "depth": ${m.depth}, "present": ${m.present}, "zero": ${m.zero}, "data": ${m.data}` +
    (m.offset !== undefined ? `, "offset": ${m.offset}` : "") +
    (m.filename !== undefined ? `, "filename": ${JSON.stringify(m.filename)}` : "") +
    "}";
  return `[${entries.map(line).join(",\n")}]`;
}
