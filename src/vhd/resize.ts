import { BAT_UNUSED, DiskType, FOOTER_SIZE } from "./constants";
import { chooseSize } from "./create";
import { encodeHeader } from "./dynamic-header";
import { VhdUsageError } from "./errors";
import { encodeFooter } from "./footer";
import { isMaxChs } from "./geometry";
import { batBytes } from "./layout";
import { rewriteVhd } from "./rewrite";
import { FileHost } from "./block-file";
import { Progress } from "./progress";
import { VhdDisk } from "./vhd-disk";

export interface ResizeResult {
  oldSize: number;
  newSize: number;
  method: "in place" | "rewritten";
}

/**
 * Changes a disk's virtual size. The new size follows the disk's own size rule: a disk with the
 * 65535/16/255 geometry keeps exact sizes (qemu force_size), others are rounded up to a CHS
 * product. Shrinking needs `shrink` (qemu-img resize --shrink), since it discards data.
 */
export function resizeVhd(path: string, requested: number, o: { shrink?: boolean; host?: FileHost; onProgress?: Progress } = {}): ResizeResult {
  const disk = VhdDisk.open(path, { host: o.host, noParent: true });
  const oldSize = disk.footer.currentSize;
  const choice = chooseSize(requested, isMaxChs(disk.footer.geometry) ? "exact" : "chs");
  if (choice.size < oldSize && !o.shrink) {
    disk.close();
    throw new VhdUsageError(`${path}: ${choice.size} is smaller than ${oldSize}; pass --shrink to discard the end of the disk`);
  }
  // Original size too: libvhdi 20210425 (vhdiinfo, pyvhdi) reports the footer's *original* size
  // as the media size (verified: current 100 MiB, original 10 MiB -> vhdiinfo says 10 MiB).
  const footer = { ...disk.footer, currentSize: choice.size, originalSize: choice.size, geometry: choice.geometry };
  const fraw = encodeFooter(footer);
  const file = disk.file;
  if (disk.type === DiskType.Fixed) {
    // Grow: the new footer goes past the new end (the file grows sparse), then the old footer's
    // bytes, now disk data, are zeroed; a crash between the two leaves those 512 bytes holding the
    // old footer instead of zeros (never data the guest wrote). Shrink: footer first, then truncate.
    file.write(choice.size, fraw);
    file.sync();
    if (choice.size > oldSize) file.write(oldSize, Buffer.alloc(Math.min(FOOTER_SIZE, choice.size - oldSize)));
    file.truncate(choice.size + FOOTER_SIZE);
    file.sync();
    disk.close();
    return { oldSize, newSize: choice.size, method: "in place" };
  }
  const h = disk.header!;
  const entries = Math.ceil(choice.size / h.blockSize);
  const capacity = batBytes(h.maxTableEntries) / 4;
  let beyond = false;
  for (let i = entries; i < h.maxTableEntries; i++) if (disk.bat[i] !== BAT_UNUSED) beyond = true;
  if (entries > capacity || beyond) {
    disk.close();
    rewriteVhd(path, { size: choice.size, geometry: choice.geometry, host: o.host, onProgress: o.onProgress });
    return { oldSize, newSize: choice.size, method: "rewritten" };
  }
  // In place: the BAT's sector padding has room. New entries first, then the header, then the
  // footer (end of file, then the copy): a crash between steps leaves a BAT longer than needed,
  // which the format allows.
  if (entries > h.maxTableEntries) {
    file.write(h.tableOffset + h.maxTableEntries * 4, Buffer.alloc((entries - h.maxTableEntries) * 4, 0xff));
    file.sync();
  }
  const header = { ...h, maxTableEntries: entries };
  file.write(disk.headerOffset, encodeHeader(header));
  file.sync();
  file.write(disk.footerPosition, fraw);
  file.sync();
  file.write(0, fraw);
  file.sync();
  disk.close();
  return { oldSize, newSize: choice.size, method: "in place" };
}

