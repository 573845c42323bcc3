/**
 * NASM-syntax assembly with keystone-wasm (the assembler `%%asm` cells use). Keystone reports an
 * error code but not where; we find the line by assembling growing prefixes of the source, so a
 * bad line is reported as `AssemblyError` with its 1-based number.
 */
import { NasmFormError, rewriteNasmForms } from "./nasm-forms";
import { AssemblyError, MachineError } from "./errors";
import type { GuestPhysical } from "./machine";

// keystone-wasm ships an ESM/CJS build without usable typings for its constants object.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ks = require("keystone-wasm") as {
  loadKeystone(): Promise<void>;
  Keystone: new (arch: number, mode: number) => { asm(src: string, o?: { address?: number | bigint }): Uint8Array; setOption(o: number, v: number): number; errNo(): number; close(): void };
  Const: Record<string, number>;
};

let loaded: Promise<void> | undefined;

/**
 * keystone-wasm 1.0.4 in NASM mode reads undecorated numbers as hexadecimal (`mov eax, 10` gives
 * 0x10, measured: b8 10 00 00 00) and rejects NASM's `10h`. NASM reads them as decimal, so every
 * numeric literal outside strings and comments is rewritten to explicit 0x form first.
 */
/** NASM strings: '...' and "..." are literal; `...` takes C-style escapes. */
function unescapeNasm(body: string, quote: string): string {
  if (quote !== "`") return body;
  return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: "\n", t: "\t", r: "\r", "0": "\0", a: "\x07", b: "\b", f: "\f", v: "\v", e: "\x1b" } as Record<string, string>)[e] ?? e;
  });
}

export function normalizeNumbers(line: string): string {
  let out = "";
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === ";") { out += line.slice(i); break; }
    if (ch === '"' || ch === "'" || ch === "`") {
      const j = line.indexOf(ch, i + 1);
      const end = j < 0 ? line.length : j + 1;
      // keystone mis-sizes quoted strings in data directives (`msg: db "Hi"` then a label gives
      // "symbol missing"; `db 'Hi', 10` is rejected), so strings there become their bytes.
      if (j > 0 && /\bd[bwdq]\s/i.test(line.slice(0, i))) {
        out += [...Buffer.from(unescapeNasm(line.slice(i + 1, j), ch), "utf8")].map((b) => `0x${b.toString(16)}`).join(", ");
      } else {
        out += line.slice(i, end);
      }
      i = end;
      continue;
    }
    const prev = i > 0 ? line[i - 1]! : " ";
    if (/[0-9]/.test(ch) && !/[A-Za-z0-9_.$@]/.test(prev)) {
      const m = /^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9a-fA-F_]*[hH]|[01_]+[bByY]|[0-7_]+[qQoO]|[0-9_]+)(?![A-Za-z0-9_])/.exec(line.slice(i));
      if (m) {
        const t = m[1]!.replace(/_/g, "");
        let v: bigint;
        if (/^0[xX]/.test(t)) v = BigInt(t);
        else if (/^0[bB]/.test(t)) v = BigInt(t);
        else if (/[hH]$/.test(t)) v = BigInt("0x" + t.slice(0, -1));
        else if (/[bByY]$/.test(t)) v = BigInt("0b" + t.slice(0, -1));
        else if (/[qQoO]$/.test(t)) v = BigInt("0o" + t.slice(0, -1));
        else v = BigInt(t);
        out += "0x" + v.toString(16);
        i += m[1]!.length;
        continue;
      }
    }
    out += ch;
    i++;
  }
  return out;
}

export interface AssembleOptions {
  bits?: 32 | 64;
  /** Address of the first byte (branch targets and RIP-relative operands depend on it). */
  address?: number | bigint;
}

export class Assembler {
  private readonly engines = new Map<number, InstanceType<typeof ks.Keystone>>();

  private constructor() {}

  /** Loads the keystone wasm module once per process. */
  static async load(): Promise<Assembler> {
    loaded ??= ks.loadKeystone();
    await loaded;
    return new Assembler();
  }

  private engine(bits: 32 | 64) {
    let e = this.engines.get(bits);
    if (!e) {
      const C = ks.Const;
      e = new ks.Keystone(C.KS_ARCH_X86!, bits === 64 ? C.KS_MODE_64! : C.KS_MODE_32!);
      e.setOption(C.KS_OPT_SYNTAX!, C.KS_OPT_SYNTAX_NASM!);
      this.engines.set(bits, e);
    }
    return e;
  }

  /** Assembles NASM-syntax source; throws AssemblyError naming the failing line. */
  assemble(source: string, opts: AssembleOptions = {}): Uint8Array {
    // keystone has no NASM preprocessor, and `%rep` made it spin forever (found in a lesson):
    // refuse every preprocessor directive up front, naming the line.
    const lines0 = source.replace(/\r\n/g, "\n").split("\n");
    const pre = lines0.findIndex((l) => /^\s*%[a-z]/i.test(l));
    if (pre >= 0) throw new AssemblyError(pre + 1, lines0[pre]!, `NASM preprocessor directives (${/%[a-z]+/i.exec(lines0[pre]!)![0]}) are not supported: write the lines out`);
    const bits = opts.bits ?? 64;
    const e = this.engine(bits);
    const clean = this.cleanLines(lines0).join("\n");
    try {
      return e.asm(clean, { address: opts.address ?? 0 });
    } catch (err) {
      const reason = err instanceof Error ? err.message.replace(/^Failed to assemble, error: /, "") : String(err);
      const lines = clean.split("\n");
      const original = source.replace(/\r\n/g, "\n").split("\n");
      // Find the first line whose prefix fails for a reason other than a not-yet-defined label.
      for (let n = 1; n <= lines.length; n++) {
        try {
          e.asm(lines.slice(0, n).join("\n"), { address: opts.address ?? 0 });
        } catch (e2) {
          const r2 = e2 instanceof Error ? e2.message.replace(/^Failed to assemble, error: /, "") : String(e2);
          if (/SYMBOL_MISSING|symbol/i.test(r2)) continue;
          throw new AssemblyError(n, original[n - 1] ?? lines[n - 1]!, r2);
        }
      }
      throw new AssemblyError(lines.length, lines[lines.length - 1] ?? "", reason);
    }
  }

  /** The source as keystone takes it, line for line: NASM forms rewritten, numbers made explicit. */
  private cleanLines(lines: readonly string[]): string[] {
    try { return rewriteNasmForms(lines).map(normalizeNumbers); }
    catch (err) { if (err instanceof NasmFormError) throw new AssemblyError(err.line, err.text, err.reason); throw err; }
  }

  /**
   * Assembles `source` and says where each source line's bytes start: `starts[i]` is the offset
   * of line i+1 and `starts[lines]` the end. Keystone reports no per-line addresses, so a label of
   * our own goes before every line and a table of those labels after the code; a label emits no
   * bytes, so the code is the same, which is checked against a plain assembly.
   */
  assembleLines(source: string, opts: AssembleOptions = {}): { bytes: Uint8Array; starts: number[] } {
    const bytes = this.assemble(source, opts);
    const lines = this.cleanLines(source.replace(/\r\n/g, "\n").split("\n"));
    const mark = (i: number) => `__xenlab_line_${i}`;
    const unit = (opts.bits ?? 64) === 64 ? 8 : 4;
    const marked = [
      ...lines.flatMap((l, i) => [`${mark(i)}:`, l]),
      `${mark(lines.length)}:`,
      `${unit === 8 ? "dq" : "dd"} ${lines.map((_, i) => mark(i)).concat(mark(lines.length)).join(", ")}`,
    ].join("\n");
    const out = this.engine(opts.bits ?? 64).asm(marked, { address: opts.address ?? 0 });
    const base = BigInt.asUintN(64, BigInt(opts.address ?? 0));
    const table = new DataView(out.buffer, out.byteOffset + bytes.length, (lines.length + 1) * unit);
    const starts = Array.from({ length: lines.length + 1 }, (_, i) =>
      Number((unit === 8 ? table.getBigUint64(i * 8, true) : BigInt(table.getUint32(i * 4, true))) - base));
    if (out.length !== bytes.length + table.byteLength || starts[lines.length] !== bytes.length || !out.subarray(0, bytes.length).every((b, i) => b === bytes[i])) {
      throw new MachineError("keystone placed the code differently once line labels were added; no per-line listing");
    }
    return { bytes, starts };
  }

  /**
   * Assembles `source` for `address` and writes it into guest-physical memory at `gpa` (what a
   * `%%asm` cell does). Returns the bytes written.
   */
  assembleInto(g: GuestPhysical, gpa: number, source: string, opts: AssembleOptions = {}): Uint8Array {
    const bytes = this.assemble(source, { ...opts, address: opts.address ?? gpa });
    g.write(gpa, bytes);
    return bytes;
  }

  close(): void {
    for (const e of this.engines.values()) e.close();
    this.engines.clear();
  }
}

/** Convenience: assemble once (loads keystone on first use). */
export async function assemble(source: string, opts: AssembleOptions = {}): Promise<Uint8Array> {
  const a = await Assembler.load();
  if (!a) throw new MachineError("keystone failed to load");
  return a.assemble(source, opts);
}
