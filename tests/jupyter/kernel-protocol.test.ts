/**
 * The kernel speaks the Jupyter messaging protocol (5.5) exactly: replies, IOPub lifecycles,
 * execution counts, errors, abort on error, signatures. Driven over zeromq by our own client.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient, Msg, types } from "../../src/jupyter/client";

let k: KernelClient;
beforeAll(async () => {
  k = await KernelClient.start();
  await k.waitReady();
});
afterAll(async () => k?.shutdown());

describe("kernel_info", () => {
  for (const channel of ["shell", "control"] as const) {
    it(`is answered on ${channel} with status, protocol version and language info`, async () => {
      const { reply, id } = await k.request(channel, "kernel_info_request");
      expect(reply.header.msg_type).toBe("kernel_info_reply");
      expect(reply.parent_header.msg_id).toBe(id);
      const c = reply.content;
      expect(c.status).toBe("ok");
      expect(c.protocol_version).toMatch(/^5\.[3-9]/);
      expect(c.implementation).toBe("xenlab");
      expect(c.language_info).toMatchObject({ name: "typescript", mimetype: "text/typescript", file_extension: ".ts" });
      expect(c.language_info.codemirror_mode).toBeTruthy();
      expect(c.banner).toContain("XenLab");
      expect(Array.isArray(c.help_links)).toBe(true);
      const iopub = await k.iopubFor(id);
      expect(types(iopub)).toEqual(["status", "status"]);
      expect(iopub.map((m) => m.content.execution_state)).toEqual(["busy", "idle"]);
    });
  }
});

it("welcomes each IOPub subscriber (JEP 65)", async () => {
  const welcome = await k.waitIopub((m) => m.header.msg_type === "iopub_welcome");
  expect(welcome.content.subscription).toBe("");
});

describe("execute", () => {
  it("publishes busy, execute_input, execute_result, then idle after the reply", async () => {
    const { reply, iopub } = await k.execute("6 * 7");
    expect(reply.content.status).toBe("ok");
    expect(types(iopub)).toEqual(["status", "execute_input", "execute_result", "status"]);
    expect(iopub[1]!.content.code).toBe("6 * 7");
    expect(iopub[1]!.content.execution_count).toBe(reply.content.execution_count);
    expect(iopub[2]!.content.data["text/plain"]).toBe("42");
    expect(iopub[2]!.content.execution_count).toBe(reply.content.execution_count);
  });

  it("sends console.log and console.error as stdout and stderr streams", async () => {
    const { iopub } = await k.execute("console.log('to out'); console.error('to err')");
    const streams = iopub.filter((m) => m.header.msg_type === "stream").map((m) => [m.content.name, m.content.text]);
    expect(streams).toEqual([["stdout", "to out\n"], ["stderr", "to err\n"]]);
  });

  it("counts only executes that store history and are not silent", async () => {
    const a = (await k.execute("1")).reply.content.execution_count;
    const silent = await k.execute("console.log('hidden'); 2", { silent: true });
    const noHistory = await k.execute("3", { store_history: false });
    const b = (await k.execute("4")).reply.content.execution_count;
    expect(silent.reply.content.execution_count).toBe(a);
    expect(noHistory.reply.content.execution_count).toBe(a);
    expect(b).toBe(a + 1);
    // silent publishes nothing but busy/idle: no execute_input, no stream, no result
    expect(types(silent.iopub)).toEqual(["status", "status"]);
  });

  it("reports a thrown error as an error message and an error reply with name, value and traceback", async () => {
    const { reply, iopub } = await k.execute("function f() { throw new RangeError('out of frames') }\nf()");
    expect(reply.content).toMatchObject({ status: "error", ename: "RangeError", evalue: "out of frames" });
    expect(reply.content.traceback.join("\n")).toContain("out of frames");
    const err = iopub.find((m) => m.header.msg_type === "error")!;
    expect(err.content).toMatchObject({ ename: "RangeError", evalue: "out of frames" });
    expect(types(iopub)).toEqual(["status", "execute_input", "error", "status"]);
  });

  it("reports TypeScript type errors with the line, column and a caret", async () => {
    const { reply } = await k.execute("let n: number = 1\nn = 'two'");
    expect(reply.content.ename).toBe("TypeScriptError");
    expect(reply.content.evalue).toContain("2:1");
    expect(reply.content.traceback[0]).toContain("n = 'two'");
    expect(reply.content.traceback[0]).toMatch(/\n\s+\^/);
  });

  it("keeps declarations across cells and re-declaration works", async () => {
    await k.execute("const greeting: string = 'hello'");
    expect((await k.execute("greeting.toUpperCase()")).iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"]).toBe("'HELLO'");
    expect((await k.execute("const greeting = 5; greeting + 1")).reply.content.status).toBe("ok");
  });

  it("supports top-level await", async () => {
    const { iopub } = await k.execute("const v = await new Promise<number>((r) => setTimeout(() => r(99), 20)); v");
    expect(iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"]).toBe("99");
  });

  it("uses a value's own MIME bundle (toMimeBundle or Symbol.for('Jupyter.display'))", async () => {
    const { iopub } = await k.execute(
      "({ [Symbol.for('Jupyter.display')]() { return { 'text/html': '<b>x</b>' } } })",
    );
    const data = iopub.find((m) => m.header.msg_type === "execute_result")!.content.data;
    expect(data["text/html"]).toBe("<b>x</b>");
    expect(typeof data["text/plain"]).toBe("string");
  });

  it("evaluates user_expressions into MIME bundles, with per-expression errors", async () => {
    const { reply } = await k.execute("const base = 10", { user_expressions: { ok: "base * 2", bad: "nope.x" } });
    expect(reply.content.user_expressions.ok).toMatchObject({ status: "ok", data: { "text/plain": "20" } });
    expect(reply.content.user_expressions.bad.status).toBe("error");
    expect(reply.content.user_expressions.bad.ename).toBe("TypeScriptError");
  });

  it("answers 100 back-to-back executes in order with increasing counts", async () => {
    const sent: { id: string; reply: Promise<Msg> }[] = [];
    for (let i = 0; i < 100; i++) sent.push(await k.send("shell", "execute_request", { code: `${i}`, silent: false, store_history: true }));
    const replies = await Promise.all(sent.map((s) => s.reply));
    const counts = replies.map((r) => r.content.execution_count as number);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBe(counts[i - 1]! + 1);
    const arrival = replies.map((r) => r.header.date);
    expect([...arrival].sort()).toEqual(arrival);
  });
});

describe("stop_on_error", () => {
  it("aborts the executes already queued when one fails, but not other requests or later executes", async () => {
    const failing = await k.send("shell", "execute_request", { code: "await new Promise(r => setTimeout(r, 200)); throw new Error('stop')", stop_on_error: true });
    const queued1 = await k.send("shell", "execute_request", { code: "'never runs 1'" });
    const info = await k.send("shell", "kernel_info_request");
    const queued2 = await k.send("shell", "execute_request", { code: "'never runs 2'" });
    expect((await failing.reply).content.status).toBe("error");
    expect((await queued1.reply).content.status).toBe("aborted");
    expect((await queued2.reply).content.status).toBe("aborted");
    expect((await info.reply).content.status).toBe("ok");
    const after = await k.execute("'runs'");
    expect(after.reply.content.status).toBe("ok");
    const aborted = await k.iopubFor(queued1.id);
    expect(types(aborted)).not.toContain("execute_input");
  });

  it("aborts nothing when the failing execute was silent", async () => {
    const failing = await k.send("shell", "execute_request", { code: "await new Promise(r => setTimeout(r, 100)); throw new Error('x')", silent: true });
    const queued = await k.send("shell", "execute_request", { code: "'runs after a silent error'" });
    expect((await failing.reply).content.status).toBe("error");
    expect((await queued.reply).content.status).toBe("ok");
  });

  it("aborts nothing when stop_on_error is false", async () => {
    const failing = await k.send("shell", "execute_request", { code: "await new Promise(r => setTimeout(r, 100)); throw new Error('x')", stop_on_error: false });
    const queued = await k.send("shell", "execute_request", { code: "'still runs'" });
    expect((await failing.reply).content.status).toBe("error");
    expect((await queued.reply).content.status).toBe("ok");
  });
});

describe("signatures and malformed input", () => {
  it("drops a message with a forged signature without answering, and keeps serving", async () => {
    const { msg, frames } = k.makeMessage("execute_request", { code: "globalThis.forged = true" });
    frames[1] = Buffer.from("0".repeat(64));
    const reply = k.replyTo(msg.header.msg_id, 1000);
    await k.sendRaw("shell", frames);
    await expect(reply).rejects.toThrow(/no reply/);
    const check = await k.execute("(globalThis as any).forged === undefined");
    expect(check.iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"]).toBe("true");
    expect(k.stderr).toContain("bad HMAC signature");
  });

  it("drops a message with no signature, and one whose content is not JSON", async () => {
    const { msg, frames } = k.makeMessage("kernel_info_request", {});
    frames[1] = Buffer.alloc(0);
    const r1 = k.replyTo(msg.header.msg_id, 800);
    await k.sendRaw("control", frames);
    await expect(r1).rejects.toThrow(/no reply/);

    const bad = k.makeMessage("kernel_info_request", {});
    const header = bad.frames[2]!;
    const json = [header, Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{not json")];
    const r2 = k.replyTo(bad.msg.header.msg_id, 800);
    await k.sendRaw("shell", [Buffer.from("<IDS|MSG>"), Buffer.from(k.sign(json)), ...json]);
    await expect(r2).rejects.toThrow(/no reply/);
    expect(k.stderr).toContain("content frame is not JSON");
    expect((await k.request("shell", "kernel_info_request")).reply.content.status).toBe("ok");
  });

  it("answers an unknown request type with an error reply of the matching type", async () => {
    const { reply } = await k.request("shell", "frobnicate_request");
    expect(reply.header.msg_type).toBe("frobnicate_reply");
    expect(reply.content.status).toBe("error");
  });
});
