/**
 * The listing of an assembled source, line by line as `nasm -l` gives it: each line's address and
 * bytes, labels as labels, data directives as data (never disassembled as if they were code), and
 * branch targets named by the source's own labels.
 */
import { disassemble, symbolizerFrom } from "./disasm";

export interface ListedLine {
  /** 1-based line of the source. */
  line: number;
  address: bigint;
  bytes: Uint8Array;
  /** What the bytes are: the instruction as iced-x86 reads them, or the data line as written. */
  text: string;
  kind: "code" | "data";
  /** The label this line defines, if any. */
  label?: string;
}

const LABEL = /^\s*([A-Za-z_.][\w.]*)\s*:/;
const DATA = /^\s*(?:[A-Za-z_.][\w.]*\s*:)?\s*(?:times\s+\S+\s+)?(db|dw|dd|dq|resb|resw|resd|resq)\b/i;

/** Strips a `;` comment outside quotes. */
function code(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) { if (ch === quote) quote = ""; }
    else if (ch === "'" || ch === '"' || ch === "`") quote = ch;
    else if (ch === ";") return line.slice(0, i);
  }
  return line;
}

/**
 * Lists `bytes` (assembled from `source` at `address`, line i+1 starting at offset `starts[i]`).
 * Local labels are shown under their parent's name (`parent.x`), as NASM scopes them.
 */
export function listAssembly(source: string, bytes: Uint8Array, starts: readonly number[], address: bigint, bits: 32 | 64): ListedLine[] {
  const lines = source.replace(/\r\n/g, "\n").split("\n");
  const labels = new Map<string, bigint>();
  let parent = "";
  const named = lines.map((l, i) => {
    const m = LABEL.exec(code(l));
    if (!m) return undefined;
    const name = m[1]!.startsWith(".") ? `${parent}${m[1]}` : (parent = m[1]!);
    labels.set(name, address + BigInt(starts[i]!));
    return name;
  });
  const symbols = labels.size ? symbolizerFrom(labels) : undefined;
  const out: ListedLine[] = [];
  lines.forEach((src, i) => {
    const from = starts[i]!, to = starts[i + 1]!;
    const at = address + BigInt(from);
    const label = named[i];
    if (to <= from) {
      if (label) out.push({ line: i + 1, address: at, bytes: new Uint8Array(), text: "", kind: "code", label });
      return;
    }
    const own = bytes.subarray(from, to);
    if (DATA.test(code(src))) {
      out.push({ line: i + 1, address: at, bytes: own, text: code(src).replace(LABEL, "").trim(), kind: "data", label });
      return;
    }
    disassemble(own, at, bits, { symbols }).forEach((d, k) => {
      out.push({ line: i + 1, address: d.address, bytes: d.bytes, text: d.text, kind: "code", label: k === 0 ? label : undefined });
    });
  });
  return out;
}
