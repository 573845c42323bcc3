import { DEFAULT_BLOCK_SIZE, FOOTER_SIZE, HEADER_SIZE, SECTOR } from "./constants";
import { FileHost } from "./block-file";
import { chooseSize, checkBlockSize } from "./create";
import { bitmapBytes } from "./dynamic-header";
import { SizeCalc } from "./footer";
import { ImageFormat, openImage } from "./image";
import { allZero, batBytes, roundUp } from "./layout";
import { rangeAllocated } from "./map";
import { VhdDisk } from "./vhd-disk";

/** qemu-img measure's answer (qapi BlockMeasureInfo): bytes a new image needs. */
export interface Measurement {
  /** The file size of the image convert writes from this input (create writes for --size). */
  required: number;
  /** The file size once every block of that image is allocated. */
  fullyAllocated: number;
}

export interface MeasureTarget {
  to: "raw" | "fixed" | "dynamic";
  blockSize?: number;
  /** How a size that is not a VHD's own is fitted, as create/convert would: CHS product or exact. */
  sizePolicy: "chs" | "exact";
}

/**
 * The layout createVhd writes for a dynamic disk (create.ts writeDynamic): footer copy @0, header
 * @512, BAT @1536 padded to a sector, then each allocated block as bitmap + data, then the footer.
 */
function dynamicFileBytes(size: number, blockSize: number, blocks: number): number {
  const entries = Math.ceil(size / blockSize);
  return FOOTER_SIZE + HEADER_SIZE + batBytes(entries) + blocks * (bitmapBytes(blockSize) + blockSize) + FOOTER_SIZE;
}

function vhdMeasurement(size: number, t: MeasureTarget, blocksWithData: number): Measurement {
  if (t.to === "fixed") return { required: size + FOOTER_SIZE, fullyAllocated: size + FOOTER_SIZE };
  const bs = t.blockSize ?? DEFAULT_BLOCK_SIZE;
  return { required: dynamicFileBytes(size, bs, blocksWithData), fullyAllocated: dynamicFileBytes(size, bs, Math.ceil(size / bs)) };
}

/** `measure --size SIZE`: a new, empty image as `create` makes it (raw: qemu's raw_measure, size rounded up to a sector). */
export function measureNew(size: number, t: MeasureTarget): Measurement {
  if (t.to === "raw") {
    const bytes = roundUp(size, SECTOR);
    return { required: bytes, fullyAllocated: bytes };
  }
  if (t.blockSize !== undefined) checkBlockSize(t.blockSize);
  return vhdMeasurement(chooseSize(size, t.sizePolicy).size, t, 0);
}

export interface MeasureImageOptions {
  from?: ImageFormat | "auto";
  sizeCalc?: SizeCalc;
  host?: FileHost;
  onProgress?: (done: number, total: number) => void;
}

/**
 * `measure FILE`: the image convert would write from FILE. Raw output is the virtual size (qemu's
 * raw_measure: bdrv_getlength of the input). A dynamic VHD holds one block per output block that
 * convert would not skip: some file of the chain stores part of it and it is not all zeros (the
 * rule of convert.ts and convert-async.ts), so this reads every stored block once.
 */
export function measureImage(path: string, t: MeasureTarget, o: MeasureImageOptions = {}): Measurement {
  const src = openImage(path, o.from ?? "auto", { readOnly: true, host: o.host, sizeMode: o.sizeCalc });
  try {
    if (t.to === "raw") return { required: src.size, fullyAllocated: src.size };
    const vhd = src instanceof VhdDisk ? src : undefined;
    // convert keeps a VHD's size and geometry; a raw input's size is fitted as convert fits it
    const size = vhd ? vhd.size : chooseSize(src.size, t.sizePolicy).size;
    const target = { ...t, blockSize: t.blockSize ?? (vhd?.blockSize || DEFAULT_BLOCK_SIZE) };
    checkBlockSize(target.blockSize);
    if (t.to === "fixed") return vhdMeasurement(size, target, 0);
    const bs = target.blockSize;
    const buf = Buffer.allocUnsafe(bs);
    let blocks = 0;
    for (let start = 0; start < src.size; start += bs) {
      const n = Math.min(bs, src.size - start);
      if (!vhd || rangeAllocated(vhd, start, start + n)) {
        const chunk = buf.subarray(0, n);
        src.read(start, chunk);
        if (!allZero(chunk)) blocks++;
      }
      o.onProgress?.(start + n, src.size);
    }
    return vhdMeasurement(size, target, blocks);
  } finally {
    src.close();
  }
}
