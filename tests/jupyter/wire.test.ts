/** The wire format against the spec's framing, with signatures computed independently. */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { makeChild, makeHeader } from "../../src/jupyter/messages";
import { decode, encode, Signer, WireError } from "../../src/jupyter/wire";

const key = "0123456789abcdef";
const hmac = (frames: Buffer[]) => {
  const h = createHmac("sha256", key);
  for (const f of frames) h.update(f);
  return h.digest("hex");
};

function frames(content: object, identities: Buffer[] = [Buffer.from("peer")]): Buffer[] {
  const json = [makeHeader("execute_request", "s"), {}, {}, content].map((o) => Buffer.from(JSON.stringify(o)));
  return [...identities, Buffer.from("<IDS|MSG>"), Buffer.from(hmac(json)), ...json];
}

describe("decode", () => {
  const signer = new Signer(key);
  it("reads identities, the four JSON frames and trailing binary buffers", () => {
    const f = [...frames({ code: "1" }, [Buffer.from("a"), Buffer.from("b")]), Buffer.from([0, 255])];
    const m = decode(f, signer);
    expect(m.identities.map(String)).toEqual(["a", "b"]);
    expect(m.content).toEqual({ code: "1" });
    expect(m.buffers).toEqual([Buffer.from([0, 255])]);
  });

  it("verifies the signature over the frames as received (not a re-serialisation)", () => {
    const json = [Buffer.from('{"msg_id":"x",  "msg_type":"t"}'), Buffer.from("{}"), Buffer.from("{}"), Buffer.from('{ "a" : 1 }')];
    expect(decode([Buffer.from("<IDS|MSG>"), Buffer.from(hmac(json)), ...json], signer).content).toEqual({ a: 1 });
  });

  it("rejects a tampered frame, a missing signature, a missing delimiter and non-JSON frames, naming each", () => {
    const f = frames({ code: "1" });
    const tampered = [...f];
    tampered[tampered.length - 1] = Buffer.from('{"code":"2"}');
    expect(() => decode(tampered, signer)).toThrow(/bad HMAC signature/);
    const unsigned = [...f];
    unsigned[2] = Buffer.alloc(0);
    expect(() => decode(unsigned, signer)).toThrow(/missing HMAC signature/);
    expect(() => decode(f.filter((x) => x.toString() !== "<IDS|MSG>"), signer)).toThrow(/no <IDS\|MSG> delimiter/);
    expect(() => decode(f.slice(0, 4), signer)).toThrow(/expected 5 frames/);
    const json = [Buffer.from("[]"), Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}")];
    expect(() => decode([Buffer.from("<IDS|MSG>"), Buffer.from(hmac(json)), ...json], signer)).toThrow(/header frame is not a JSON object/);
    const noType = [Buffer.from('{"msg_id":"x"}'), Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}")];
    expect(() => decode([Buffer.from("<IDS|MSG>"), Buffer.from(hmac(noType)), ...noType], signer)).toThrow(WireError);
  });

  it("accepts unsigned messages only when the key is empty", () => {
    const json = [makeHeader("t", "s"), {}, {}, {}].map((o) => Buffer.from(JSON.stringify(o)));
    expect(decode([Buffer.from("<IDS|MSG>"), Buffer.alloc(0), ...json], new Signer("")).header.msg_type).toBe("t");
  });

  it("refuses an unknown signature scheme up front", () => {
    expect(() => new Signer(key, "md5-rsa")).toThrow(/unsupported signature_scheme/);
  });
});

describe("encode", () => {
  it("signs exactly header, parent, metadata, content and appends buffers raw", () => {
    const signer = new Signer(key);
    const parent = decode(frames({ code: "1" }), signer);
    const reply = makeChild(parent, "execute_reply", { status: "ok" }, "kernel-session", { buffers: [Buffer.from([1, 2])] });
    const out = encode(reply, signer);
    expect(out[0]!.toString()).toBe("peer");
    expect(out[1]!.toString()).toBe("<IDS|MSG>");
    expect(out[2]!.toString()).toBe(hmac(out.slice(3, 7)));
    expect(JSON.parse(out[4]!.toString()).msg_id).toBe(parent.header.msg_id);
    expect(out[7]).toEqual(Buffer.from([1, 2]));
    expect(JSON.parse(out[3]!.toString())).toMatchObject({ msg_type: "execute_reply", session: "kernel-session", version: "5.5" });
  });
});
