import { FileHost } from "./block-file";
import { DiskType } from "./constants";
import { VhdUsageError } from "./errors";
import { forEachOwnRun } from "./own-data";
import { Progress } from "./progress";
import { VhdDisk } from "./vhd-disk";

export interface CoalesceResult {
  child: string;
  parent: string;
  bytesMerged: number;
}

/**
 * Merges a differencing disk's own sectors into its parent (vhd-util coalesce). Afterwards the
 * parent reads as the child did, and the child (now redundant) can be deleted or re-snapshotted.
 * The parent is flushed before returning.
 */
export function coalesceVhd(childPath: string, o: { host?: FileHost; onProgress?: Progress } = {}): CoalesceResult {
  const probe = VhdDisk.open(childPath, { readOnly: true, host: o.host });
  const parentPath = probe.parentFoundBy?.path;
  const isDiff = probe.type === DiskType.Differencing;
  probe.close();
  if (!isDiff || !parentPath) throw new VhdUsageError(`${childPath} is not a differencing disk`);
  const child = VhdDisk.open(childPath, { readOnly: true, noParent: true, host: o.host });
  const parent = VhdDisk.open(parentPath, { host: o.host });
  let merged = 0;
  try {
    if (parent.size < child.size) throw new VhdUsageError(`parent ${parentPath} (${parent.size} bytes) is smaller than ${childPath} (${child.size}); resize it first`);
    forEachOwnRun(child, (off, data) => {
      parent.write(off, data);
      merged += data.length;
    }, o.onProgress);
    parent.flush();
  } finally {
    parent.close();
    child.close();
  }
  return { child: childPath, parent: parentPath, bytesMerged: merged };
}
