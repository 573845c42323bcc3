import { BlockDevice, checkRange } from "../vhd/block-device";
import { FsError } from "./errors";

/** A disk held in memory: for building images in a cell, and for the mutation tests. */
export class MemoryDevice implements BlockDevice {
  readonly size: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly readOnly = false,
  ) {
    this.size = bytes.length;
  }

  read(offset: number, buffer: Uint8Array): void {
    checkRange("read from memory device", offset, buffer.length, this.size);
    buffer.set(this.bytes.subarray(offset, offset + buffer.length));
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new FsError("EROFS", "memory device is read-only");
    checkRange("write to memory device", offset, data.length, this.size);
    this.bytes.set(data, offset);
  }

  flush(): void {}
  close(): void {}
}
