import { runFdHelper } from "./fd-helper";

/** A range of a host file that holds data (not a hole), as lseek(2) SEEK_DATA/SEEK_HOLE reports it. */
export interface DataExtent {
  start: number;
  end: number;
}

// Walks the file: SEEK_DATA from pos (ENXIO: only a hole is left), then SEEK_HOLE from there.
const SCRIPT = `
import os, json
fd = 3; end = os.fstat(fd).st_size; out = []; pos = 0
while pos < end:
    try: d = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError: break
    h = os.lseek(fd, d, os.SEEK_HOLE)
    out.append([d, h]); pos = h
print(json.dumps(out))
`;

/**
 * The data extents of the file open on `fd`, or undefined where they cannot be learnt (no
 * python3): callers then treat the whole file as data, as qemu's file-posix does when lseek gives
 * no answer ("No info available, so pretend there are no holes").
 */
export function dataExtents(fd: number): DataExtent[] | undefined {
  const r = runFdHelper("finding holes (lseek SEEK_DATA)", SCRIPT, [fd], "");
  if (!r.ok) return undefined;
  return (JSON.parse(r.stdout) as Array<[number, number]>).map(([start, end]) => ({ start, end }));
}
