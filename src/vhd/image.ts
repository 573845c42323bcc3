import { BlockDevice } from "./block-device";
import { FileHost, nodeFileHost, readAt } from "./block-file";
import { FOOTER_COOKIE, SECTOR } from "./constants";
import { RawImage } from "./raw-image";
import { VhdDisk, VhdOpenOptions } from "./vhd-disk";

export type ImageFormat = "raw" | "vpc";

/** Probes a file: "vpc" if a VHD footer cookie is at the end (or its copy at 0), else "raw". */
export function probeFormat(path: string, host: FileHost = nodeFileHost): ImageFormat {
  const f = host.open(path, false);
  try {
    const size = f.size();
    if (size < SECTOR - 1) return "raw";
    const end = size % SECTOR === SECTOR - 1 ? size - (SECTOR - 1) : size - SECTOR;
    if (readAt(f, end, 8).toString("latin1") === FOOTER_COOKIE) return "vpc";
    if (readAt(f, 0, 8).toString("latin1") === FOOTER_COOKIE) return "vpc";
    return "raw";
  } finally {
    f.close();
  }
}

/** Opens a raw image or a VHD (chain) as a BlockDevice. */
export function openImage(path: string, format: ImageFormat | "auto" = "auto", options: VhdOpenOptions = {}): BlockDevice {
  const fmt = format === "auto" ? probeFormat(path, options.host) : format;
  return fmt === "vpc" ? VhdDisk.open(path, options) : RawImage.open(path, { readOnly: options.readOnly, host: options.host });
}
