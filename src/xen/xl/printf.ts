/** The few C printf conversions xl's formats use, so output matches xl byte for byte. */

/** %-Ns / %Ns */
export function s(v: string, width = 0, left = false): string {
  return left ? v.padEnd(width) : v.padStart(width);
}

/** %Nd / %Nu / %Nlu */
export function d(v: number, width = 0): string {
  return String(Math.trunc(v)).padStart(width);
}

/** %N.Pf — C rounds the exact binary value to nearest; toFixed does the same except on exact ties. */
export function f(v: number, width: number, prec: number): string {
  return v.toFixed(prec).padStart(width);
}

/** %c */
export function c(ch: string, width = 0): string {
  return ch.padStart(width);
}

/** `(float)ns / 1e9` as xl computes seconds (the u64 is first rounded to a float). */
export function seconds(ns: number): number {
  return Math.fround(ns) / 1e9;
}

/** xl_utils.c print_bitmap: "all", "none", or ranges "0-3,5". */
export function bitmap(cpus: readonly number[] | undefined, nr: number): string {
  const set = new Set(cpus ?? Array.from({ length: nr }, (_, i) => i));
  const on = Array.from({ length: nr }, (_, i) => set.has(i));
  if (on.every(Boolean)) return "all";
  if (!on.some(Boolean)) return "none";
  const parts: string[] = [];
  for (let i = 0; i < nr; i++) {
    if (!on[i]) continue;
    let j = i;
    while (j + 1 < nr && on[j + 1]) j++;
    parts.push(i === j ? `${i}` : `${i}-${j}`);
    i = j;
  }
  return parts.join(",");
}
