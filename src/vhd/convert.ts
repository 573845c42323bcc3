import { closeSync, fdatasyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { BlockDevice } from "./block-device";
import { FileHost, nodeFileHost } from "./block-file";
import { DEFAULT_BLOCK_SIZE } from "./constants";
import { chooseSize, createVhd } from "./create";
import { VhdUsageError } from "./errors";
import { ImageFormat, openImage } from "./image";
import { allZero } from "./layout";
import { rangeAllocated } from "./map";
import { VhdDisk } from "./vhd-disk";

export interface ConvertOptions {
  /** Output format: raw, a fixed VHD or a dynamic VHD. */
  to: "raw" | "fixed" | "dynamic";
  from?: ImageFormat | "auto";
  blockSize?: number;
  /** For raw input: keep the exact size ("exact", qemu force_size=on) or round up to CHS ("chs"). */
  sizePolicy?: "chs" | "exact";
  host?: FileHost;
  onProgress?: (done: number, total: number) => void;
}

export interface ConvertResult {
  size: number;
  bytesWritten: number;
  chunksSkipped: number;
}

/**
 * raw <-> VHD, fixed <-> dynamic, and a differencing chain flattened into one image. Works in
 * 2 MiB units (the default block size), skips ranges no file of the chain stores, and never writes
 * an all-zero unit to a sparse output (as qemu-img convert does).
 */
export function convertImage(input: string, output: string, o: ConvertOptions): ConvertResult {
  const host = o.host ?? nodeFileHost;
  const src = openImage(input, o.from ?? "auto", { readOnly: true, host });
  try {
    const size = src.size;
    let dest: BlockDevice;
    if (o.to === "raw") {
      dest = new RawOut(output, size);
    } else {
      const keep = src instanceof VhdDisk ? { geometry: src.footer.geometry, creatorHostOs: src.footer.creatorHostOs } : {};
      const choice = src instanceof VhdDisk ? { size: src.size, geometry: src.footer.geometry } : chooseSize(size, o.sizePolicy ?? "exact");
      dest = createVhd(output, { ...keep, size: choice.size, geometry: choice.geometry, type: o.to, blockSize: o.blockSize ?? (src instanceof VhdDisk && src.blockSize ? src.blockSize : DEFAULT_BLOCK_SIZE), host });
    }
    try {
      const unit = o.to === "dynamic" && dest instanceof VhdDisk ? dest.blockSize : DEFAULT_BLOCK_SIZE;
      const buf = Buffer.allocUnsafe(unit);
      let written = 0;
      let skipped = 0;
      for (let pos = 0; pos < size; pos += unit) {
        const n = Math.min(unit, size - pos);
        if (src instanceof VhdDisk && !rangeAllocated(src, pos, pos + n)) {
          skipped++;
        } else {
          const chunk = buf.subarray(0, n);
          src.read(pos, chunk);
          if (allZero(chunk)) skipped++;
          else {
            dest.write(pos, chunk);
            written += n;
          }
        }
        o.onProgress?.(Math.min(pos + unit, size), size);
      }
      dest.flush();
      return { size, bytesWritten: written, chunksSkipped: skipped };
    } finally {
      dest.close();
    }
  } finally {
    src.close();
  }
}

/** A sparse raw output file of a given size. */
class RawOut implements BlockDevice {
  readonly readOnly = false;
  private fd: number;
  constructor(
    readonly path: string,
    readonly size: number,
  ) {
    if (!Number.isSafeInteger(size)) throw new VhdUsageError(`bad size ${size}`);
    this.fd = openSync(path, "w+");
    ftruncateSync(this.fd, size);
  }
  read(): void {
    throw new VhdUsageError("output only");
  }
  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, offset + done);
  }
  flush(): void {
    fdatasyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}
