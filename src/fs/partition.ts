import { BlockDevice, checkRange } from "../vhd/block-device";
import { FsError } from "./errors";

/**
 * A byte range of a block device seen as a device of its own, the way Linux shows /dev/sda1 over
 * /dev/sda: offset 0 of the partition is `start` on the parent. Reads and writes are bounds-checked
 * against the partition, so a filesystem can never touch its neighbours.
 */
export class Partition implements BlockDevice {
  readonly readOnly: boolean;

  constructor(
    readonly parent: BlockDevice,
    /** Byte offset of the partition on the parent. */
    readonly start: number,
    readonly size: number,
    readonly label = "partition",
  ) {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size < 0 || start + size > parent.size) {
      throw new FsError("ECORRUPT", `${label}: bytes ${start}..${start + size} are outside the disk (size ${parent.size})`, {
        field: "partition extent",
        offset: start,
      });
    }
    this.readOnly = parent.readOnly;
  }

  read(offset: number, buffer: Uint8Array): void {
    checkRange(`read from ${this.label}`, offset, buffer.length, this.size);
    this.parent.read(this.start + offset, buffer);
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new FsError("EROFS", `${this.label} is on a read-only device`);
    checkRange(`write to ${this.label}`, offset, data.length, this.size);
    this.parent.write(this.start + offset, data);
  }

  flush(): void {
    this.parent.flush();
  }

  /** Closing a partition leaves the disk open: the disk belongs to whoever opened it. */
  close(): void {}
}

/**
 * Reads `length` bytes at `offset`, turning an out-of-range request (a corrupt pointer) into an
 * FsError that names the field that pointed there.
 */
export function readAt(dev: BlockDevice, offset: number, length: number, field: string): Uint8Array {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > dev.size) {
    throw new FsError("ECORRUPT", `${field} points at bytes ${offset}..${offset + length}, outside the device (size ${dev.size})`, {
      field,
      offset,
    });
  }
  const buf = new Uint8Array(length);
  dev.read(offset, buf);
  return buf;
}
