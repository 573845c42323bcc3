/** XenStore semantics (docs/misc/xenstore.txt): permissions, watches, transactions, the wire format. */
import { describe, expect, it } from "vitest";
import { XenStore, XsError } from "../../src/xen/xenstore/store";
import { decodeMessages, encodeMessage, handleRequest, bytesOf, XsMessage } from "../../src/xen/xenstore/wire";
import { XS } from "../../src/xen/abi";
import { domId, type DomId, type Gfn } from "../../src/machine";
import type { Port } from "../../src/xen/types";
import { XEN_INCLUDES, runC } from "./headers";

function store(): XenStore {
  const s = new XenStore();
  s.mkdirs("/local/domain/1", 0);
  s.setPerms("/local/domain/1", [{ perm: "n", id: 0 }, { perm: "r", id: 1 }]);
  s.mkdir("/local/domain/1/data");
  s.setPerms("/local/domain/1/data", [{ perm: "n", id: 1 }]);
  return s;
}

describe("nodes and permissions", () => {
  it("relative paths are under /local/domain/<domid>; writes create parents owned by the writer", () => {
    const s = store();
    s.write("data/a/b", "v", 1);
    expect(s.read("/local/domain/1/data/a/b")).toBe("v");
    expect(s.getPerms("/local/domain/1/data/a")).toEqual([{ perm: "n", id: 1 }]);
    expect(s.directory("data", 1)).toEqual(["a"]);
  });

  it("the owner and dom0 have full access; others get the matching entry or the default", () => {
    const s = store();
    s.write("data/x", "1", 1);
    expect(() => s.read("/local/domain/1/data/x", 2)).toThrow(/EACCES/);
    s.setPerms("/local/domain/1/data/x", [{ perm: "n", id: 1 }, { perm: "r", id: 2 }], 1);
    expect(s.read("/local/domain/1/data/x", 2)).toBe("1");
    expect(() => s.write("/local/domain/1/data/x", "2", 2)).toThrow(/EACCES/);
    expect(() => s.setPerms("/local/domain/1/data/x", [{ perm: "b", id: 2 }], 2)).toThrow(/EACCES/);
    expect(s.read("/local/domain/1/data/x", 0)).toBe("1");
    expect(() => s.read("/local/domain/1/name", 2)).toThrow(XsError);
  });

  it("rm removes subtrees; missing nodes under an existing parent are fine, ENOENT otherwise", () => {
    const s = store();
    s.write("/a/b/c", "x");
    s.rm("/a/b");
    expect(s.exists("/a/b/c")).toBe(false);
    s.rm("/a/zzz");
    expect(() => s.rm("/nope/zzz")).toThrow(/ENOENT/);
  });
});

describe("watches", () => {
  it("fire once when set, then for changes at or below the path; relative watches get relative paths", () => {
    const s = store();
    const events: string[] = [];
    s.watch("data", "tok", 1, (p, t) => events.push(`${p}|${t}`));
    s.write("/local/domain/1/data/k", "v");
    s.write("/local/domain/1/other", "v");
    s.rm("/local/domain/1/data");
    expect(events).toEqual(["data|tok", "data/k|tok", "data|tok"]);
  });

  it("rm fires watches set below the removed node; @releaseDomain only by the host", () => {
    const s = store();
    s.write("/x/y/z", "1");
    const ev: string[] = [];
    s.watch("/x/y/z", "t", 0, (p) => ev.push(p));
    s.watch("@releaseDomain", "r", 0, (p) => ev.push(p));
    s.rm("/x");
    s.fire("@releaseDomain", false);
    expect(ev).toEqual(["/x/y/z", "@releaseDomain", "/x/y/z", "@releaseDomain"]);
  });
});

describe("watch permissions", () => {
  it("a domain hears only about nodes it may read (xenstored watch_permitted)", () => {
    const s = store();
    s.write("data/secret", "1", 1);
    const ev: string[] = [];
    s.watch("/local/domain/1/data/secret", "t", 2, (p) => ev.push(p));
    s.write("/local/domain/1/data/secret", "2", 1);
    expect(ev).toEqual(["/local/domain/1/data/secret"]); // only the initial event
    s.setPerms("/local/domain/1/data/secret", [{ perm: "n", id: 1 }, { perm: "r", id: 2 }], 1);
    s.write("/local/domain/1/data/secret", "3", 1);
    expect(ev.length).toBe(3); // the chmod and the write
  });
});

describe("transactions", () => {
  it("see their own writes, commit atomically, and fail with EAGAIN on conflict", () => {
    const s = store();
    s.write("/t/a", "0");
    const t = s.transactionStart(0);
    s.write("/t/a", "1", 0, t);
    expect(s.read("/t/a", 0, t)).toBe("1");
    expect(s.read("/t/a")).toBe("0");
    s.transactionEnd(t, true);
    expect(s.read("/t/a")).toBe("1");

    const t2 = s.transactionStart(0);
    expect(s.read("/t/a", 0, t2)).toBe("1");
    s.write("/t/b", "x", 0, t2);
    s.write("/t/a", "outside"); // someone else changes what t2 read
    expect(() => s.transactionEnd(t2, true)).toThrow(/EAGAIN/);
    expect(s.exists("/t/b")).toBe(false);

    const t3 = s.transactionStart(0);
    s.write("/t/c", "x", 0, t3);
    s.transactionEnd(t3, false);
    expect(s.exists("/t/c")).toBe(false);
  });
});

describe("xs_wire framing", () => {
  it("xsd_sockmsg header matches the C struct and enum values from xs_wire.h", () => {
    const m: XsMessage = { type: XS.WRITE, reqId: 7, txId: 3, payload: bytesOf("a\0b") };
    const bytes = encodeMessage(m);
    const c = runC(`${XEN_INCLUDES}
int main(void){ struct xsd_sockmsg h = { XS_WRITE, 7, 3, 3 }; unsigned char *p = (unsigned char *)&h;
for (int i = 0; i < sizeof h; i++) printf("%02x", p[i]); printf("\\n"); return 0; }`);
    expect(Buffer.from(bytes.subarray(0, 16)).toString("hex")).toBe(c.trim());
    const d = decodeMessages(new Uint8Array([...bytes, ...bytes.subarray(0, 10)]));
    expect(d.messages.length).toBe(1);
    expect(d.used).toBe(bytes.length);
  });

  it("requests get replies with their ids; errors are XS_ERROR with the errno name", () => {
    const s = store();
    const ask = (type: number, payload: string, tx = 0) => handleRequest(s, domId(1), { type, reqId: 9, txId: tx, payload: bytesOf(payload) }, () => {});
    expect(ask(XS.WRITE, "data/k\0val")).toMatchObject({ type: XS.WRITE, reqId: 9 });
    expect(Buffer.from(ask(XS.READ, "data/k\0").payload).toString()).toBe("val");
    const e = ask(XS.READ, "/local/domain/0/secret\0");
    expect(e.type).toBe(XS.ERROR);
    expect(Buffer.from(e.payload).toString()).toBe("ENOENT\0");
    expect(Buffer.from(ask(XS.DIRECTORY, "data\0").payload).toString()).toBe("k\0");
    expect(Buffer.from(ask(XS.GET_PERMS, "data/k\0").payload).toString()).toBe("n1\0");
    expect(Buffer.from(ask(XS.TRANSACTION_END, "X\0", 0).payload).toString()).toBe("EINVAL\0");
    expect(Buffer.from(ask(999, "").payload).toString()).toBe("ENOSYS\0");
  });

  it("domids, frames and ports on the wire are decimal numbers of their C types, or EINVAL", () => {
    const s = store();
    const introduced: [DomId, Gfn, Port][] = [];
    const hooks = { introduce: (d: DomId, g: Gfn, p: Port) => { introduced.push([d, g, p]); }, isIntroduced: (d: DomId) => d === 3 };
    const ask = (type: number, payload: string) => Buffer.from(handleRequest(s, domId(0), { type, reqId: 1, txId: 0, payload: bytesOf(payload) }, () => {}, hooks).payload).toString();
    expect(ask(XS.GET_DOMAIN_PATH, "7\0")).toBe("/local/domain/7\0");
    expect(ask(XS.IS_DOMAIN_INTRODUCED, "3\0")).toBe("T\0");
    expect(ask(XS.INTRODUCE, "5\0" + "1044476\0" + "2\0")).toBe("OK\0");
    expect(introduced).toEqual([[5, 0xfeffc, 2]]);
    // domid_t is uint16_t: 65536, -1, 1.5, "" and "0x5" name no domain.
    for (const bad of ["65536", "-1", "1.5", "", "0x5", "dom1"]) expect(ask(XS.GET_DOMAIN_PATH, `${bad}\0`), bad).toBe("EINVAL\0");
    expect(ask(XS.INTRODUCE, "5\0" + "4294967296\0" + "2\0")).toBe("EINVAL\0");
    expect(introduced.length).toBe(1);
  });

  it("fuzz: 5,000 random requests give replies or XS_ERROR, never exceptions", () => {
    const s = store();
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pieces = ["data", "/local", "/", "a", "\0", "@releaseDomain", "T", "F", "n1", "r2", "..", "//", "x".repeat(40)];
    for (let i = 0; i < 5000; i++) {
      let p = "";
      for (let k = Math.floor(rnd() * 5); k >= 0; k--) p += pieces[Math.floor(rnd() * pieces.length)];
      const type = Math.floor(rnd() * 24);
      const r = handleRequest(s, domId(1 + Math.floor(rnd() * 2)), { type, reqId: i, txId: rnd() < 0.1 ? 1 : 0, payload: bytesOf(p) }, () => {});
      expect(r.reqId).toBe(i);
    }
  });
});
