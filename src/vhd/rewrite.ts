import { FileHost, nodeFileHost } from "./block-file";
import { DiskType } from "./constants";
import { createDifferencing, createVhd } from "./create";
import { VhdUsageError } from "./errors";
import { vhdTimeToDate } from "./footer";
import { Chs } from "./geometry";
import { forEachOwnRun } from "./own-data";
import { Progress } from "./progress";
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
export function rewriteVhd(path: string, o: { size?: number; geometry?: Chs; host?: FileHost; newParent?: string; onProgress?: Progress } = {}): RewriteResult {
  const host = o.host ?? nodeFileHost;
  // with a new parent the old one need not exist any more (it may have been coalesced and deleted)
  const src = VhdDisk.open(path, { readOnly: true, host, noParent: o.newParent !== undefined });
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
        : createDifferencing(tmp, o.newParent ?? src.parentFoundBy!.path, { ...identity, size, blockSize: src.blockSize, locatorsFor: path });
    try {
      forEachOwnRun(src, (off, data) => {
        if (off >= size) return;
        dest.write(off, data.subarray(0, Math.min(data.length, size - off)));
      }, o.onProgress);
      dest.flush();
      const result: RewriteResult = {
        bytesBefore: src.file.size(),
        bytesAfter: dest.file.size(),
        blocksBefore: src.allocatedBlocks,
        blocksAfter: dest.allocatedBlocks,
      };
      dest.close();
      src.close();
      host.rename(tmp, path);
      return result;
    } finally {
      dest.close();
    }
  } catch (e) {
    if (host.exists(tmp)) host.remove(tmp);
    throw e;
  } finally {
    src.close();
  }
}

/** Compacts a dynamic or differencing disk: unreferenced space and all-zero dynamic blocks go. */
export function compactVhd(path: string, host?: FileHost, onProgress?: Progress): RewriteResult {
  return rewriteVhd(path, { host, onProgress });
}

/**
 * Points a differencing disk at another parent (vhd-util modify -p, qemu-img rebase -u): the new
 * parent's unique id, time stamp, name and locators are written; the child's own sectors are kept
 * as they are. The caller vouches that the new parent holds what the old one did, typically after
 * `coalesceVhd` merged the old parent into it (XenServer's garbage collector does exactly this).
 */
export function rebaseVhd(child: string, newParent: string, host?: FileHost, onProgress?: Progress): RewriteResult {
  const probe = VhdDisk.open(child, { readOnly: true, noParent: true, host });
  const type = probe.type;
  probe.close();
  if (type !== DiskType.Differencing) throw new VhdUsageError(`${child} is not a differencing disk`);
  return rewriteVhd(child, { newParent, host, onProgress });
}
