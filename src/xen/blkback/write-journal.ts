/**
 * What the frontend wrote, sector by sector, as the backend saw it on the ring: the evidence a
 * check needs to tell bytes the guest wrote through blkfront from bytes put into the image some
 * other way (the host editing the file, another tool). It keeps a digest of the last data written
 * to each of the most recently written sectors (a bounded window, so a long run cannot grow it
 * without limit). The record lives in a #private field: callers can ask, not edit.
 */
import { createHash } from "node:crypto";
import { BLKIF_SECTOR } from "./abi";

/** How many distinct sectors the journal remembers (32 MiB of the most recent writes). */
export const JOURNAL_SECTORS = 65536;

const digest = (b: Uint8Array) => createHash("sha1").update(b).digest("base64");

export class WriteJournal {
  readonly #last = new Map<number, string>();

  /** The frontend wrote `data` at byte `offset` (sector-aligned, whole sectors). */
  record(offset: number, data: Uint8Array): void {
    for (let o = 0; o < data.length; o += BLKIF_SECTOR) {
      const s = (offset + o) / BLKIF_SECTOR;
      this.#last.delete(s); // re-inserted last: the map's order is the order of writing
      this.#last.set(s, digest(data.subarray(o, o + BLKIF_SECTOR)));
      if (this.#last.size > JOURNAL_SECTORS) this.#last.delete(this.#last.keys().next().value!);
    }
  }

  /**
   * True when every sector of `bytes` (read from the image at byte `offset`, sector-aligned) holds
   * exactly what the frontend last wrote there.
   */
  frontendWrote(offset: number, bytes: Uint8Array): boolean {
    if (offset % BLKIF_SECTOR !== 0 || bytes.length === 0 || bytes.length % BLKIF_SECTOR !== 0) return false;
    for (let o = 0; o < bytes.length; o += BLKIF_SECTOR) {
      if (this.#last.get((offset + o) / BLKIF_SECTOR) !== digest(bytes.subarray(o, o + BLKIF_SECTOR))) return false;
    }
    return true;
  }

  /** How many sectors the window holds. */
  get sectors(): number {
    return this.#last.size;
  }
}
