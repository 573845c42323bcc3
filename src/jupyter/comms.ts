/**
 * Comms (messaging spec "Custom messages"): frontends open comms to targets the kernel registers;
 * the kernel can open comms too. A frontend's comm_open for an unknown target is answered with
 * comm_close at once, as the spec asks.
 */
import { randomUUID } from "node:crypto";
import { Comm, CommApi } from "./cell-api";
import { JsonObject, JsonValue } from "./messages";

type Publish = (msgType: string, content: JsonObject, buffers?: Buffer[]) => void;

class KernelComm implements Comm {
  msgHandlers: ((data: unknown, buffers: Uint8Array[]) => void)[] = [];
  closeHandlers: ((data: unknown) => void)[] = [];
  closed = false;

  constructor(
    readonly id: string,
    readonly target: string,
    private readonly manager: CommManager,
  ) {}

  send(data: unknown = {}, buffers: Uint8Array[] = []): void {
    if (this.closed) throw new Error(`comm ${this.id} (${this.target}) is closed`);
    this.manager.publish("comm_msg", { comm_id: this.id, data: data as JsonValue }, buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
  }

  close(data: unknown = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.manager.forget(this.id);
    this.manager.publish("comm_close", { comm_id: this.id, data: data as JsonValue });
  }

  onMsg(handler: (data: unknown, buffers: Uint8Array[]) => void): void {
    this.msgHandlers.push(handler);
  }

  onClose(handler: (data: unknown) => void): void {
    this.closeHandlers.push(handler);
  }
}

export class CommManager implements CommApi {
  private readonly targets = new Map<string, (comm: Comm, data: unknown) => void>();
  private readonly comms = new Map<string, KernelComm>();

  constructor(readonly publish: Publish) {}

  registerTarget(target: string, onOpen: (comm: Comm, data: unknown) => void): void {
    this.targets.set(target, onOpen);
  }

  open(target: string, data: unknown = {}): Comm {
    const comm = new KernelComm(randomUUID(), target, this);
    this.comms.set(comm.id, comm);
    this.publish("comm_open", { comm_id: comm.id, target_name: target, data: data as JsonValue });
    return comm;
  }

  forget(id: string): void {
    this.comms.delete(id);
  }

  /** comm_info_reply's `comms`, optionally for one target. */
  info(target?: string): JsonObject {
    const out: JsonObject = {};
    for (const [id, c] of this.comms) if (!target || c.target === target) out[id] = { target_name: c.target };
    return out;
  }

  /** Handles comm_open / comm_msg / comm_close from the frontend. */
  receive(msgType: string, content: JsonObject, buffers: Buffer[] = []): void {
    const id = String(content.comm_id ?? "");
    if (msgType === "comm_open") {
      const target = String(content.target_name ?? "");
      const onOpen = this.targets.get(target);
      if (!onOpen) {
        this.publish("comm_close", { comm_id: id, data: {} });
        return;
      }
      const comm = new KernelComm(id, target, this);
      this.comms.set(id, comm);
      onOpen(comm, content.data ?? {});
      return;
    }
    const comm = this.comms.get(id);
    if (!comm) return; // a message for a comm we never had (or closed): nothing to do
    if (msgType === "comm_msg") {
      for (const h of comm.msgHandlers) h(content.data ?? {}, buffers);
    } else if (msgType === "comm_close") {
      comm.closed = true;
      this.comms.delete(id);
      for (const h of comm.closeHandlers) h(content.data ?? {});
    }
  }
}
