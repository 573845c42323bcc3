/** %xenstore: the XenStore tree as dom0 sees it (xenstore-ls/read/write/rm/chmod/watch). */
import { Magic, UsageError, splitArgs } from "./magic";
import { currentHost, parsePerm } from "../xen";
import { renderXenstoreTree } from "../render/xen-xenstore";

class Text {
  constructor(readonly text: string) {}
  toMimeBundle() { return { "text/plain": this.text }; }
}

export const xenstoreMagic: Magic = {
  name: "xenstore",
  kind: "line",
  summary: "XenStore as dom0: %xenstore ls [PATH], read, write, rm, perms, chmod, watches.",
  help: [
    "%xenstore ls [PATH]            tree view (xenstore-ls -f style text + HTML)",
    "%xenstore read PATH            xenstore-read",
    "%xenstore write PATH VALUE     xenstore-write",
    "%xenstore rm PATH              xenstore-rm",
    "%xenstore perms PATH           permissions (first = owner)",
    "%xenstore chmod PATH PERM...   e.g. n1 r2",
    "%xenstore watches              the watches set by domains",
  ].join("\n"),
  run(args) {
    const host = currentHost();
    const xs = host.xenstore;
    const [cmd, ...rest] = splitArgs(args);
    try {
      switch (cmd) {
        case undefined:
        case "ls": return renderXenstoreTree(xs, rest[0] ?? "/");
        case "read": if (!rest[0]) throw new UsageError("%xenstore read PATH"); return new Text(xs.read(rest[0]));
        case "write": if (rest.length !== 2) throw new UsageError("%xenstore write PATH VALUE"); xs.write(rest[0]!, rest[1]!); return undefined;
        case "rm": if (!rest[0]) throw new UsageError("%xenstore rm PATH"); xs.rm(rest[0]); return undefined;
        case "perms": if (!rest[0]) throw new UsageError("%xenstore perms PATH"); return new Text(xs.getPerms(rest[0]).map((p) => `${p.perm}${p.id}`).join(" "));
        case "chmod": if (rest.length < 2) throw new UsageError("%xenstore chmod PATH PERM..."); xs.setPerms(rest[0]!, rest.slice(1).map(parsePerm)); return undefined;
        case "watches": return new Text(xs.watches.map((w) => `${w.conn < 0 ? "host" : `d${w.conn}`} ${w.path} ${w.token}`).join("\n") || "(no watches)");
        default: throw new UsageError(`unknown %xenstore command ${cmd}: use ls, read, write, rm, perms, chmod, watches`);
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      if (e instanceof Error && e.name === "XsError") throw new UsageError(`xenstore: ${e.message}`);
      throw e;
    }
  },
  complete(before) {
    const words = before.split(/\s+/);
    if (words.length <= 1) return ["ls", "read", "write", "rm", "perms", "chmod", "watches"].filter((c) => c.startsWith(words[0] ?? ""));
    const last = words[words.length - 1] ?? "";
    const dir = last.includes("/") ? last.slice(0, last.lastIndexOf("/")) || "/" : "/";
    try {
      return currentHost().xenstore.directory(dir).map((c) => (dir === "/" ? `/${c}` : `${dir}/${c}`)).filter((p) => p.startsWith(last));
    } catch {
      return [];
    }
  },
};
