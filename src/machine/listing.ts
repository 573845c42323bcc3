/**
 * A disassembly listing as data and as text: lines with their bytes and symbols, the current
 * instruction marked `=>`. The text form is the model's own (Vcpu.disassembleAround prints it);
 * the HTML table is src/render/disasm's, found through the MIME registry.
 */
import { display, type MimeBundle } from "../mime";

export interface ListingLine {
  address: bigint;
  bytes: Uint8Array;
  text: string;
  where?: string;
}

export function listingText(lines: readonly ListingLine[], current?: bigint): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (l.where && !l.where.includes("+")) out.push(`${l.where}:`);
    if (!l.bytes.length && !l.text) continue; // a label on a line of its own
    const hex = [...l.bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    out.push(`${l.address === current ? "=>" : "  "} ${l.address.toString(16).padStart(16, "0")}  ${hex.padEnd(24)} ${l.text}`);
  }
  return out;
}

/** A titled listing (a vCPU's code at RIP, an assembled cell); shows itself as text and HTML. */
export class Listing {
  constructor(readonly lines: readonly ListingLine[], readonly current: bigint | undefined, readonly title: string) {}

  text(): string[] {
    return listingText(this.lines, this.current);
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}
