import { open } from "node:fs/promises";
import { nodeFileHost } from "./block-file";
import { cacheFileHost } from "./cache-mode";
import { DEFAULT_BLOCK_SIZE, DiskType, FOOTER_SIZE, SECTOR } from "./constants";
import { ConvertOptions, ConvertResult, convertImage } from "./convert";
import { chooseSize, createVhd } from "./create";
import { openImage } from "./image";
import { guardExisting, lockImages, roleFor } from "./image-lock";
import { allZero } from "./layout";
import { RawImage } from "./raw-image";
import { VhdDisk } from "./vhd-disk";

/** Reads and writes kept in flight at once: enough to overlap reading, scanning and writing on 2 cores. */
const DEPTH = 4;

/**
 * convertImage with reads and writes overlapped (libuv's thread pool), for the common cases whose
 * source bytes sit at known file offsets: a raw file, a fixed VHD, or a dynamic VHD without parent,
 * converted to raw or dynamic. Other cases (differencing chains, fixed output, memory files) go to
 * the synchronous convertImage. Same output, byte for byte.
 */
export async function convertImageAsync(input: string, output: string, o: ConvertOptions): Promise<ConvertResult> {
  // The overlapped path reads and writes through the page cache: writeback (one fdatasync at the
  // end) and unsafe (none). O_DIRECT and per-write flushes go through the cache-mode host.
  const cache = o.cache ?? "writeback";
  const pageCache = (cache === "writeback" || cache === "unsafe") && (o.srcCache ?? "writeback") !== "none" && o.srcCache !== "directsync";
  if ((o.host && o.host !== nodeFileHost) || o.to === "fixed" || !pageCache) return convertImage(input, output, o);
  // an output in use is refused before anything truncates it (released once our own fd holds the locks)
  const release = o.lock ? guardExisting(output, o.lock) : () => {};
  try {
    return await convertOverlapped(input, output, o, release);
  } finally {
    release();
  }
}

async function convertOverlapped(input: string, output: string, o: ConvertOptions, release: () => void): Promise<ConvertResult> {
  const src = openImage(input, o.from ?? "auto", { readOnly: true, noParent: true, sizeMode: o.sizeCalc });
  let locate: (start: number) => number | undefined;
  let unit: number;
  const size = src.size;
  if (src instanceof RawImage || (src instanceof VhdDisk && src.type === DiskType.Fixed)) {
    unit = o.to === "dynamic" ? (o.blockSize ?? (src instanceof VhdDisk && src.blockSize ? src.blockSize : DEFAULT_BLOCK_SIZE)) : DEFAULT_BLOCK_SIZE;
    locate = (start) => start;
  } else if (src instanceof VhdDisk && src.type === DiskType.Dynamic && (o.to === "raw" || (o.blockSize ?? src.blockSize) === src.blockSize)) {
    const d = src;
    unit = d.blockSize;
    locate = (start) => d.blockDataOffset(Math.floor(start / unit));
  } else {
    src.close();
    release(); // convertImage guards the output itself
    return convertImage(input, output, o);
  }
  const geometry = src instanceof VhdDisk ? src.footer.geometry : undefined;
  const hostOs = src instanceof VhdDisk ? src.footer.creatorHostOs : undefined;
  src.close();

  // Output layout.
  let bitmap = 0;
  let pos = 0;
  let tableOffset = 0;
  let entries = 0;
  let footer: Buffer | undefined;
  if (o.to === "dynamic") {
    const choice = geometry ? { size, geometry } : chooseSize(size, o.sizePolicy ?? "exact");
    // the layout needs no flush of its own: the one datasync at the end covers it (the output is
    // not a disk until convert returns, as with qemu-img convert)
    const layout = createVhd(output, { size: choice.size, geometry: choice.geometry, creatorHostOs: hostOs, type: "dynamic", blockSize: unit, host: cacheFileHost("unsafe") });
    bitmap = layout.bitmapSize;
    pos = layout.footerPosition;
    tableOffset = layout.header!.tableOffset;
    entries = layout.header!.maxTableEntries;
    footer = Buffer.alloc(FOOTER_SIZE);
    layout.file.read(pos, footer);
    layout.close();
  }
  const inFh = await open(input, "r");
  const outFh = await open(output, o.to === "dynamic" ? "r+" : "w+"); // readable too: a read lock needs it (F_RDLCK)
  try {
    if (o.lock) {
      release();
      const why = lockImages([
        { fd: inFh.fd, path: input, role: roleFor(false, o.lock) },
        { fd: outFh.fd, path: output, role: "write" },
      ]);
      if (why) o.lock.onUnavailable?.(why);
    }
    if (o.to === "raw") await outFh.truncate(size);
    const bat = Buffer.alloc(entries * 4, 0xff);
    const count = Math.ceil(size / unit);
    const buffers = Array.from({ length: DEPTH }, () => {
      const b = Buffer.allocUnsafe(bitmap + unit);
      b.fill(0xff, 0, bitmap); // every sector defined, as vhd-disk.ts allocates
      return b;
    });
    const reads: Array<Promise<boolean> | undefined> = new Array(count);
    const writes: Array<Promise<unknown> | undefined> = new Array(DEPTH);
    let written = 0;
    let skipped = 0;
    const startRead = (k: number): Promise<boolean> => {
      const start = k * unit;
      const n = Math.min(unit, size - start);
      const at = locate(start);
      if (at === undefined) return Promise.resolve(false);
      const data = buffers[k % DEPTH]!.subarray(bitmap, bitmap + unit);
      return (async () => {
        let done = 0;
        while (done < n) {
          const { bytesRead } = await inFh.read(data, done, n - done, at + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        data.fill(0, done);
        return !allZero(data.subarray(0, n));
      })();
    };
    for (let k = 0; k < count; k++) {
      // keep DEPTH reads ahead; a buffer is reused only after its previous write finished
      for (let j = k; j < Math.min(count, k + DEPTH); j++) {
        if (!reads[j]) {
          await writes[j % DEPTH];
          reads[j] = startRead(j);
        }
      }
      const hasData = await reads[k]!;
      reads[k] = undefined;
      const start = k * unit;
      const n = Math.min(unit, size - start);
      if (!hasData) {
        skipped++;
      } else if (o.to === "dynamic") {
        const buf = buffers[k % DEPTH]!;
        writes[k % DEPTH] = writeFully(outFh, buf, pos);
        bat.writeUInt32BE(pos / SECTOR, k * 4);
        pos += buf.length;
        written += n;
      } else {
        writes[k % DEPTH] = writeFully(outFh, buffers[k % DEPTH]!.subarray(bitmap, bitmap + n), start);
        written += n;
      }
      o.onProgress?.(Math.min(start + unit, size), size);
    }
    await Promise.all(writes);
    if (o.to === "dynamic") {
      await writeFully(outFh, bat, tableOffset);
      await writeFully(outFh, footer!, pos);
      await outFh.truncate(pos + FOOTER_SIZE);
    }
    if ((o.cache ?? "writeback") !== "unsafe") await outFh.datasync();
    return { size, bytesWritten: written, chunksSkipped: skipped };
  } finally {
    await inFh.close();
    await outFh.close();
  }
}

async function writeFully(fh: import("node:fs/promises").FileHandle, data: Uint8Array, pos: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, pos + done);
    done += bytesWritten;
  }
}

