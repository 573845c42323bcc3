import { renameSync, unlinkSync, existsSync } from "node:fs";
import { FileHost, nodeFileHost } from "./block-file";
import { DiskType } from "./constants";
import { createDifferencing, createVhd } from "./create";
import { VhdUsageError } from "./errors";
import { vhdTimeToDate } from "./footer";
import { Chs } from "./geometry";
import { forEachOwnRun } from "./own-data";
import { VhdDisk } from "./vhd-disk";

export interface RewriteResult {
  bytesBefore: number;
  bytesAfter: number;
  blocksBefore: number;
  blocksAfter: number;
}

/**
 * Rewrites a dynamic or differencing disk into a fresh file beside it and renames it over the
 * original (atomic on POSIX: a crash leaves either the old file or the new one). The new file
 * keeps the disk's identity (unique id, time stamp, creator, geometry), so children still find it.
 * Used by compact (drops all-zero dynamic blocks and leaked space) and by resize when the BAT
 * must grow beyond its padding.
 */
export function rewriteVhd(path: string, o: { size?: number; geometry?: Chs; host?: FileHost } = {}): RewriteResult {
  const host = o.host ?? nodeFileHost;
  const src = VhdDisk.open(path, { readOnly: true, host });
  const tmp = `${path}.xenlab-tmp`;
  try {
    if (src.type === DiskType.Fixed) throw new VhdUsageError(`${path} is a fixed disk: nothing to compact (convert -O dynamic makes it sparse)`);
    const f = src.footer;
    const size = o.size ?? f.currentSize;
    const identity = {
      uniqueId: f.uniqueId,
      time: vhdTimeToDate(f.timestamp),
      creatorApplication: f.creatorApplication,
      creatorVersion: f.creatorVersion,
      creatorHostOs: f.creatorHostOs,
      geometry: o.geometry ?? f.geometry,
      originalSize: o.size === undefined ? f.originalSize : o.size,
      host,
    };
    const dest =
      src.type === DiskType.Dynamic
        ? createVhd(tmp, { ...identity, size, type: "dynamic", blockSize: src.blockSize })
        : createDifferencing(tmp, src.parentFoundBy!.path, { ...identity, size, blockSize: src.blockSize, locatorsFor: path });
    try {
      forEachOwnRun(src, (off, data) => {
        if (off >= size) return;
        dest.write(off, data.subarray(0, Math.min(data.length, size - off)));
      });
      dest.flush();
      const result: RewriteResult = {
        bytesBefore: src.file.size(),
        bytesAfter: dest.file.size(),
        blocksBefore: src.allocatedBlocks,
        blocksAfter: dest.allocatedBlocks,
      };
      dest.close();
      src.close();
      renameSync(tmp, path);
      return result;
    } finally {
      dest.close();
    }
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw e;
  } finally {
    src.close();
  }
}

/** Compacts a dynamic or differencing disk: unreferenced space and all-zero dynamic blocks go. */
export function compactVhd(path: string, host?: FileHost): RewriteResult {
  return rewriteVhd(path, { host });
}
