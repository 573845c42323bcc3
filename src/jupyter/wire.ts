/**
 * The wire format: `[identities…, "<IDS|MSG>", signature, header, parent_header, metadata,
 * content, buffers…]`, signed with HMAC over exactly the four JSON frames as they were received
 * (jupyter_client session.py). Verification is constant-time; a failure is an error the caller
 * logs and drops, never answers.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { JsonObject, Message, MessageHeader } from "./messages";

const DELIMITER = Buffer.from("<IDS|MSG>");

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

export class Signer {
  private readonly key: Buffer;
  private readonly algorithm: string;

  /** `scheme` is the connection file's signature_scheme, e.g. "hmac-sha256". */
  constructor(key: string, scheme = "hmac-sha256") {
    const match = /^hmac-(.+)$/.exec(scheme);
    if (!match) throw new WireError(`unsupported signature_scheme ${JSON.stringify(scheme)}`);
    this.algorithm = match[1]!;
    this.key = Buffer.from(key, "utf8");
    // Fail now rather than on the first message if Node does not know the digest.
    if (this.key.length) createHmac(this.algorithm, this.key);
  }

  get enabled(): boolean {
    return this.key.length > 0;
  }

  sign(frames: Buffer[]): string {
    if (!this.enabled) return "";
    const hmac = createHmac(this.algorithm, this.key);
    for (const f of frames) hmac.update(f);
    return hmac.digest("hex");
  }

  verify(signature: Buffer, frames: Buffer[]): boolean {
    if (!this.enabled) return true;
    const expected = Buffer.from(this.sign(frames), "ascii");
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }
}

/**
 * An authentic message larger than the kernel accepts: only its header was parsed, so that the
 * sender gets an error reply instead of the kernel spending seconds and a gigabyte on its JSON.
 */
export class MessageTooLarge extends Error {
  override name = "MessageTooLarge";
  constructor(
    readonly stub: Message,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`${stub.header.msg_type} of ${bytes} bytes is larger than this kernel's limit of ${limit} bytes (set XENLAB_MAX_MESSAGE_BYTES to change it)`);
  }
}

/**
 * Parses and authenticates received frames. Throws WireError naming what was wrong, or
 * MessageTooLarge when the frames after the signature hold more than `maxBytes`.
 */
export function decode(frames: Buffer[], signer: Signer, maxBytes = Infinity): Message {
  const delim = frames.findIndex((f) => f.equals(DELIMITER));
  if (delim < 0) throw new WireError("no <IDS|MSG> delimiter frame");
  if (frames.length < delim + 6) {
    throw new WireError(`expected 5 frames after <IDS|MSG>, got ${frames.length - delim - 1}`);
  }
  const signature = frames[delim + 1]!;
  const jsonFrames = frames.slice(delim + 2, delim + 6);
  if (!signer.verify(signature, jsonFrames)) {
    throw new WireError(signature.length ? "bad HMAC signature" : "missing HMAC signature");
  }
  const bytes = frames.slice(delim + 2).reduce((n, f) => n + f.length, 0);
  if (bytes > maxBytes) {
    const header = parseObject(jsonFrames[0]!, FRAME_NAMES[0]!);
    checkHeader(header);
    const stub = { identities: frames.slice(0, delim), header: header as MessageHeader, parent_header: {}, metadata: {}, content: {}, buffers: [] };
    throw new MessageTooLarge(stub, bytes, maxBytes);
  }
  const [header, parent, metadata, content] = jsonFrames.map((f, i) => parseObject(f, FRAME_NAMES[i]!));
  checkHeader(header!);
  return {
    identities: frames.slice(0, delim),
    header: header as MessageHeader,
    parent_header: parent as Message["parent_header"],
    metadata: metadata!,
    content: content!,
    buffers: frames.slice(delim + 6),
  };
}

export function encode(message: Message, signer: Signer): Buffer[] {
  const jsonFrames = [message.header, message.parent_header, message.metadata, message.content].map(
    (part) => Buffer.from(JSON.stringify(part), "utf8"),
  );
  return [
    ...message.identities,
    DELIMITER,
    Buffer.from(signer.sign(jsonFrames), "ascii"),
    ...jsonFrames,
    ...message.buffers,
  ];
}

const FRAME_NAMES = ["header", "parent_header", "metadata", "content"];

function parseObject(frame: Buffer, name: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(frame.toString("utf8"));
  } catch (err) {
    throw new WireError(`${name} frame is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new WireError(`${name} frame is not a JSON object`);
  }
  return value as JsonObject;
}

function checkHeader(header: JsonObject): void {
  for (const key of ["msg_id", "msg_type"] as const) {
    if (typeof header[key] !== "string" || header[key] === "") {
      throw new WireError(`header.${key} is missing or not a string`);
    }
  }
}
