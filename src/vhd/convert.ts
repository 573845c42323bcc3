import { closeSync, fdatasyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { BlockDevice } from "./block-device";
import { FileHost, nodeFileHost, readAt } from "./block-file";
import { DEFAULT_BLOCK_SIZE, FOOTER_SIZE, SECTOR } from "./constants";
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
  /** fdatasync the output before returning (default true). qemu-img convert does not for raw output. */
  durable?: boolean;
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
    if (o.to === "dynamic" && host === nodeFileHost) {
      return streamDynamic(src, output, o);
    }
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
      if (o.durable ?? true) dest.flush();
      return { size, bytesWritten: written, chunksSkipped: skipped };
    } finally {
      dest.close();
    }
  } finally {
    src.close();
  }
}

/**
 * raw/VHD -> a new dynamic VHD, written in file order: the metadata from createVhd, then each
 * non-zero block as one write of bitmap + data, then the BAT, then the footer, then one
 * fdatasync. One syscall per 2 MiB instead of the three of a crash-safe allocation: the output
 * is a new file that is complete only when convert returns, as with qemu-img convert.
 */
function streamDynamic(src: BlockDevice, output: string, o: ConvertOptions): ConvertResult {
  const size = src.size;
  const keep = src instanceof VhdDisk ? { geometry: src.footer.geometry, creatorHostOs: src.footer.creatorHostOs } : {};
  const choice = src instanceof VhdDisk ? { size: src.size, geometry: src.footer.geometry } : chooseSize(size, o.sizePolicy ?? "exact");
  const blockSize = o.blockSize ?? (src instanceof VhdDisk && src.blockSize ? src.blockSize : DEFAULT_BLOCK_SIZE);
  const layout = createVhd(output, { ...keep, size: choice.size, geometry: choice.geometry, type: "dynamic", blockSize });
  const h = layout.header!;
  const bitmap = layout.bitmapSize;
  let pos = layout.footerPosition;
  const footer = readAt(layout.file, pos, FOOTER_SIZE);
  layout.close();
  const fd = openSync(output, "r+");
  try {
    const bat = Buffer.alloc(h.maxTableEntries * 4, 0xff);
    const buf = Buffer.allocUnsafe(bitmap + blockSize);
    buf.fill(0xff, 0, bitmap); // every sector defined, as for allocations (vhd-disk.ts)
    const data = buf.subarray(bitmap);
    let written = 0;
    let skipped = 0;
    for (let b = 0; b * blockSize < size; b++) {
      const start = b * blockSize;
      const n = Math.min(blockSize, size - start);
      if (src instanceof VhdDisk && !rangeAllocated(src, start, start + n)) {
        skipped++;
      } else {
        src.read(start, data.subarray(0, n));
        if (n < blockSize) data.fill(0, n);
        if (allZero(data.subarray(0, n))) skipped++;
        else {
          writeAll(fd, buf, pos);
          bat.writeUInt32BE(pos / SECTOR, b * 4);
          pos += buf.length;
          written += n;
        }
      }
      o.onProgress?.(Math.min(start + blockSize, size), size);
    }
    writeAll(fd, bat, h.tableOffset);
    writeAll(fd, footer, pos);
    ftruncateSync(fd, pos + FOOTER_SIZE);
    if (o.durable ?? true) fdatasyncSync(fd);
    return { size, bytesWritten: written, chunksSkipped: skipped };
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, data: Uint8Array, pos: number): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, pos + done);
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
