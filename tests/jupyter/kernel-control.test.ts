/**
 * Control stays live while a cell runs: heartbeat and control answer within 50 ms, an interrupt
 * stops a busy loop (even after an await) within 100 ms, shutdown ends the process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient } from "../../src/jupyter/client";

let k: KernelClient;
beforeAll(async () => {
  k = await KernelClient.start();
  await k.waitReady();
});
afterAll(async () => k?.shutdown());

/** Starts a cell and resolves once it says (on stdout) that it is inside its busy part. */
async function startBusy(code: string): Promise<{ id: string; reply: Promise<any> }> {
  const sent = await k.send("shell", "execute_request", { code, silent: false, store_history: true });
  await k.waitIopub((m) => m.parent_header.msg_id === sent.id && m.header.msg_type === "stream" && m.content.text.includes("busy"));
  await new Promise((r) => setTimeout(r, 20));
  return sent;
}

// Timing bounds are the point of these tests; on a loaded 2-core CI machine a descheduled process
// can miss one, so each timing test gets two more attempts (a real regression fails all three).
describe("while a cell busy-loops", { retry: 2 }, () => {
  it("heartbeat and control kernel_info answer within 50 ms, and interrupt_request stops it within 100 ms", async () => {
    const busy = await startBusy("let spins = 0; console.log('busy'); while (true) { spins++ }");
    const pings = [await k.ping(), await k.ping(), await k.ping(), await k.ping(), await k.ping()];
    expect(pings.sort((a, b) => a - b)[2]).toBeLessThan(50);
    const t0 = performance.now();
    await k.request("control", "kernel_info_request");
    expect(performance.now() - t0).toBeLessThan(50);

    const t1 = performance.now();
    const { reply: interruptReply } = await k.request("control", "interrupt_request");
    expect(interruptReply.content.status).toBe("ok");
    const reply = await busy.reply;
    expect(performance.now() - t1).toBeLessThan(100);
    expect(reply.content).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
  });

  it("an interrupt also stops a loop that starts after an await (where tslab wedges)", async () => {
    const busy = await startBusy("await new Promise(r => setTimeout(r, 10)); console.log('busy'); for (;;) {}");
    const t1 = performance.now();
    await k.request("control", "interrupt_request");
    expect((await busy.reply).content.ename).toBe("KeyboardInterrupt");
    expect(performance.now() - t1).toBeLessThan(100);
  });

  it("an interrupt stops a cell awaiting a long promise", async () => {
    const busy = await startBusy("console.log('busy'); await new Promise(r => setTimeout(r, 100_000))");
    await k.request("control", "interrupt_request");
    expect((await busy.reply).content.ename).toBe("KeyboardInterrupt");
  });

  it("nested loops stop too, and what the cell computed before the interrupt stays usable", async () => {
    const busy = await startBusy("let slices = 0; while (true) { for (let i = 0; i < 1e5; i++) {} if (++slices === 1) console.log('busy') }");
    await k.request("control", "interrupt_request");
    await busy.reply;
    const after = await k.execute("slices > 0");
    expect(after.iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"]).toBe("true");
  });

  it("a vCPU running a guest's endless loop stops with an interrupt exit, its state intact", async () => {
    const busy = await startBusy(`
      const m = new Machine(16);
      m.populate(domId(1), gfn(0), 512);
      const g = m.guest(domId(1));
      const { cr3 } = buildPageTables(g, 0x100000, [{ va: 0, gpa: 0, pages: 256 }]);
      g.write(0x1000, Uint8Array.from([0xff, 0xc0, 0xeb, 0xfc])); // inc eax; jmp -4
      const cpu = new Vcpu(m, domId(1), 0, { mode: "long64", rip: 0x1000, rsp: 0x8000, cr3 });
      console.log("busy");
      const exit = cpu.run(1e15);
      [exit.kind, cpu.icount > 1000, Number(cpu.getReg("rax")) === Math.ceil(cpu.icount / 2)]`);
    await k.request("control", "interrupt_request");
    const reply = await busy.reply;
    expect(reply.content.status).toBe("ok");
    const result = await k.waitIopub((m) => m.parent_header.msg_id === busy.id && m.header.msg_type === "execute_result");
    expect(result.content.data["text/plain"]).toBe("[ 'interrupt', true, true ]");
  });

  it("the kernel keeps its state after an interrupt", async () => {
    await k.execute("const kept = 'still here'");
    const busy = await startBusy("console.log('busy'); while (true) {}");
    await k.request("control", "interrupt_request");
    await busy.reply;
    const { iopub } = await k.execute("kept");
    expect(iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"]).toBe("'still here'");
  });
});

it("SIGINT (signal interrupt mode) stops a synchronous busy loop too", async () => {
  const busy = await startBusy("console.log('busy'); while (true) {}");
  k.proc.kill("SIGINT");
  const reply = await busy.reply;
  expect(reply.content.status).toBe("error");
  expect((await k.execute("1 + 1")).reply.content.status).toBe("ok");
});

it("an interrupt at idle does nothing to the next cell", async () => {
  await k.request("control", "interrupt_request");
  expect((await k.execute("for (let i = 0; i < 10; i++) {} 'ran'")).reply.content.status).toBe("ok");
});

describe("transports and shutdown", () => {
  it("serves over the ipc transport", async () => {
    const ipc = await KernelClient.start({ transport: "ipc" });
    try {
      await ipc.waitReady();
      expect((await ipc.execute("2 ** 10")).iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"]).toBe("1024");
    } finally {
      await ipc.shutdown();
    }
  });

  it("shutdown_request is answered on control and IOPub, then the process exits", async () => {
    const other = await KernelClient.start();
    await other.waitReady();
    const { reply, id } = await other.request("control", "shutdown_request", { restart: true });
    expect(reply.content).toEqual({ status: "ok", restart: true });
    const code = await other.exited;
    expect(code).toBe(0);
    expect(other.iopubLog.some((m) => m.header.msg_type === "shutdown_reply" && m.parent_header.msg_id === id)).toBe(true);
    expect(other.stderr).not.toMatch(/terminate called|Napi::Error/);
    await other.shutdown();
  });
});
