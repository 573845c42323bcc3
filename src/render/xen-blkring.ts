/**
 * A blkif ring as the backend sees it: the four shared indices and the backend's private two, each
 * of the 32 slots with what is there now (a request posted and not yet taken, one in flight with
 * its grants mapped, a response published), the in-flight requests with their segments and the
 * GTF flags Xen shows on the guest's grant entries, and the last answers.
 */
import { BLKIF_OP_NAMES, BLKIF_RING_SIZE, BLKIF_SECTOR, XENBUS_STATE_NAMES } from "../xen/blkback/abi";
import type { Vbd } from "../xen/blkback/vbd";
import type { BlkifRequest } from "../xen/blkback/ring";
import { gtfFlags } from "./xen-gnttab";
import { MimeBundle, escapeXml } from "./mime";

export type { SlotState, RingSlot, RingSnapshot } from "../xen/blkback/ring-snapshot";
import { ringSnapshot, sectorsOf, SlotState } from "../xen/blkback/ring-snapshot";
import { svgOpen } from "./svg";

const COLOURS: Record<SlotState, string> = {
  empty: "none", posted: "#e0a030", "in flight": "#d04a4a", answered: "#4a9a5a", "done (unpublished)": "#8a8acf",
};

function describe(r: BlkifRequest): string {
  return `${BLKIF_OP_NAMES[r.operation] ?? `op ${r.operation}`} id ${r.id} sector ${r.sector} (${sectorsOf(r)} × ${BLKIF_SECTOR} B)`;
}

const STATUS: Record<number, string> = { 0: "OKAY", [-1]: "ERROR", [-2]: "EOPNOTSUPP" };

export function renderBlkRing(v: Vbd): MimeBundle {
  const head = `vbd ${v.disk.vdev} (${v.devid}) of d${v.domid} ${v.domain.name}: backend ${v.stateName}, frontend ${XENBUS_STATE_NAMES[v.frontendState] ?? "?"}; ${v.disk.type} ${v.disk.params} ${v.readOnly ? "ro" : "rw"}, ${v.sectors} sectors`;
  const lines = [head];
  const snap = ringSnapshot(v);
  const st = v.stats;
  const statLine = `requests ${st.requests} (read ${st.reads}, write ${st.writes}, flush ${st.flushes}), errors ${st.errors}, unsupported ${st.unsupported}; kicks in ${st.kicks}, notifies out ${st.notifies}; ${st.bytesRead} B read, ${st.bytesWritten} B written`;
  if (!snap) {
    lines.push(v.removed ? "(removed: both ends closed, image closed)" : "(no ring: the frontend has not connected)", statLine);
    if (v.lastError) lines.push(`last error: ${v.lastError}`);
    return { "text/plain": lines.join("\n") };
  }
  lines.push(`ring-ref ${v.ringRef}, event channel d${v.domid}:${v.frontendPort} ↔ d0:${v.port}, ${v.autoServe ? "serving on notify" : "stepped by hand"}${v.pendingKick ? " (kick pending)" : ""}`);
  lines.push(`shared: req_prod ${snap.reqProd} req_event ${snap.reqEvent} rsp_prod ${snap.rspProd} rsp_event ${snap.rspEvent}; backend: req_cons ${snap.reqCons} rsp_prod_pvt ${snap.rspProdPvt}`);
  lines.push(`slots: ${snap.slots.map((s) => ({ empty: ".", posted: "P", "in flight": "F", answered: "A", "done (unpublished)": "d" })[s.state]).join("")}  (P posted, F in flight, A answered, d done unpublished, . empty)`);
  const grantRows: string[] = [];
  for (const f of v.inflight) {
    lines.push(`  in flight [${f.req.index}] ${describe(f.req)}${f.status !== undefined ? ` → will answer ${STATUS[f.status] ?? f.status}: ${f.why}` : ""}`);
    f.req.segments.forEach((g, i) => {
      const e = v.domain.gnttab.entry(g.gref);
      const flags = e ? `0x${e.flags.toString(16)} ${gtfFlags(e.flags)}` : "beyond the table";
      lines.push(`    seg ${i}: gref ${g.gref} sectors ${g.firstSect}..${g.lastSect}, grant ${flags}${f.mappings[i] ? ` mapped ${f.mappings[i]!.writable ? "rw" : "ro"} (mfn 0x${f.mappings[i]!.mfn.toString(16)})` : ""}`);
      grantRows.push(`<tr><td>${f.req.index}</td><td>${i}</td><td>${g.gref}</td><td>${g.firstSect}..${g.lastSect}</td><td>${escapeXml(flags)}</td></tr>`);
    });
  }
  for (const r of v.recent.slice(-5)) lines.push(`  answered [${r.req.index}] ${describe(r.req)} → ${STATUS[r.status] ?? r.status}${r.why ? ` (${r.why})` : ""}`);
  lines.push(statLine);
  if (v.lastError) lines.push(`last error: ${v.lastError}`);

  // SVG: the ring as 32 cells in a row, with the indices pointing at their slots.
  const W = 20, X0 = 10, Y0 = 40, n = BLKIF_RING_SIZE;
  const mask = (i: number) => i & (n - 1);
  let svg = `${svgOpen({ width: X0 * 2 + n * W, height: 165, fontFamily: "monospace", fontSize: 10 })}`;
  for (const s of snap.slots) {
    const x = X0 + s.slot * W;
    svg += `<rect x="${x}" y="${Y0}" width="${W - 2}" height="30" fill="${COLOURS[s.state]}" stroke="currentColor" stroke-width="0.5"><title>${escapeXml(`slot ${s.slot}${s.index !== undefined ? ` index ${s.index}` : ""}: ${s.state}${s.op ? ` ${s.op} id ${s.id} sector ${s.sector} ×${s.sectors}` : ""}`)}</title></rect>`;
    svg += `<text x="${x + 2}" y="${Y0 + 45}" fill="currentColor" font-size="8">${s.slot}</text>`;
    if (s.op) svg += `<text x="${x + 5}" y="${Y0 + 19}" fill="#fff" font-size="10">${escapeXml(s.op[0]!)}</text>`;
  }
  const marks: [string, number, number][] = [
    ["req_prod", snap.reqProd, 0], ["req_cons", snap.reqCons, 1], ["rsp_prod", snap.rspProd, 2], ["rsp_pvt", snap.rspProdPvt, 3],
  ];
  for (const [name, idx, row] of marks) {
    const x = X0 + mask(idx) * W + 2;
    const y = row < 2 ? 12 + row * 12 : Y0 + 60 + (row - 2) * 12;
    svg += `<text x="${x}" y="${y}" fill="currentColor">${name}=${idx}</text>`;
    svg += `<line x1="${x}" y1="${row < 2 ? y + 2 : y - 9}" x2="${x}" y2="${row < 2 ? Y0 : Y0 + 30}" stroke="currentColor" stroke-width="0.7"/>`;
  }
  svg += `<text x="${X0}" y="${Y0 + 97}" fill="currentColor">${escapeXml(`req_event ${snap.reqEvent}  rsp_event ${snap.rspEvent}`)}</text>`;
  let lx = X0;
  for (const st of ["posted", "in flight", "answered", "done (unpublished)"] as SlotState[]) {
    svg += `<rect x="${lx}" y="${Y0 + 108}" width="10" height="10" fill="${COLOURS[st]}" stroke="currentColor" stroke-width="0.5"/><text x="${lx + 14}" y="${Y0 + 117}" fill="currentColor">${escapeXml(st)}</text>`;
    lx += 24 + st.length * 6.2;
  }
  svg += `</svg>`;
  const table = grantRows.length ? `<table style="font-family:monospace;font-size:12px"><tr><th>index</th><th>seg</th><th>gref</th><th>sectors</th><th>guest grant entry</th></tr>${grantRows.join("")}</table>` : "";
  const html = `<div><pre>${escapeXml(head)}</pre>${svg}${table}<pre>${escapeXml(statLine)}</pre></div>`;
  return { "text/plain": lines.join("\n"), "image/svg+xml": svg, "text/html": html };
}
