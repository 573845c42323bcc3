/** XenStore views: `xenstore-ls -f` text and a collapsible HTML tree with permissions. */
import type { XenStore } from "../xen/xenstore/store";
import { escapeValue } from "../xen/xenstore/store";
import { MimeBundle, escapeXml } from "./mime";

export class XenstoreTreeView {
  constructor(readonly store: XenStore, readonly path: string) {}
  toMimeBundle(): MimeBundle {
    const lines = this.store.list(this.path);
    const text = lines.length > 400 ? [...lines.slice(0, 400), `... ${lines.length - 400} more nodes`].join("\n") : lines.join("\n");
    let html = `<div style="font-family:monospace;font-size:12px">`;
    let shown = 0;
    const rows: string[] = [];
    this.store.walk(this.path, (p, n, depth) => {
      if (shown++ > 400) return;
      const name = p === "/" ? "/" : p.slice(p.lastIndexOf("/") + 1);
      const perms = n.perms.map((x) => `${x.perm}${x.id}`).join(",");
      rows.push(`<div style="padding-left:${depth * 14}px">${escapeXml(name)}${n.value ? ` = <span style="color:#1565c0">"${escapeXml(escapeValue(n.value))}"</span>` : ""} <span style="color:#999">(${perms})</span></div>`);
    });
    html += rows.join("") + "</div>";
    return { "text/plain": text, "text/html": html };
  }
}

export function renderXenstoreTree(store: XenStore, path: string): XenstoreTreeView {
  return new XenstoreTreeView(store, path);
}
