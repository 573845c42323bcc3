/**
 * XMM0-15 and MXCSR in the registers view's HTML, shown once SSE state differs from its reset
 * value (XMM all zero, MXCSR 0x1f80): each register as 128 bits (most significant dword first, as
 * the text form reads) and read as four floats and as two doubles, since SSE code keeps both in
 * the same registers and a person reading the view wants the number, not only the bits. MXCSR is
 * decoded field by field (SDM Vol. 1 §10.2.3, Figure 10-3).
 */
import { escapeXml } from "./mime";

/** The part of a vCPU this view reads: XMM0..15 as four 32-bit lanes each (lane 0 = bits 31:0), and MXCSR. */
export interface XmmSource {
  readonly xmm?: Int32Array;
  mxcsr?: number;
}

export const MXCSR_RESET = 0x1f80;

export function sseInUse(c: XmmSource): boolean {
  return c.xmm !== undefined && c.mxcsr !== undefined && !(c.mxcsr === MXCSR_RESET && c.xmm.every((v) => v === 0));
}

const EXC = ["IE", "DE", "ZE", "OE", "UE", "PE"];
const RC = ["nearest", "down", "up", "zero"];

/** MXCSR fields: the sticky exception flags set, the exceptions unmasked (each would raise #XM), rounding, DAZ/FTZ. */
export function mxcsrFields(m: number): { flags: string[]; unmasked: string[]; rc: string; daz: boolean; ftz: boolean } {
  return {
    flags: EXC.filter((_, i) => (m >> i) & 1),
    unmasked: EXC.filter((_, i) => !((m >> (7 + i)) & 1)).map((n) => n[0] + "M"),
    rc: RC[(m >> 13) & 3]!,
    daz: (m & 0x40) !== 0,
    ftz: (m & 0x8000) !== 0,
  };
}

/** A binary32 or binary64 value as the view prints it: the shortest decimal that reads back to the same bits, or inf/QNaN/SNaN with sign. */
function fpText(sign: boolean, expAllOnes: boolean, fracZero: boolean, quiet: boolean, value: number, single: boolean): string {
  const s = sign ? "-" : "";
  if (expAllOnes) return fracZero ? `${s}inf` : `${s}${quiet ? "QNaN" : "SNaN"}`;
  if (value === 0) return `${s}0`;
  if (!single) return String(value); // JS prints a double's shortest round-trip form
  for (let p = 1; p < 9; p++) {
    const t = Number(value.toPrecision(p));
    if (Math.fround(t) === value) return String(t);
  }
  return String(Number(value.toPrecision(9))); // 9 significant digits always identify a binary32
}

function f32Text(bits: number): string {
  const u = bits >>> 0;
  const f = new Float32Array(new Uint32Array([u]).buffer)[0]!;
  return fpText(u >>> 31 === 1, ((u >>> 23) & 0xff) === 0xff, (u & 0x7fffff) === 0, ((u >>> 22) & 1) === 1, f, true);
}

function f64Text(lo: number, hi: number): string {
  const h = hi >>> 0;
  const d = new Float64Array(new Uint32Array([lo >>> 0, h]).buffer)[0]!;
  return fpText(h >>> 31 === 1, ((h >>> 20) & 0x7ff) === 0x7ff, (h & 0xfffff) === 0 && lo === 0, ((h >>> 19) & 1) === 1, d, false);
}

/** The HTML: an MXCSR table and an XMM table; "" while SSE state is at reset. */
export function xmmHtml(c: XmmSource): string {
  if (!sseInUse(c)) return "";
  const x = c.xmm!, m = c.mxcsr!;
  const cell = (s: string, extra = "") => `<td style="padding:0 6px${extra}">${escapeXml(s)}</td>`;
  const f = mxcsrFields(m);
  const mx =
    `<table class="xenlab-mxcsr" style="border-collapse:collapse"><tr><th>MXCSR</th><th>flags</th><th>unmasked</th><th>rounding</th><th>DAZ</th><th>FTZ</th></tr>` +
    `<tr>${cell(m.toString(16).padStart(8, "0"), ";font-weight:bold")}${cell(f.flags.join(" ") || "-")}${cell(f.unmasked.join(" ") || "-")}${cell(f.rc)}${cell(f.daz ? "on" : "off")}${cell(f.ftz ? "on" : "off")}</tr></table>`;
  const rows = Array.from({ length: 16 }, (_, i) => {
    const lane = (k: number) => x[i * 4 + k]!;
    const hex = [3, 2, 1, 0].map((k) => (lane(k) >>> 0).toString(16).padStart(8, "0")).join("_");
    const floats = [3, 2, 1, 0].map((k) => f32Text(lane(k))).join(" | ");
    const doubles = [1, 0].map((q) => f64Text(lane(2 * q), lane(2 * q + 1))).join(" | ");
    return `<tr data-reg="xmm${i}">${cell(`xmm${i}`, ";font-weight:bold")}${cell(hex)}${cell(floats)}${cell(doubles)}</tr>`;
  }).join("");
  return `<div style="margin-top:4px"><b>SSE</b></div>${mx}<table class="xenlab-xmm" style="border-collapse:collapse">` +
    `<tr><th>reg</th><th>127..0</th><th>as float [3..0]</th><th>as double [1..0]</th></tr>${rows}</table>`;
}
