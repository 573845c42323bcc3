/**
 * Register view of a vCPU: general-purpose registers, RIP, RFLAGS with every flag decoded,
 * control registers and mode, the x87 stack or MMX registers (fp-registers.ts), XMM and MXCSR,
 * as text and as HTML.
 */
import { MimeBundle, escapeXml } from "./mime";
import { FpSource, fpHtml, mmxLines } from "./fp-registers";
import { XmmSource, mxcsrFields, sseInUse, xmmHtml } from "./xmm-registers";

/** The part of a vCPU this view reads (kept structural so render/ does not import machine/). */
export interface RegisterSource extends FpSource, XmmSource {
  regs(): Record<string, bigint>;
  getFlags(): number;
  cr0: number; cr2: number; cr3: number; cr4: number; efer: number; cpl: number;
  readonly mode: string;
  icount: number;
  id: number;
  disassembleAround?(count: number): string[];
  stackAround?(count: number): string[];
  /** The x87 FPU: its control/status/tag words and stack as text lines, empty while unused. */
  readonly fpu?: { lines(): string[] };
}

/** MXCSR as one text line (fields from xmm-registers.ts). */
function mxcsrText(m: number): string {
  const f = mxcsrFields(m);
  return `mxcsr ${m.toString(16).padStart(8, "0")} [flags ${f.flags.join(" ") || "-"}; unmasked ${f.unmasked.join(" ") || "-"}; rc ${f.rc}${f.daz ? " DAZ" : ""}${f.ftz ? " FTZ" : ""}]`;
}

/** XMM registers and MXCSR, once SSE state differs from its reset value (all zero, 0x1f80). */
export function sseLines(c: RegisterSource): string[] {
  if (!sseInUse(c)) return [];
  const x = c.xmm!;
  const lines = [mxcsrText(c.mxcsr!)];
  const hex = (i: number) => [3, 2, 1, 0].map((k) => (x[i * 4 + k]! >>> 0).toString(16).padStart(8, "0")).join("_");
  for (let i = 0; i < 16; i += 2) lines.push(`xmm${i}`.padStart(5) + ` ${hex(i)}  ` + `xmm${i + 1}`.padStart(5) + ` ${hex(i + 1)}`);
  return lines;
}

/** EFLAGS bits and their names (Intel SDM Vol. 1 §3.4.3). */
const FLAG_NAMES: [number, string][] = [
  [0, "CF"], [2, "PF"], [4, "AF"], [6, "ZF"], [7, "SF"], [8, "TF"], [9, "IF"], [10, "DF"], [11, "OF"],
  [14, "NT"], [16, "RF"], [18, "AC"], [21, "ID"],
];

export function decodeFlags(f: number): string[] {
  const out = FLAG_NAMES.filter(([b]) => (f >>> b) & 1).map(([, n]) => n);
  const iopl = (f >>> 12) & 3;
  if (iopl) out.push(`IOPL=${iopl}`);
  return out;
}

const h64 = (v: bigint) => v.toString(16).padStart(16, "0");

export function registerLines(c: RegisterSource): string[] {
  const r = c.regs();
  const names = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
  const lines: string[] = [];
  for (let i = 0; i < names.length; i += 2) {
    lines.push(`${names[i]!.padStart(3)} ${h64(r[names[i]!]!)}  ${names[i + 1]!.padStart(3)} ${h64(r[names[i + 1]!]!)}`);
  }
  const f = c.getFlags();
  lines.push(`rip ${h64(r.rip!)}  rflags ${f.toString(16).padStart(8, "0")} [${decodeFlags(f).join(" ")}]`);
  lines.push(
    `cr0 ${(c.cr0 >>> 0).toString(16).padStart(8, "0")} cr2 ${BigInt.asUintN(64, BigInt(c.cr2)).toString(16)} cr3 ${c.cr3.toString(16)} cr4 ${(c.cr4 >>> 0).toString(16)} efer ${(c.efer >>> 0).toString(16)}`,
  );
  lines.push(`mode ${c.mode} cpl ${c.cpl} retired ${c.icount}`);
  if (c.fpu) lines.push(...c.fpu.lines());
  lines.push(...mmxLines(c));
  lines.push(...sseLines(c));
  return lines;
}

export function renderVcpu(c: RegisterSource): MimeBundle {
  const lines = registerLines(c);
  const dis = c.disassembleAround ? c.disassembleAround(8) : [];
  const stack = c.stackAround ? c.stackAround(6) : [];
  const text = [`vCPU ${c.id}`, ...lines, ...(dis.length ? ["", ...dis] : []), ...(stack.length ? ["", "stack:", ...stack] : [])].join("\n");
  const f = c.getFlags();
  const flagCells = FLAG_NAMES.map(
    ([b, n]) => `<td style="padding:0 4px;${(f >>> b) & 1 ? "font-weight:bold;background:#cfe8cf" : "color:#999"}">${n}</td>`,
  ).join("");
  const html =
    `<div style="font-family:monospace;font-size:12px"><div><b>vCPU ${c.id}</b> ${escapeXml(c.mode)} cpl ${c.cpl}</div>` +
    `<pre style="margin:2px 0">${escapeXml(lines.join("\n"))}</pre>` +
    `<table style="border-collapse:collapse"><tr>${flagCells}</tr></table>` +
    fpHtml(c) +
    xmmHtml(c) +
    (dis.length ? `<pre style="margin:2px 0">${escapeXml(dis.join("\n"))}</pre>` : "") +
    (stack.length ? `<div style="margin-top:4px"><b>stack</b></div><pre style="margin:2px 0">${escapeXml(stack.join("\n"))}</pre>` : "") +
    `</div>`;
  return { "text/plain": text, "text/html": html };
}
