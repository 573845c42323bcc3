/**
 * The registers view of the x87/MMX register file, looked at the way a person does: the vCPU's
 * HTML is put into Debian's Chromium and the visible text of its tables is read back. While a
 * guest uses MMX the view shows MM0-7 (the significands of R0-R7, SDM Vol. 1 §9.5) with their
 * bytes; after emms and x87 code, the x87 stack (ST(i), physical register, 80-bit pattern, value,
 * tag). The text form says the same. Once SSE is used, MXCSR decoded and XMM0-15 as bits, floats
 * and doubles; the expected values are the IEEE-754 encodings written out by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { launchChromium } from "../support/chromium";
import { runTo, sysGuest } from "./helpers";

let browser: Browser;
beforeAll(async () => { browser = await launchChromium(); }, 60_000);
afterAll(async () => { await browser?.close(); });

/** The rows of each table in the page, as the browser renders their text: class → rows → cells. */
async function tables(html: string): Promise<Record<string, string[][]>> {
  const page = await browser.newPage();
  try {
    await page.setContent(`<!doctype html><body>${html}</body>`);
    return await page.evaluate(() => {
      const out: Record<string, string[][]> = {};
      for (const t of Array.from(document.querySelectorAll("table"))) {
        out[t.className || "flags"] = Array.from(t.querySelectorAll("tr")).map((r) => Array.from(r.querySelectorAll("td,th")).map((c) => (c as HTMLElement).innerText.trim()));
      }
      return out;
    });
  } finally {
    await page.close();
  }
}

describe("registers view: MMX and the x87 stack, as the browser shows them", () => {
  it("MMX registers while MMX is in use, then the x87 stack after emms", async () => {
    const { v, at } = sysGuest(`start:
      mov rax, cr4
      or eax, 0x600
      mov cr4, rax
      mov rax, 0x1122334455667788
      movq mm0, rax
      pcmpeqb mm7, mm7
      movq mm3, mm0
      paddb mm3, mm7
      mmx_done:
      emms
      fld1
      fldpi
      hlt`);
    const before = await tables(String(v.toMimeBundle()["text/html"]));
    expect(Object.keys(before)).toEqual(["flags"]); // reset FPU: neither table
    expect(v.toMimeBundle()["text/plain"]).not.toMatch(/^mm0 /m);

    v.addBreakpoint(at("mmx_done"));
    runTo(v, "breakpoint");
    const mmx = await tables(String(v.toMimeBundle()["text/html"]));
    expect(mmx["xenlab-x87"]).toBeUndefined();
    const rows = mmx["xenlab-mmx"]!;
    expect(rows[0]).toEqual(["reg", "value", "bytes 7..0"]);
    expect(rows.slice(1).map((r) => r[0])).toEqual(["mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7"]);
    expect(rows[1]!.slice(1)).toEqual(["1122334455667788", "11 22 33 44 55 66 77 88"]);
    expect(rows[8]![1]).toBe("ffffffffffffffff");
    expect(rows[4]![1]).toBe("1021324354657687"); // each byte of mm0 minus 1 (paddb with all-ones)
    const text = v.toMimeBundle()["text/plain"];
    expect(text).toMatch(/^mmx \(x87 registers in MMX use: TOP 0, all tagged valid\)$/m);
    expect(text).toMatch(/^mm0 1122334455667788  mm1 [0-9a-f]{16}$/m);

    v.removeBreakpoint(at("mmx_done"));
    runTo(v, "hlt");
    const x87 = await tables(String(v.toMimeBundle()["text/html"]));
    expect(x87["xenlab-mmx"]).toBeUndefined();
    expect(x87["xenlab-x87"]).toEqual([
      ["ST", "phys", "80-bit", "value", "tag"],
      ["st0", "R6", "4000c90fdaa22168c235", "3.141592653589793", "valid"],
      ["st1", "R7", "3fff8000000000000000", "1", "valid"],
    ]);
    expect(v.toMimeBundle()["text/plain"]).not.toMatch(/^mmx /m);
  }, 60_000);

  it("MXCSR decoded and XMM0-15 as bits, floats and doubles once SSE is used", async () => {
    const { v } = sysGuest(`start:
      mov rax, cr4
      or eax, 0x600
      mov cr4, rax
      mov dword [abs 0x500000], 0xddc0 ; RC up, DAZ, FTZ, ZM unmasked, no flags
      ldmxcsr [abs 0x500000]
      mov eax, 0x3f800000
      movd xmm1, eax
      pshufd xmm1, xmm1, 0
      mov rax, 0x400921fb54442d18
      movq xmm2, rax
      mov rax, 0x8000000000000000
      pinsrq xmm2, rax, 1
      mov rax, 0x3ff0000000000000
      movq xmm3, rax
      mov rax, 0x4008000000000000
      movq xmm6, rax
      divsd xmm3, xmm6
      mov dword [abs 0x500010], 0x3dcccccd
      mov dword [abs 0x500014], 0xff800000
      mov dword [abs 0x500018], 0x7fc00000
      mov dword [abs 0x50001c], 0x7f800001
      movups xmm4, [abs 0x500010]
      pcmpeqd xmm15, xmm15
      hlt`);
    expect((await tables(String(v.toMimeBundle()["text/html"])))["xenlab-xmm"]).toBeUndefined(); // reset SSE state: no table
    runTo(v, "hlt");
    const t = await tables(String(v.toMimeBundle()["text/html"]));
    expect(t["xenlab-mxcsr"]).toEqual([
      ["MXCSR", "flags", "unmasked", "rounding", "DAZ", "FTZ"],
      ["0000dde0", "PE", "ZM", "up", "on", "on"], // 1/3 is inexact: PE is sticky
    ]);
    const rows = t["xenlab-xmm"]!;
    expect(rows[0]).toEqual(["reg", "127..0", "as float [3..0]", "as double [1..0]"]);
    expect(rows.slice(1).map((r) => r[0])).toEqual(Array.from({ length: 16 }, (_, i) => `xmm${i}`));
    const row = (i: number) => rows[i + 1]!.slice(1);
    expect(row(0)).toEqual(["00000000_00000000_00000000_00000000", "0 | 0 | 0 | 0", "0 | 0"]);
    expect(row(1).slice(0, 2)).toEqual(["3f800000_3f800000_3f800000_3f800000", "1 | 1 | 1 | 1"]);
    expect(row(1)[2]).toBe("0.007812501848093234 | 0.007812501848093234"); // 0x3f8000003f800000 as a double
    expect(row(2)[0]).toBe("80000000_00000000_400921fb_54442d18");
    expect(row(2)[2]).toBe("-0 | 3.141592653589793");
    expect(row(3)[0]).toBe("00000000_00000000_3fd55555_55555556"); // 1/3 rounded up (nearest would end in 5)
    expect(row(3)[2]).toBe("0 | 0.33333333333333337");
    expect(row(4)[0]).toBe("7f800001_7fc00000_ff800000_3dcccccd");
    expect(row(4)[1]).toBe("SNaN | QNaN | -inf | 0.1");
    expect(row(15)).toEqual(["ffffffff_ffffffff_ffffffff_ffffffff", "-QNaN | -QNaN | -QNaN | -QNaN", "-QNaN | -QNaN"]);
    expect(v.toMimeBundle()["text/plain"]).toMatch(/^mxcsr 0000dde0 \[flags PE; unmasked ZM; rc up DAZ FTZ\]$/m);
  }, 60_000);
});
