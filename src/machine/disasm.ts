/**
 * Disassembly in NASM syntax with iced-x86's formatter, with symbols: a line `name:` where a
 * symbol starts, and `; name+off` after branch targets and RIP-relative operands.
 */
import * as iced from "iced-x86";

export interface DisasmLine {
  address: bigint;
  bytes: Uint8Array;
  text: string;
  /** Symbol containing the address (`name+0x..`), if any. */
  where?: string;
}

export type Symbolizer = (address: bigint) => string | undefined;

/** Builds a symbolizer from name → address pairs (nearest symbol at or below the address). */
export function symbolizerFrom(symbols: Map<string, number | bigint>): Symbolizer {
  const sorted = [...symbols.entries()].map(([n, a]) => [n, BigInt.asUintN(64, BigInt(a))] as const).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return (addr) => {
    let lo = 0, hi = sorted.length - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]![1] <= addr) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (best < 0) return undefined;
    const [name, a] = sorted[best]!;
    const off = addr - a;
    if (off > 0x10000n) return undefined;
    return off ? `${name}+0x${off.toString(16)}` : name;
  };
}

let formatter: iced.Formatter | undefined;
function fmt(): iced.Formatter {
  if (!formatter) {
    formatter = new iced.Formatter(iced.FormatterSyntax.Nasm);
    formatter.spaceAfterOperandSeparator = true;
    formatter.hexPrefix = "0x";
    formatter.hexSuffix = "";
    formatter.uppercaseHex = false;
    formatter.branchLeadingZeros = false;
  }
  return formatter;
}

/** Disassembles up to `count` instructions of `bytes` placed at `address`. */
export function disassemble(bytes: Uint8Array, address: number | bigint, bits: 16 | 32 | 64 = 64, opts: { count?: number; symbols?: Symbolizer } = {}): DisasmLine[] {
  const dec = new iced.Decoder(bits, bytes, iced.DecoderOptions.None);
  dec.ip = BigInt.asUintN(64, BigInt(address));
  const ins = new iced.Instruction();
  const out: DisasmLine[] = [];
  const f = fmt();
  try {
    while (dec.canDecode && out.length < (opts.count ?? Infinity)) {
      const start = Number(dec.position);
      dec.decodeOut(ins);
      let text = ins.code === iced.Code.INVALID ? "(bad)" : f.format(ins);
      if (opts.symbols) {
        let ref: bigint | undefined;
        const k = ins.op0Kind;
        if (k === iced.OpKind.NearBranch64) ref = ins.nearBranch64;
        else if (k === iced.OpKind.NearBranch32) ref = BigInt(ins.nearBranch32);
        else if (ins.isIpRelMemoryOperand) ref = ins.ipRelMemoryAddress;
        const s = ref !== undefined ? opts.symbols(ref) : undefined;
        if (s) text += ` ; ${s}`;
      }
      out.push({ address: ins.ip, bytes: bytes.slice(start, start + ins.length), text, where: opts.symbols?.(ins.ip) });
    }
  } finally {
    ins.free();
    dec.free();
  }
  return out;
}
