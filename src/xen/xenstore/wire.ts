/**
 * The xenstore wire protocol (io/xs_wire.h, docs/misc/xenstore.txt): a 16-byte header
 * {type, req_id, tx_id, len} and a payload of NUL-separated strings; replies carry the request's
 * type and ids, errors are XS_ERROR with the errno name, watch events XS_WATCH_EVENT with ids 0.
 */
import { XENSTORE_PAYLOAD_MAX, XS, XS_NAMES } from "../abi";
import { XenStore, XsError, formatPerm, parsePerm } from "./store";
import { DomId, Gfn, domId, gfn } from "../../machine";
import { Port, port } from "../types";

export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");

export function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function encodeMessage(m: XsMessage): Uint8Array {
  const out = new Uint8Array(16 + m.payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, m.type, true);
  dv.setUint32(4, m.reqId >>> 0, true);
  dv.setUint32(8, m.txId >>> 0, true);
  dv.setUint32(12, m.payload.length, true);
  out.set(m.payload, 16);
  return out;
}

/** Splits complete messages off the front of a byte stream; returns them and the bytes used. */
export function decodeMessages(buf: Uint8Array): { messages: XsMessage[]; used: number; error?: string } {
  const messages: XsMessage[] = [];
  let o = 0;
  while (buf.length - o >= 16) {
    const dv = new DataView(buf.buffer, buf.byteOffset + o, 16);
    const len = dv.getUint32(12, true);
    if (len > XENSTORE_PAYLOAD_MAX) return { messages, used: o, error: `payload length ${len} exceeds XENSTORE_PAYLOAD_MAX` };
    if (buf.length - o < 16 + len) break;
    messages.push({ type: dv.getUint32(0, true), reqId: dv.getUint32(4, true), txId: dv.getUint32(8, true), payload: buf.slice(o + 16, o + 16 + len) });
    o += 16 + len;
  }
  return { messages, used: o };
}

/** NUL-separated strings of a payload (a trailing NUL ends the last one). */
export function payloadStrings(p: Uint8Array): string[] {
  const s = latin1.decode(p);
  const parts = s.split("\0");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

export const ok = (): Uint8Array => enc.encode("OK\0");

/**
 * Serves one request from a connection (domain `conn`). `sendEvent` queues a watch event for
 * this connection. Returns the reply.
 */
export function handleRequest(store: XenStore, conn: DomId, m: XsMessage, sendEvent: (path: string, token: string) => void,
  hooks: { introduce?: (domid: DomId, gfn: Gfn, port: Port) => void; release?: (domid: DomId) => void; domainPath?: (domid: DomId) => string; isIntroduced?: (domid: DomId) => boolean } = {}): XsMessage {
  store.requests++;
  const reply = (payload: Uint8Array, type = m.type): XsMessage => ({ type, reqId: m.reqId, txId: m.txId, payload });
  const args = payloadStrings(m.payload);
  const arg = (i: number): string => {
    const a = args[i];
    if (a === undefined) throw new XsError("EINVAL", `${XS_NAMES[m.type] ?? m.type} needs argument ${i + 1}`);
    return a;
  };
  // Numbers on the wire are decimal text (docs/misc/xenstore.txt); each is checked against its
  // C type before it names anything: domid_t is uint16_t, a frame and a port are uint32.
  const decimal = (i: number, what: string, max: number): number => {
    const a = arg(i);
    if (!/^\d{1,10}$/.test(a) || Number(a) > max) throw new XsError("EINVAL", `${XS_NAMES[m.type] ?? m.type}: ${what} "${a}" is not a number in 0..${max}`);
    return Number(a);
  };
  const domidAt = (i: number): DomId => domId(decimal(i, "domid", 0xffff));
  try {
    switch (m.type) {
      case XS.READ: return reply(bytesOf(store.read(arg(0), conn, m.txId)));
      case XS.WRITE: {
        // WRITE is "path\0value" where the value is raw bytes (not NUL terminated).
        const nul = m.payload.indexOf(0);
        if (nul < 0) throw new XsError("EINVAL", "WRITE without a path terminator");
        store.write(latin1.decode(m.payload.subarray(0, nul)), latin1.decode(m.payload.subarray(nul + 1)), conn, m.txId);
        return reply(ok());
      }
      case XS.MKDIR: store.mkdir(arg(0), conn, m.txId); return reply(ok());
      case XS.RM: store.rm(arg(0), conn, m.txId); return reply(ok());
      case XS.DIRECTORY: return reply(bytesOf(store.directory(arg(0), conn, m.txId).map((c) => c + "\0").join("")));
      case XS.GET_PERMS: return reply(bytesOf(store.getPerms(arg(0), conn, m.txId).map((p) => formatPerm(p) + "\0").join("")));
      case XS.SET_PERMS: store.setPerms(arg(0), args.slice(1).map(parsePerm), conn, m.txId); return reply(ok());
      case XS.WATCH: {
        const path = arg(0), token = arg(1);
        // The reply goes before the initial event (xenstored sends OK, then fires).
        let first: [string, string] | undefined;
        store.watch(path, token, conn, (p, t) => { if (first === undefined) first = [p, t]; else sendEvent(p, t); });
        const r = reply(ok());
        queueMicrotaskSafe(() => sendEvent(first![0], first![1]));
        return r;
      }
      case XS.UNWATCH: store.unwatch(arg(0), arg(1), conn); return reply(ok());
      case XS.TRANSACTION_START: return reply(bytesOf(`${store.transactionStart(conn)}\0`));
      case XS.TRANSACTION_END: {
        const a = arg(0);
        if (a !== "T" && a !== "F") throw new XsError("EINVAL", "TRANSACTION_END takes T or F");
        store.transactionEnd(m.txId, a === "T", conn);
        return reply(ok());
      }
      case XS.GET_DOMAIN_PATH: {
        const d = domidAt(0);
        return reply(bytesOf(`${hooks.domainPath ? hooks.domainPath(d) : `/local/domain/${d}`}\0`));
      }
      case XS.INTRODUCE: {
        if (conn !== 0) throw new XsError("EACCES", "only dom0 introduces domains");
        if (!hooks.introduce) throw new XsError("ENOSYS");
        hooks.introduce(domidAt(0), gfn(decimal(1, "gfn", 0xffff_ffff)), port(decimal(2, "event channel", 0xffff_ffff)));
        return reply(ok());
      }
      case XS.RELEASE: {
        if (conn !== 0) throw new XsError("EACCES", "only dom0 releases domains");
        hooks.release?.(domidAt(0));
        return reply(ok());
      }
      case XS.IS_DOMAIN_INTRODUCED: return reply(bytesOf(`${hooks.isIntroduced?.(domidAt(0)) ? "T" : "F"}\0`));
      case XS.RESET_WATCHES: store.removeWatchesOf(conn); return reply(ok());
      case XS.CONTROL: return reply(ok());
      default: throw new XsError("ENOSYS", `message type ${m.type}`);
    }
  } catch (e) {
    if (e instanceof XsError) return reply(bytesOf(`${e.errno}\0`), XS.ERROR);
    throw e;
  }
}

/** The initial watch event must follow the WATCH reply; the ring pump flushes deferred events after replies. */
let deferred: (() => void)[] | undefined;
function queueMicrotaskSafe(f: () => void): void {
  if (deferred) deferred.push(f);
  else f();
}
/** Runs `body` with deferred watch events, then fires them (in order) after it returns. */
export function withDeferredEvents<T>(body: () => T): T {
  const outer = deferred;
  deferred = [];
  const mine = deferred;
  try {
    return body();
  } finally {
    deferred = outer;
    for (const f of mine) f();
  }
}

export function watchEvent(path: string, token: string): XsMessage {
  return { type: XS.WATCH_EVENT, reqId: 0, txId: 0, payload: bytesOf(`${path}\0${token}\0`) };
}
