/** The hypercall trace: time, domain/vCPU, hypercall, arguments, result (errno names for errors). */
import { XEN_ERRNO } from "../xen/abi";
import type { TraceRecord } from "../xen/host";
import { MimeBundle, escapeXml } from "./mime";

const ERRNO_NAME: Record<number, string> = Object.fromEntries(Object.entries(XEN_ERRNO).map(([k, v]) => [-v, k]));

export function formatResult(r: bigint): string {
  const n = Number(BigInt.asIntN(64, r));
  if (n < 0 && ERRNO_NAME[n]) return `-${ERRNO_NAME[n]}`;
  return n >= 0 && n < 1e6 ? String(n) : `0x${BigInt.asUintN(64, r).toString(16)}`;
}

export class HypercallTraceView {
  constructor(readonly records: readonly TraceRecord[]) {}
  toMimeBundle(): MimeBundle {
    const rows = this.records.map((r) => {
      const args = r.args.slice(0, 3).map((a) => (a < 4096n ? a.toString() : `0x${a.toString(16)}`)).join(", ");
      return { t: `${(r.t / 1e6).toFixed(6)} ms`, who: `d${r.dom}v${r.vcpu}`, call: `${r.name}(${args})`, res: formatResult(r.result) };
    });
    const text = rows.map((r) => `${r.t.padStart(16)}  ${r.who.padEnd(6)} ${r.call.padEnd(48)} = ${r.res}`).join("\n") || "(no hypercalls traced)";
    const html = `<table style="font-family:monospace;font-size:12px"><tr><th>time</th><th>vCPU</th><th>hypercall</th><th>result</th></tr>${rows.map((r) => `<tr><td>${r.t}</td><td>${r.who}</td><td>${escapeXml(r.call)}</td><td${r.res.startsWith("-E") ? ' style="color:#c62828"' : ""}>${r.res}</td></tr>`).join("")}</table>`;
    return { "text/plain": text, "text/html": html };
  }
}
