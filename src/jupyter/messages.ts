/**
 * Jupyter messages as the messaging spec (jupyter_client docs/messaging.rst, 5.x) defines them.
 * Content shapes are kept loose (`JsonObject`) at this layer; handlers type what they read.
 */
import { randomUUID } from "node:crypto";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The protocol version we implement, sent in every header and in kernel_info_reply. */
export const PROTOCOL_VERSION = "5.5";

export type Channel = "shell" | "control" | "iopub" | "stdin";

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
  [extra: string]: JsonValue;
}

export interface Message {
  /** ZMQ routing identities (ROUTER sockets) or the topic (IOPub). */
  identities: Buffer[];
  header: MessageHeader;
  /** The request's header, or `{}` when there is none. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: JsonObject;
  content: JsonObject;
  /** Binary buffers after the content frame, passed through untouched. */
  buffers: Buffer[];
}

export function makeHeader(msgType: string, session: string, username = "kernel"): MessageHeader {
  return {
    msg_id: randomUUID(),
    session,
    username,
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

/** Builds a reply/publication whose parent is `parent` (the identities are the parent's too). */
export function makeChild(
  parent: Message | undefined,
  msgType: string,
  content: JsonObject,
  session: string,
  extra: { metadata?: JsonObject; buffers?: Buffer[]; identities?: Buffer[] } = {},
): Message {
  return {
    identities: extra.identities ?? parent?.identities ?? [],
    header: makeHeader(msgType, session, parent?.header.username ?? "kernel"),
    parent_header: parent ? parent.header : {},
    metadata: extra.metadata ?? {},
    content,
    buffers: extra.buffers ?? [],
  };
}
