/** Displays, comms and stdin: the parts of the protocol a live notebook view relies on. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient, types } from "../../src/jupyter/client";

let k: KernelClient;
beforeAll(async () => {
  k = await KernelClient.start();
  await k.waitReady();
});
afterAll(async () => k?.shutdown());

describe("display", () => {
  it("display() sends display_data with a display id, and handle.update() sends update_display_data for it", async () => {
    const { iopub } = await k.execute("const h = display({ n: 1 }); h.update({ n: 2 }); undefined");
    expect(types(iopub)).toEqual(["status", "execute_input", "display_data", "update_display_data", "status"]);
    const [shown, updated] = [iopub[2]!, iopub[3]!];
    expect(shown.content.transient.display_id).toBeTruthy();
    expect(updated.content.transient.display_id).toBe(shown.content.transient.display_id);
    expect(updated.content.data["text/plain"]).toBe("{ n: 2 }");
  });

  it("updateDisplay(id) from a later cell updates the earlier display", async () => {
    const first = await k.execute("display('v1', { id: 'live-view' }); undefined");
    expect(first.iopub.find((m) => m.header.msg_type === "display_data")!.content.transient.display_id).toBe("live-view");
    const second = await k.execute("updateDisplay('live-view', 'v2')");
    const upd = second.iopub.find((m) => m.header.msg_type === "update_display_data")!;
    expect(upd.content).toMatchObject({ transient: { display_id: "live-view" }, data: { "text/plain": "'v2'" } });
  });

  it("liveDisplay() throttles a loop's updates and always sends the final state", async () => {
    const { iopub } = await k.execute(`
      const live = liveDisplay(new ProgressView({ label: "work", done: 0, total: 300 }), 50);
      const t0 = Date.now();
      for (let i = 1; i <= 300; i++) { while (Date.now() - t0 < i) {} live.update(new ProgressView({ label: "work", done: i, total: 300 })) }
      live.finish(new ProgressView({ label: "work", done: 300, total: 300, status: "done" }))`);
    const updates = iopub.filter((m) => m.header.msg_type === "update_display_data");
    expect(updates.length).toBeGreaterThanOrEqual(3);
    expect(updates.length).toBeLessThanOrEqual(12);
    expect(updates[updates.length - 1]!.content.data["text/plain"]).toContain("300 / 300 — done");
  });

  it("clearOutput({ wait }) sends clear_output", async () => {
    const { iopub } = await k.execute("console.log('a'); clearOutput({ wait: true }); console.log('b')");
    const clear = iopub.find((m) => m.header.msg_type === "clear_output")!;
    expect(clear.content.wait).toBe(true);
  });

  it("%%svg and %%html cells display their body with a text/plain fallback", async () => {
    const { iopub } = await k.execute("%%svg\n<svg xmlns='http://www.w3.org/2000/svg'><rect width='4' height='4'/></svg>");
    const d = iopub.find((m) => m.header.msg_type === "display_data")!;
    expect(d.content.data["image/svg+xml"]).toContain("<rect");
    expect(d.content.data["text/plain"]).toContain("<svg");
  });
});

describe("comms", () => {
  it("comm_open to an unknown target is answered with comm_close", async () => {
    const { id } = await k.send("shell", "comm_open", { comm_id: "c-unknown", target_name: "no.such.target", data: {} });
    const msgs = await k.iopubFor(id);
    expect(msgs.find((m) => m.header.msg_type === "comm_close")!.content.comm_id).toBe("c-unknown");
  });

  it("a target registered from a cell receives comm_open and comm_msg (with binary buffers), and comm_info lists it", async () => {
    await k.execute(`
      comm.registerTarget("echo", (c, data) => {
        c.send({ opened: data });
        c.onMsg((d, buffers) => c.send({ echo: d, sizes: buffers.map((b) => b.length) }, buffers.map((b) => b.slice().reverse())));
      });`);
    const open = await k.send("shell", "comm_open", { comm_id: "c1", target_name: "echo", data: { hello: 1 } });
    const openMsgs = await k.iopubFor(open.id);
    expect(openMsgs.find((m) => m.header.msg_type === "comm_msg")!.content).toMatchObject({ comm_id: "c1", data: { opened: { hello: 1 } } });

    const raw = Buffer.from([1, 2, 3, 250]);
    const msg = await k.send("shell", "comm_msg", { comm_id: "c1", data: { ping: true } }, [raw]);
    const reply = (await k.iopubFor(msg.id)).find((m) => m.header.msg_type === "comm_msg")!;
    expect(reply.content.data).toEqual({ echo: { ping: true }, sizes: [4] });
    expect([...reply.buffers[0]!]).toEqual([250, 3, 2, 1]);

    const all = (await k.request("shell", "comm_info_request", {})).reply;
    expect(all.header.msg_type).toBe("comm_info_reply");
    expect(all.content.comms.c1).toEqual({ target_name: "echo" });
    const filtered = (await k.request("shell", "comm_info_request", { target_name: "other" })).reply;
    expect(filtered.content.comms).toEqual({});

    const close = await k.send("shell", "comm_close", { comm_id: "c1", data: {} });
    await k.iopubFor(close.id);
    expect((await k.request("shell", "comm_info_request", {})).reply.content.comms.c1).toBeUndefined();
  });

  it("a cell can open a comm from the kernel side", async () => {
    const { iopub } = await k.execute("const c = comm.open('kernel.side', { v: 1 }); c.id");
    const open = iopub.find((m) => m.header.msg_type === "comm_open")!;
    expect(open.content).toMatchObject({ target_name: "kernel.side", data: { v: 1 } });
  });
});

describe("stdin", () => {
  it("input() sends input_request on stdin with the execute's parent and returns the answer", async () => {
    const pending = k.execute("const name = input('Your name? '); `hello ${name}`", { allow_stdin: true });
    const req = await k.waitStdin();
    expect(req.header.msg_type).toBe("input_request");
    expect(req.content).toEqual({ prompt: "Your name? ", password: false });
    await k.replyStdin(req, "Ada ✓");
    const { iopub } = await pending;
    expect(iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"]).toBe("'hello Ada ✓'");
  });

  it("input() fails with a clear error when the request does not allow stdin", async () => {
    const { reply } = await k.execute("input('x')", { allow_stdin: false });
    expect(reply.content.status).toBe("error");
    expect(reply.content.evalue).toContain("does not support input requests");
  });

  it("heartbeat keeps answering while a cell waits for input", async () => {
    const pending = k.execute("input('wait: ')", { allow_stdin: true });
    const req = await k.waitStdin();
    expect(await k.ping()).toBeLessThan(50);
    await k.replyStdin(req, "ok");
    expect((await pending).reply.content.status).toBe("ok");
  });
});
