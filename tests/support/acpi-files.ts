/** ACPI tables cut out of their pages as files, and ACPICA's `iasl -d` (Debian acpica-tools) over one. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AcpiTables } from "../../src/xen/loader/acpi";

/** Each table (by signature, and "RSDP") as a file for the disassembler. */
export function tableFiles(t: AcpiTables): Map<string, string> {
  const flat = new Map<number, number>();
  for (const p of t.pages) p.bytes.forEach((v, i) => flat.set(p.at + i, v));
  const read = (at: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => flat.get(at + i) ?? 0));
  const dir = mkdtempSync(join(tmpdir(), "xenlab-acpi-"));
  const out = new Map<string, string>();
  for (const [sig, at] of Object.entries(t.tables)) {
    const len = read(at + 4, 4).readUInt32LE();
    const f = join(dir, `${sig.toLowerCase()}.dat`);
    writeFileSync(f, read(at, len));
    out.set(sig, f);
  }
  const rsdp = join(dir, "rsdp.dat");
  writeFileSync(rsdp, read(t.rsdp, 36));
  out.set("RSDP", rsdp);
  return out;
}

/** `iasl -d`: the disassembly, with its checksum verdict. */
export const iasl = (file: string): string => {
  execFileSync("iasl", ["-d", file], { cwd: join(file, ".."), stdio: "pipe" });
  return readFileSync(file.replace(/\.dat$/, ".dsl"), "utf8");
};
