/** Sector bitmaps: bit set = the sector's data is in this file. MSB of byte 0 is sector 0 (spec). */
export function testBit(bitmap: Uint8Array, sector: number): boolean {
  return (bitmap[sector >>> 3]! & (0x80 >>> (sector & 7))) !== 0;
}

/** Sets bits [from, to); returns whether any bit changed. */
export function setBits(bitmap: Uint8Array, from: number, to: number): boolean {
  let changed = false;
  for (let s = from; s < to; s++) {
    const i = s >>> 3;
    const m = 0x80 >>> (s & 7);
    if (!(bitmap[i]! & m)) {
      bitmap[i] = bitmap[i]! | m;
      changed = true;
    }
  }
  return changed;
}

/** Calls `fn(start, end, set)` for each run of equal bits in [from, to). */
export function forEachRun(bitmap: Uint8Array, from: number, to: number, fn: (start: number, end: number, set: boolean) => void): void {
  let s = from;
  while (s < to) {
    const v = testBit(bitmap, s);
    let e = s + 1;
    while (e < to && testBit(bitmap, e) === v) e++;
    fn(s, e, v);
    s = e;
  }
}
