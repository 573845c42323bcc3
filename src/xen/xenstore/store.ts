/**
 * The XenStore database as xenstored keeps it (docs/misc/xenstore.txt): a tree of nodes with
 * byte-string values and permissions, watches, and transactions that fail with EAGAIN when
 * something they read or wrote changed underneath them.
 */
import { XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX } from "../abi";

/** The error names xenstored returns (xs_wire.h xsd_errors). */
export type XsErrno = "EINVAL" | "EACCES" | "EEXIST" | "EISDIR" | "ENOENT" | "ENOMEM" | "ENOSPC" | "EIO" | "ENOTEMPTY" | "ENOSYS" | "EROFS" | "EBUSY" | "EAGAIN" | "EISCONN" | "E2BIG" | "EPERM";

export class XsError extends Error {
  constructor(readonly errno: XsErrno, message?: string) {
    super(message ? `${errno}: ${message}` : errno);
    this.name = "XsError";
  }
}

/** One permission: n (none), r, w, b (both), for a domain; the first entry is the owner. */
export interface XsPerm {
  perm: "n" | "r" | "w" | "b";
  id: number;
}

export function formatPerm(p: XsPerm): string {
  return `${p.perm}${p.id}`;
}

export function parsePerm(s: string): XsPerm {
  const m = /^([nrwb])(\d+)$/.exec(s);
  if (!m) throw new XsError("EINVAL", `bad permission ${JSON.stringify(s)}`);
  return { perm: m[1] as XsPerm["perm"], id: Number(m[2]) };
}

export interface XsNode {
  value: string;
  perms: XsPerm[];
  children: Map<string, XsNode>;
}

export interface XsWatch {
  /** The connection (domain id) that set it; -1 for host listeners. */
  conn: number;
  path: string;
  token: string;
  /** Absolute form of `path` (or the special @name). */
  abs: string;
  deliver: (eventPath: string, token: string) => void;
}

interface Transaction {
  id: number;
  conn: number;
  root: XsNode;
  startGen: number;
  accessed: Set<string>;
  ops: ((s: XenStore) => void)[];
}

const clone = (n: XsNode): XsNode => ({ value: n.value, perms: n.perms.map((p) => ({ ...p })), children: new Map([...n.children].map(([k, v]) => [k, clone(v)])) });

export class XenStore {
  private root: XsNode = { value: "", perms: [{ perm: "n", id: 0 }], children: new Map() };
  private gen = 0;
  private readonly lastChange = new Map<string, number>();
  private readonly txs = new Map<number, Transaction>();
  private nextTx = 1;
  readonly watches: XsWatch[] = [];
  /** Requests served, for views and benchmarks. */
  requests = 0;

  constructor() {
    this.mkdirs("/local/domain", 0);
    this.mkdirs("/vm", 0);
    this.mkdirs("/tool", 0);
  }

  // ---- paths and permissions ---------------------------------------------------------------

  /** Absolute path for a connection (relative paths are under /local/domain/<domid>). */
  static absolute(path: string, conn: number): string {
    if (path.startsWith("@")) return path;
    const abs = path.startsWith("/") ? path : `/local/domain/${conn}/${path}`;
    return abs;
  }

  private checkPath(path: string, conn: number): string {
    if (path.length === 0) throw new XsError("EINVAL", "empty path");
    if (!path.startsWith("/") && path.length > XENSTORE_REL_PATH_MAX) throw new XsError("E2BIG", "relative path too long");
    const abs = XenStore.absolute(path, conn);
    if (abs.length > XENSTORE_ABS_PATH_MAX) throw new XsError("E2BIG", "path too long");
    if (abs !== "/" && (abs.endsWith("/") || abs.includes("//"))) throw new XsError("EINVAL", `bad path ${JSON.stringify(path)}`);
    if (!/^[A-Za-z0-9\-/_@]*$/.test(abs)) throw new XsError("EINVAL", `bad characters in ${JSON.stringify(path)}`);
    return abs;
  }

  private static parts(abs: string): string[] {
    return abs === "/" ? [] : abs.slice(1).split("/");
  }

  private lookup(root: XsNode, abs: string): XsNode | undefined {
    let n: XsNode | undefined = root;
    for (const p of XenStore.parts(abs)) {
      n = n.children.get(p);
      if (!n) return undefined;
    }
    return n;
  }

  /** The permission a domain has on a node (xenstored perm_for_conn): owner and dom0 have all. */
  static permFor(node: XsNode, conn: number): XsPerm["perm"] {
    if (conn === 0 || node.perms[0]!.id === conn) return "b";
    for (const p of node.perms.slice(1)) if (p.id === conn) return p.perm;
    return node.perms[0]!.perm;
  }

  private canRead(n: XsNode, conn: number): boolean { const p = XenStore.permFor(n, conn); return p === "r" || p === "b"; }
  private canWrite(n: XsNode, conn: number): boolean { const p = XenStore.permFor(n, conn); return p === "w" || p === "b"; }

  private tx(txid: number, conn: number): Transaction | undefined {
    if (txid === 0) return undefined;
    const t = this.txs.get(txid);
    if (!t || t.conn !== conn) throw new XsError("ENOENT", `no transaction ${txid}`);
    return t;
  }

  private touch(abs: string): void {
    this.gen++;
    this.lastChange.set(abs, this.gen);
  }

  // ---- operations (conn = requesting domain; txid 0 = none) --------------------------------

  read(path: string, conn = 0, txid = 0): string {
    const n = this.readable(path, conn, txid);
    return n.value;
  }

  /** The node at `path` as `conn` sees it (in its transaction), if it exists and may be read. */
  private readable(path: string, conn: number, txid: number): XsNode {
    const abs = this.checkPath(path, conn);
    const t = this.tx(txid, conn);
    t?.accessed.add(abs);
    const n = this.lookup(t ? t.root : this.root, abs);
    if (!n) throw new XsError("ENOENT", abs);
    if (!this.canRead(n, conn)) throw new XsError("EACCES", abs);
    return n;
  }

  exists(path: string, conn = 0): boolean {
    try { this.read(path, conn); return true; } catch { return false; }
  }

  directory(path: string, conn = 0, txid = 0): string[] {
    const n = this.readable(path, conn, txid);
    return [...n.children.keys()];
  }

  getPerms(path: string, conn = 0, txid = 0): XsPerm[] {
    const n = this.readable(path, conn, txid);
    return n.perms.map((p) => ({ ...p }));
  }

  /** Creates missing parents (inheriting their parent's permissions, owned by the creator). */
  private ensure(root: XsNode, abs: string, conn: number, created: string[]): XsNode {
    let n = root;
    let path = "";
    for (const p of XenStore.parts(abs)) {
      path += "/" + p;
      let c = n.children.get(p);
      if (!c) {
        if (!this.canWrite(n, conn)) throw new XsError("EACCES", path);
        const perms = n.perms.map((x) => ({ ...x }));
        if (conn !== 0) perms[0] = { perm: perms[0]!.perm, id: conn };
        c = { value: "", perms, children: new Map() };
        n.children.set(p, c);
        created.push(path);
      }
      n = c;
    }
    return n;
  }

  write(path: string, value: string, conn = 0, txid = 0): void {
    const abs = this.checkPath(path, conn);
    if (abs.startsWith("@")) throw new XsError("EINVAL", "cannot write a special path");
    const t = this.tx(txid, conn);
    if (t) {
      t.accessed.add(abs);
      t.accessed.add(parentOf(abs));
      const existing = this.lookup(t.root, abs);
      if (existing && !this.canWrite(existing, conn)) throw new XsError("EACCES", abs);
      this.ensure(t.root, abs, conn, []).value = value;
      t.ops.push((s) => s.write(abs, value, conn));
      return;
    }
    const existing = this.lookup(this.root, abs);
    if (existing && !this.canWrite(existing, conn)) throw new XsError("EACCES", abs);
    const created: string[] = [];
    this.ensure(this.root, abs, conn, created).value = value;
    for (const c of created) this.touch(parentOf(c));
    this.touch(abs);
    this.fire(abs, false);
  }

  mkdir(path: string, conn = 0, txid = 0): void {
    const abs = this.checkPath(path, conn);
    const t = this.tx(txid, conn);
    if (t) {
      t.accessed.add(abs);
      t.accessed.add(parentOf(abs));
      this.ensure(t.root, abs, conn, []);
      t.ops.push((s) => s.mkdir(abs, conn));
      return;
    }
    if (this.lookup(this.root, abs)) return;
    const created: string[] = [];
    this.ensure(this.root, abs, conn, created);
    for (const c of created) { this.touch(c); this.touch(parentOf(c)); }
    this.fire(abs, false);
  }

  /** Creates a directory tree as dom0 without firing watches (toolstack set-up). */
  mkdirs(path: string, owner: number): void {
    this.ensure(this.root, path, 0, []).perms[0]!.id = owner;
  }

  rm(path: string, conn = 0, txid = 0): void {
    const abs = this.checkPath(path, conn);
    if (abs === "/") throw new XsError("EINVAL", "cannot remove /");
    const t = this.tx(txid, conn);
    const root = t ? t.root : this.root;
    const parent = this.lookup(root, parentOf(abs));
    const n = this.lookup(root, abs);
    if (!n || !parent) {
      // xenstored: removing a missing node whose parent exists succeeds.
      if (parent) return;
      throw new XsError("ENOENT", abs);
    }
    if (!this.canWrite(n, conn)) throw new XsError("EACCES", abs);
    parent.children.delete(abs.slice(abs.lastIndexOf("/") + 1));
    if (t) {
      t.accessed.add(abs);
      t.accessed.add(parentOf(abs));
      t.ops.push((s) => s.rm(abs, conn));
      return;
    }
    this.touch(abs);
    this.touch(parentOf(abs));
    for (const k of [...this.lastChange.keys()]) if (k.startsWith(abs + "/")) this.touch(k);
    this.fire(abs, true);
  }

  setPerms(path: string, perms: XsPerm[], conn = 0, txid = 0): void {
    const abs = this.checkPath(path, conn);
    if (perms.length === 0) throw new XsError("EINVAL", "no permissions");
    const t = this.tx(txid, conn);
    const n = this.lookup(t ? t.root : this.root, abs);
    if (!n) throw new XsError("ENOENT", abs);
    // Only the owner (or dom0) may change permissions (xenstored do_set_perms).
    if (conn !== 0 && n.perms[0]!.id !== conn) throw new XsError("EACCES", abs);
    n.perms = perms.map((p) => ({ ...p }));
    if (t) { t.accessed.add(abs); t.ops.push((s) => s.setPerms(abs, perms, conn)); return; }
    this.touch(abs);
    this.fire(abs, false);
  }

  // ---- transactions ------------------------------------------------------------------------

  transactionStart(conn = 0): number {
    const id = this.nextTx++;
    this.txs.set(id, { id, conn, root: clone(this.root), startGen: this.gen, accessed: new Set(), ops: [] });
    return id;
  }

  /** Ends a transaction; commit fails with EAGAIN if anything it touched changed meanwhile. */
  transactionEnd(txid: number, commit: boolean, conn = 0): void {
    const t = this.tx(txid, conn);
    if (!t) throw new XsError("EINVAL", "no transaction given");
    this.txs.delete(txid);
    if (!commit) return;
    for (const p of t.accessed) if ((this.lastChange.get(p) ?? 0) > t.startGen) throw new XsError("EAGAIN", `${p} changed during the transaction`);
    for (const op of t.ops) op(this);
  }

  get openTransactions(): number {
    return this.txs.size;
  }

  // ---- watches -----------------------------------------------------------------------------

  /** Adds a watch; like xenstored it fires once immediately. */
  watch(path: string, token: string, conn: number, deliver: XsWatch["deliver"]): XsWatch {
    const abs = path.startsWith("@") ? path : this.checkPath(path, conn);
    if (this.watches.some((w) => w.conn === conn && w.path === path && w.token === token && conn >= 0)) throw new XsError("EEXIST", "watch already set");
    const w: XsWatch = { conn, path, token, abs, deliver };
    this.watches.push(w);
    deliver(path, token);
    return w;
  }

  unwatch(path: string, token: string, conn: number): void {
    const i = this.watches.findIndex((w) => w.conn === conn && w.path === path && w.token === token);
    if (i < 0) throw new XsError("ENOENT", "no such watch");
    this.watches.splice(i, 1);
  }

  removeWatchesOf(conn: number): void {
    for (let i = this.watches.length - 1; i >= 0; i--) if (this.watches[i]!.conn === conn) this.watches.splice(i, 1);
  }

  /** Fires watches for a change at `abs` (or special events @introduceDomain/@releaseDomain). */
  fire(abs: string, recursive: boolean): void {
    for (const w of [...this.watches]) {
      let eventAbs: string | undefined;
      if (abs.startsWith("@")) { if (w.abs === abs) eventAbs = abs; }
      else if (w.abs === abs || abs.startsWith(w.abs === "/" ? "/" : w.abs + "/")) eventAbs = abs;
      else if (recursive && w.abs.startsWith(abs + "/")) eventAbs = w.abs;
      if (eventAbs === undefined) continue;
      // xenstored only tells a domain about nodes it may read (watch_permitted); a removed node
      // is judged by its parent.
      if (w.conn > 0 && !eventAbs.startsWith("@")) {
        const n = this.lookup(this.root, eventAbs) ?? this.lookup(this.root, parentOf(eventAbs));
        if (n && !this.canRead(n, w.conn)) continue;
      }
      // Relative watches get relative event paths (xenstored get_watch_path).
      const prefix = `/local/domain/${w.conn}/`;
      const shown = !w.path.startsWith("/") && !w.path.startsWith("@") && eventAbs.startsWith(prefix) ? eventAbs.slice(prefix.length) : eventAbs;
      w.deliver(shown, w.token);
    }
  }

  // ---- views -------------------------------------------------------------------------------

  /** Walks the tree (depth first) from `path`. */
  walk(path = "/", visit: (path: string, node: XsNode, depth: number) => void): void {
    const start = this.lookup(this.root, path);
    if (!start) throw new XsError("ENOENT", path);
    const go = (p: string, n: XsNode, d: number) => {
      visit(p, n, d);
      for (const [k, c] of n.children) go(p === "/" ? `/${k}` : `${p}/${k}`, c, d + 1);
    };
    go(path, start, 0);
  }

  /** `xenstore-ls -f`-style listing: `path = "value"` lines. */
  list(path = "/"): string[] {
    const out: string[] = [];
    this.walk(path, (p, n) => { if (p !== "/") out.push(`${p} = "${escapeValue(n.value)}"`); });
    return out;
  }

  get nodeCount(): number {
    let n = 0;
    this.walk("/", () => n++);
    return n;
  }
}

export function parentOf(abs: string): string {
  const i = abs.lastIndexOf("/");
  return i <= 0 ? "/" : abs.slice(0, i);
}

/** xenstore-ls escapes non-printable bytes as \xNN (tools/xenstore/xenstore_client.c sanitise_value). */
export function escapeValue(v: string): string {
  let s = "";
  for (const ch of v) {
    const c = ch.charCodeAt(0);
    if (ch === "\\") s += "\\\\";
    else if (c >= 0x20 && c < 0x7f) s += ch;
    else s += "\\x" + c.toString(16).padStart(2, "0");
  }
  return s;
}
