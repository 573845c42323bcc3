/**
 * The x87/MMX register file in the registers view: the x87 stack as a table (ST(i), its physical
 * register, the 80-bit pattern, its value, its tag), or, while the registers hold MMX state, MM0-7
 * as 64-bit values and bytes. MMi is the significand of physical register Ri (SDM Vol. 1 §9.5);
 * an MMX instruction sets TOP to 0, tags all eight registers valid and writes bits 79:64 of the
 * register it writes as ones. So "in MMX use" is read from exactly that state: TOP 0, every tag
 * valid, and at least one register with an all-ones exponent (an x87 value with that exponent is
 * an infinity or NaN, and a full stack of them is not what x87 code leaves).
 */
import { escapeXml } from "./mime";

/** The part of a vCPU this view reads: R0..R7 (5 words each: significand low to high, then sign/exponent), FSW, the full tag word. */
export interface FpSource {
  readonly fpr?: Uint16Array;
  fsw?: number;
  ftw?: number;
}

const hex16 = (v: number) => v.toString(16).padStart(4, "0");
const TAGS = ["valid", "zero", "special", "empty"];

export function inMmxUse(c: FpSource): boolean {
  if (!c.fpr || c.fsw === undefined || c.ftw === undefined) return false;
  if (c.ftw !== 0 || ((c.fsw >> 11) & 7) !== 0) return false;
  for (let r = 0; r < 8; r++) if ((c.fpr[r * 5 + 4]! & 0x7fff) === 0x7fff) return true;
  return false;
}

/** MMi as 16 hex digits. */
export function mmHex(c: FpSource, i: number): string {
  return [3, 2, 1, 0].map((k) => hex16(c.fpr![i * 5 + k]!)).join("");
}

/** The text lines: MM0-7 in two columns, while in MMX use; else nothing (x87 lines are the FPU's own). */
export function mmxLines(c: FpSource): string[] {
  if (!inMmxUse(c)) return [];
  const lines = ["mmx (x87 registers in MMX use: TOP 0, all tagged valid)"];
  for (let i = 0; i < 8; i += 2) lines.push(`mm${i} ${mmHex(c, i)}  mm${i + 1} ${mmHex(c, i + 1)}`);
  return lines;
}

/** The value of an 80-bit pattern, as the table shows it. */
function value80(w: ArrayLike<number>, o: number): string {
  const se = w[o + 4]!, e = se & 0x7fff, neg = se >> 15 ? "-" : "";
  let m = 0n;
  for (let k = 3; k >= 0; k--) m = (m << 16n) | BigInt(w[o + k]!);
  const integer = (m >> 63n) & 1n, frac = m & ((1n << 63n) - 1n);
  if (e === 0x7fff) return integer === 0n ? "pseudo-NaN/inf (invalid)" : frac === 0n ? `${neg}inf` : frac >> 62n ? `${neg}QNaN` : `${neg}SNaN`;
  if (e === 0 && m === 0n) return `${neg}0`;
  if (e !== 0 && integer === 0n) return "unnormal (invalid)";
  // m / 2^63 × 2^(e - 16383), denormals with the minimum exponent; a double shows 17 digits.
  const v = (Number(m) / 2 ** 63) * 2 ** ((e === 0 ? 1 : e) - 16383);
  return (e === 0 ? "denormal " : "") + neg + (Number.isFinite(v) && v !== 0 ? String(Number(v.toPrecision(17))) : `${Number(m) / 2 ** 63}*2^${(e === 0 ? 1 : e) - 16383}`);
}

/** The HTML tables: MMX registers while in MMX use, else the non-empty x87 stack; "" when there is nothing to show. */
export function fpHtml(c: FpSource): string {
  if (!c.fpr || c.fsw === undefined || c.ftw === undefined) return "";
  const cell = (s: string, extra = "") => `<td style="padding:0 6px${extra}">${escapeXml(s)}</td>`;
  if (inMmxUse(c)) {
    const rows = Array.from({ length: 8 }, (_, i) => {
      const h = mmHex(c, i);
      const bytes = h.match(/../g)!.join(" "); // byte 7 first, as the value reads
      return `<tr data-reg="mm${i}">${cell(`mm${i}`, ";font-weight:bold")}${cell(h)}${cell(bytes, ";color:#555")}</tr>`;
    }).join("");
    return `<div style="margin-top:4px"><b>MMX</b> (x87 registers in MMX use)</div><table class="xenlab-mmx" style="border-collapse:collapse">` +
      `<tr><th>reg</th><th>value</th><th>bytes 7..0</th></tr>${rows}</table>`;
  }
  const top = (c.fsw >> 11) & 7;
  const rows: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = (top + i) & 7, tag = (c.ftw >> (2 * r)) & 3;
    if (tag === 3) continue;
    const o = r * 5, w = c.fpr;
    const bits = [4, 3, 2, 1, 0].map((k) => hex16(w[o + k]!)).join("");
    rows.push(`<tr data-reg="st${i}">${cell(`st${i}`, ";font-weight:bold")}${cell(`R${r}`)}${cell(bits)}${cell(value80(w, o))}${cell(TAGS[tag]!)}</tr>`);
  }
  if (!rows.length) return "";
  return `<div style="margin-top:4px"><b>x87 stack</b> (TOP ${top})</div><table class="xenlab-x87" style="border-collapse:collapse">` +
    `<tr><th>ST</th><th>phys</th><th>80-bit</th><th>value</th><th>tag</th></tr>${rows.join("")}</table>`;
}
