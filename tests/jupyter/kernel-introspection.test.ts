/** complete, inspect, is_complete and history, including history kept across a restart. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient } from "../../src/jupyter/client";

const historyFile = join(mkdtempSync(join(tmpdir(), "xenlab-hist-")), "history.jsonl");
let k: KernelClient;
beforeAll(async () => {
  k = await KernelClient.start({ historyFile });
  await k.waitReady();
});
afterAll(async () => k?.shutdown());

describe("complete_request", () => {
  it("completes TypeScript members from earlier cells' declarations", async () => {
    await k.execute("const machine = { vcpus: 2, memoryMiB: 512 }");
    const code = "machine.vc";
    const { reply } = await k.request("shell", "complete_request", { code, cursor_pos: code.length });
    expect(reply.content.status).toBe("ok");
    expect(reply.content.matches).toContain("vcpus");
    expect(reply.content.cursor_start).toBe("machine.".length);
    expect(reply.content.cursor_end).toBe(code.length);
  });

  it("completes magic names", async () => {
    const { reply } = await k.request("shell", "complete_request", { code: "%ls", cursor_pos: 3 });
    expect(reply.content.matches).toEqual(["%lsmagic"]);
    expect(reply.content.cursor_start).toBe(0);
    const cell = await k.request("shell", "complete_request", { code: "%%ht", cursor_pos: 4 });
    expect(cell.reply.content.matches).toEqual(["%%html"]);
  });

  it("completes magic arguments: folders after %cd", async () => {
    const code = "%cd /tm";
    const { reply } = await k.request("shell", "complete_request", { code, cursor_pos: code.length });
    expect(reply.content.matches).toEqual(["/tmp/"]);
    expect(reply.content.cursor_start).toBe(4);
  });

  it("counts cursor positions in code points, not UTF-16 units", async () => {
    await k.execute("const emoji = { wide: 1 }");
    const code = "'🖥️🖥️'; emoji.wi";
    const cursor = [...code].length;
    const { reply } = await k.request("shell", "complete_request", { code, cursor_pos: cursor });
    expect(reply.content.matches).toContain("wide");
    expect(reply.content.cursor_start).toBe(cursor - 2);
    expect(reply.content.cursor_end).toBe(cursor);
  });
});

describe("inspect_request", () => {
  it("shows TypeScript quick info for a symbol", async () => {
    await k.execute("/** Adds two frame numbers. */\nfunction addFrames(a: number, b: number): number { return a + b }");
    const code = "addFrames(1, 2)";
    const { reply } = await k.request("shell", "inspect_request", { code, cursor_pos: 4, detail_level: 0 });
    expect(reply.content.status).toBe("ok");
    expect(reply.content.found).toBe(true);
    expect(reply.content.data["text/plain"]).toContain("addFrames(a: number, b: number): number");
    expect(reply.content.data["text/plain"]).toContain("Adds two frame numbers.");
  });

  it("shows a magic's help", async () => {
    const { reply } = await k.request("shell", "inspect_request", { code: "%time", cursor_pos: 3, detail_level: 0 });
    expect(reply.content.found).toBe(true);
    expect(reply.content.data["text/plain"]).toContain("%time CODE");
  });

  it("says found: false where there is nothing to show", async () => {
    const { reply } = await k.request("shell", "inspect_request", { code: "   ", cursor_pos: 1, detail_level: 0 });
    expect(reply.content).toMatchObject({ status: "ok", found: false });
  });

  it("%name? puts the magic's help in the pager payload", async () => {
    const { reply } = await k.execute("%lsmagic?");
    expect(reply.content.payload[0].source).toBe("page");
    expect(reply.content.payload[0].data["text/plain"]).toContain("%lsmagic");
  });
});

describe("is_complete_request", () => {
  const ask = async (code: string) => (await k.request("shell", "is_complete_request", { code })).reply.content;
  it("says complete, or incomplete with an indent", async () => {
    expect(await ask("let a = 1")).toEqual({ status: "complete" });
    const open = await ask("function f() {");
    expect(open.status).toBe("incomplete");
    expect(typeof open.indent).toBe("string");
    expect(await ask("%lsmagic")).toEqual({ status: "complete" });
    expect((await ask("%time \\")).status).toBe("incomplete");
  });
});

describe("history_request", () => {
  it("answers tail, range and search, with outputs on request", async () => {
    await k.execute("'history-marker-1'");
    await k.execute("'history-marker-2'");
    const tail = (await k.request("shell", "history_request", { hist_access_type: "tail", n: 2, output: false, raw: true })).reply.content;
    expect(tail.status).toBe("ok");
    expect(tail.history.map((h: unknown[]) => h[2])).toEqual(["'history-marker-1'", "'history-marker-2'"]);
    const [session, line] = tail.history[1];
    const range = (await k.request("shell", "history_request", { hist_access_type: "range", session: 0, start: line, stop: line + 1, output: true, raw: true })).reply.content;
    expect(range.history).toEqual([[session, line, ["'history-marker-2'", null]]]);
    const search = (await k.request("shell", "history_request", { hist_access_type: "search", pattern: "*marker-1*", output: false, raw: true, n: 5 })).reply.content;
    expect(search.history.map((h: unknown[]) => h[2])).toEqual(["'history-marker-1'"]);
  });

  it("is kept across a kernel restart, in a new session", async () => {
    const before = (await k.request("shell", "history_request", { hist_access_type: "tail", n: 1, output: false, raw: true })).reply.content.history[0];
    const restarted = await KernelClient.start({ historyFile });
    try {
      await restarted.waitReady();
      const tail = (await restarted.request("shell", "history_request", { hist_access_type: "tail", n: 1, output: false, raw: true })).reply.content.history;
      expect(tail[0]).toEqual(before);
      await restarted.execute("'after restart'");
      const last = (await restarted.request("shell", "history_request", { hist_access_type: "tail", n: 1, output: false, raw: true })).reply.content.history[0];
      expect(last[0]).toBe(before[0] + 1);
      expect(last[1]).toBe(1);
      const previous = (await restarted.request("shell", "history_request", { hist_access_type: "range", session: -1, start: before[1], stop: before[1] + 1, output: false, raw: true })).reply.content.history;
      expect(previous).toEqual([before]);
    } finally {
      await restarted.shutdown();
    }
  });
});
