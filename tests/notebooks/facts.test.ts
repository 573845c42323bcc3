/**
 * The tutorials' history and ABI facts, as corrected against their primary sources (issue 17):
 * each notebook and its solutions copy end with a References cell, and the statements found wrong
 * do not come back. The sources are named in each notebook's References cell.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root";

const NOTEBOOKS = join(PACKAGE_ROOT, "notebooks");
interface Cell { cell_type: string; source: string | string[] }
const cellsOf = (file: string): Cell[] => (JSON.parse(readFileSync(join(NOTEBOOKS, file), "utf8")) as { cells: Cell[] }).cells;
const src = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);
const prose = (file: string) => cellsOf(file).filter((c) => c.cell_type === "markdown").map(src).join("\n");
const files = [
  ...readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb")),
  ...readdirSync(join(NOTEBOOKS, "solutions")).filter((f) => f.endsWith(".ipynb")).map((f) => `solutions/${f}`),
].sort();

describe("every notebook cites its sources", () => {
  for (const file of files) {
    it(`${file} ends with a References cell`, () => {
      const last = cellsOf(file).at(-1)!;
      expect(last.cell_type).toBe("markdown");
      expect(src(last)).toMatch(/^## References\n/);
      expect(src(last).split("\n").filter((l) => l.startsWith("- ")).length).toBeGreaterThanOrEqual(3);
    });
  }
});

/** [notebook prefix, what must be said, what must not be said]. */
const FACTS: [string, RegExp[], RegExp[]][] = [
  ["02-", [/EBX of leaf 0x40000x02/, /vmmcall/, /int 0x82/, /`syscall`/, /Xen 4\.4/, /Xen 4\.10/], [/MSR\s+it found through CPUID leaf 0x40000000/]],
  ["07-", [/lived \*\*in the guest\*\*/, /Linux Integration Components/], [/adapter\*\* in the hypervisor/, /unmodified, next to Windows/]],
  ["05-", [/April 2006/, /Only two structures carry a checksum/], [/In July 2006 XenSource licensed/, /Every structure carries a checksum/]],
  ["08-", [/could\s+not import Virtual Server VMs/, /XVA/, /\*\*HVM\*\*/, /moved to IDE/], [/Hyper-V later imported/]],
  ["03-", [/shadow page tables/, /it calls\s+`XENMEM_add_to_physmap/], [/\(EPT\/NPT in hardware\)/, /Xen swapped the RAM page/]],
  ["09-", [/Popek/, /exits\s+unconditionally/, /HLT exiting/], [/`cpuid` always traps/, /`cpuid`, port I\/O and `hlt` always exit/]],
  ["06-", [/QEMU's qdisk/, /tapdisk/], [/dom0 runs a \*\*blkback\*\* that reads and writes the\s+VHD/]],
  ["01-", [/notebook 10 boots Debian's own Linux/], [/notebook 2 boots one/, /no notebook\s+does yet/]],
  ["10-", [/PVHv1 in Xen 4\.4/, /Xen 4\.10/, /PV MMU/, /unmodified/], []],
];

describe("corrected facts stay corrected", () => {
  for (const [prefix, must, mustNot] of FACTS) {
    for (const file of files.filter((f) => f.replace("solutions/", "").startsWith(prefix))) {
      it(file, () => {
        const text = prose(file);
        for (const m of must) expect(text).toMatch(m);
        for (const m of mustNot) expect(text).not.toMatch(m);
      });
    }
  }
});
