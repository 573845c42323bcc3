import { MAX_CHS_SECTORS, SECTOR } from "./constants";

/** Cylinder/heads/sectors-per-track as stored in the footer "Disk Geometry" field. */
export interface Chs {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

export function chsSectors(g: Chs): number {
  return g.cylinders * g.heads * g.sectorsPerTrack;
}

export function chsBytes(g: Chs): number {
  return chsSectors(g) * SECTOR;
}

export function isMaxChs(g: Chs): boolean {
  return g.cylinders === 65535 && g.heads === 16 && g.sectorsPerTrack === 255;
}

/**
 * The geometry for a disk of `totalSectors`, by the algorithm in the spec's appendix "CHS
 * Calculation" (identical to qemu calculate_geometry and blktap vhd_chs). Integer division
 * throughout, so the CHS product never exceeds the disk.
 */
export function chsForSectors(totalSectors: number): Chs {
  const ts = Math.min(totalSectors, MAX_CHS_SECTORS);
  let spt: number;
  let heads: number;
  let cth: number;
  if (ts >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(ts / spt);
  } else {
    spt = 17;
    cth = Math.floor(ts / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(ts / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(ts / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectorsPerTrack: spt };
}

/**
 * qemu's create-time rule (block/vpc.c vpc_co_create without force_size): try the requested
 * sector count, then one more sector at a time, until the CHS product covers the request; the disk
 * size becomes that product. Beyond the CHS range qemu keeps the exact size with 65535/16/255.
 */
export function qemuChsRoundUp(sizeBytes: number): { geometry: Chs; size: number } {
  const total = Math.ceil(sizeBytes / SECTOR);
  if (total >= MAX_CHS_SECTORS) {
    return { geometry: { cylinders: 65535, heads: 16, sectorsPerTrack: 255 }, size: total * SECTOR };
  }
  let g = chsForSectors(total);
  for (let i = 0; total > chsSectors(g); i++) g = chsForSectors(total + i);
  return { geometry: g, size: chsSectors(g) * SECTOR };
}
