import { BlockDevice } from "./block-device";
import { BlockFile, FileHost, readAt } from "./block-file";
import { CacheMode, cacheFileHost } from "./cache-mode";
import { DEFAULT_BLOCK_SIZE, FOOTER_SIZE, SECTOR } from "./constants";
import { chooseSize, createVhd } from "./create";
import { VhdUsageError } from "./errors";
import { ImageFormat, openImage } from "./image";
import { allZero } from "./layout";
import { rangeAllocated } from "./map";
import { VhdDisk } from "./vhd-disk";
import { SizeCalc } from "./footer";
import { LockingOptions, lockingHost } from "./image-lock";

export interface ConvertOptions {
  /** Output format: raw, a fixed VHD or a dynamic VHD. */
  to: "raw" | "fixed" | "dynamic";
  from?: ImageFormat | "auto";
  blockSize?: number;
  /** For raw input: keep the exact size ("exact", qemu force_size=on) or round up to CHS ("chs"). */
  sizePolicy?: "chs" | "exact";
  /** For VHD input: which size to read (footer.ts SizeCalc; default the current size). */
  sizeCalc?: SizeCalc;
  host?: FileHost;
  onProgress?: (done: number, total: number) => void;
  /**
   * qemu-img's -t for the output (cache-mode.ts). Default writeback: one fdatasync before
   * returning, so a finished convert is durable (qemu-img convert's own default is unsafe).
   */
  cache?: CacheMode;
  /** qemu-img's -T for the input: none/directsync read it with O_DIRECT. */
  srcCache?: CacheMode;
  /** Take qemu's image locks on the input (reader, or -U) and the output (writer): image-lock.ts. */
  lock?: LockingOptions;
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
  const plain = o.host ?? cacheFileHost(o.cache ?? "writeback", o.srcCache ?? "writeback");
  const host = o.lock ? lockingHost(plain, o.lock) : plain;
  const src = openImage(input, o.from ?? "auto", { readOnly: true, host, sizeMode: o.sizeCalc });
  try {
    const size = src.size;
    let dest: BlockDevice;
    if (o.to === "dynamic") return streamDynamic(src, output, o, host);
    if (o.to === "raw") {
      dest = new RawOut(output, size, host);
    } else {
      const keep = src instanceof VhdDisk ? { geometry: src.footer.geometry, creatorHostOs: src.footer.creatorHostOs } : {};
      const choice = src instanceof VhdDisk ? { size: src.size, geometry: src.footer.geometry } : chooseSize(size, o.sizePolicy ?? "exact");
      dest = createVhd(output, { ...keep, size: choice.size, geometry: choice.geometry, type: o.to, blockSize: o.blockSize ?? (src instanceof VhdDisk && src.blockSize ? src.blockSize : DEFAULT_BLOCK_SIZE), host });
    }
    try {
      const unit = DEFAULT_BLOCK_SIZE;
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
      dest.flush(); // the cache mode decides what a flush does (unsafe: nothing)
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
function streamDynamic(src: BlockDevice, output: string, o: ConvertOptions, host: FileHost): ConvertResult {
  const size = src.size;
  const keep = src instanceof VhdDisk ? { geometry: src.footer.geometry, creatorHostOs: src.footer.creatorHostOs } : {};
  const choice = src instanceof VhdDisk ? { size: src.size, geometry: src.footer.geometry } : chooseSize(size, o.sizePolicy ?? "exact");
  const blockSize = o.blockSize ?? (src instanceof VhdDisk && src.blockSize ? src.blockSize : DEFAULT_BLOCK_SIZE);
  // the layout is not flushed on its own: the output is not a disk until the one flush at the end
  const unlocked = o.host ?? cacheFileHost(o.cache ?? "writeback", o.srcCache ?? "writeback", false);
  const layoutHost = o.lock ? lockingHost(unlocked, o.lock) : unlocked;
  const layout = createVhd(output, { ...keep, size: choice.size, geometry: choice.geometry, type: "dynamic", blockSize, host: layoutHost });
  const h = layout.header!;
  const bitmap = layout.bitmapSize;
  let pos = layout.footerPosition;
  const footer = readAt(layout.file, pos, FOOTER_SIZE);
  layout.close();
  const out = host.open(output, true);
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
          out.write(pos, buf);
          bat.writeUInt32BE(pos / SECTOR, b * 4);
          pos += buf.length;
          written += n;
        }
      }
      o.onProgress?.(Math.min(start + blockSize, size), size);
    }
    out.write(h.tableOffset, bat);
    out.write(pos, footer);
    out.truncate(pos + FOOTER_SIZE);
    out.sync();
    return { size, bytesWritten: written, chunksSkipped: skipped };
  } finally {
    out.close();
  }
}

/** A sparse raw output file of a given size. */
class RawOut implements BlockDevice {
  readonly readOnly = false;
  private readonly file: BlockFile;
  constructor(
    readonly path: string,
    readonly size: number,
    host: FileHost,
  ) {
    if (!Number.isSafeInteger(size)) throw new VhdUsageError(`bad size ${size}`);
    this.file = host.create(path);
    this.file.truncate(size);
  }
  read(): void {
    throw new VhdUsageError("output only");
  }
  write(offset: number, data: Uint8Array): void {
    this.file.write(offset, data);
  }
  flush(): void {
    this.file.sync();
  }
  close(): void {
    this.file.close();
  }
}
