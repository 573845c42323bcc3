/**
 * The block device interface shared by every disk the host can attach or look inside: raw images,
 * VHDs (fixed, dynamic, differencing chains), and partitions carved out of either.
 *
 * It is synchronous on purpose: the emulated host is deterministic and single-threaded, and blkback
 * serves a guest's request inside the run loop between two instructions. Offsets and lengths are in
 * bytes; devices with 512-byte sectors accept any byte range and do the read-modify-write.
 */
export interface BlockDevice {
  /** Virtual size in bytes (what a guest or a partition table sees). */
  readonly size: number;
  readonly readOnly: boolean;
  /** Reads `buffer.length` bytes at `offset` into `buffer`. Unallocated space reads as zeros. */
  read(offset: number, buffer: Uint8Array): void;
  write(offset: number, data: Uint8Array): void;
  /** After flush returns, every write before it is durable (survives a crash of the process). */
  flush(): void;
  close(): void;
}

export const SECTOR_SIZE = 512;

export class BlockRangeError extends RangeError {
  constructor(what: string, offset: number, length: number, size: number) {
    super(`${what}: bytes ${offset}..${offset + length} are outside the device (size ${size})`);
    this.name = "BlockRangeError";
  }
}

export function checkRange(what: string, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > size) {
    throw new BlockRangeError(what, offset, length, size);
  }
}

/**
 * A read-only view of a device that stays open elsewhere (e.g. a disk a guest is using): reads pass
 * through, writes are refused, and closing the view leaves the device open.
 */
export function readOnlyView(device: BlockDevice): BlockDevice {
  return {
    get size() {
      return device.size;
    },
    readOnly: true,
    read: (offset, buffer) => device.read(offset, buffer),
    write: () => {
      throw new Error("this view of the disk is read-only");
    },
    flush: () => undefined,
    close: () => undefined,
  };
}
