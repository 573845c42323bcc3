/** `!cmd` and `%%bash` through a running kernel: live output, exit status, interrupt. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient } from "../../src/jupyter/client";

const dir = mkdtempSync(join(tmpdir(), "xenlab-shell-"));
let k: KernelClient;
beforeAll(async () => {
  k = await KernelClient.start({ historyFile: join(dir, "history.jsonl") });
  await k.waitReady();
});
afterAll(async () => k?.shutdown());

const streams = (iopub: { header: { msg_type: string }; content: Record<string, string> }[], name: string) =>
  iopub.filter((m) => m.header.msg_type === "stream" && m.content.name === name).map((m) => m.content.text).join("");

describe("!cmd", () => {
  it("streams output while the command runs (the command waits for what the test sends after seeing it)", async () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const pending = k.execute(`!echo first; cat ${fifo}`);
    await k.waitIopub((m) => m.header.msg_type === "stream" && String(m.content.text).includes("first"), 20_000);
    writeFileSync(fifo, "second\n");
    const { reply, iopub } = await pending;
    expect(reply.content.status).toBe("ok");
    expect(streams(iopub, "stdout")).toBe("first\nsecond\n");
  });

  it("never fails the cell, and leaves the exit status in _exit_code; stderr is its own stream", async () => {
    const { reply, iopub } = await k.execute("!echo oops >&2; exit 3");
    expect(reply.content.status).toBe("ok");
    expect(streams(iopub, "stderr")).toBe("oops\n");
    const r = await k.execute("_exit_code");
    expect(r.iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"]).toBe("3");
  });

  it("runs in the working folder and environment the magics set, and mixes with TypeScript lines", async () => {
    const { iopub } = await k.execute(`%cd ${dir}\n%env XENLAB_SHELL_TEST=seen\nconst before = 1\n!pwd; echo $XENLAB_SHELL_TEST`);
    expect(streams(iopub, "stdout")).toContain(`${dir}\nseen\n`);
  });

  it("is complete for is_complete, and a bare ! is a UsageError", async () => {
    const c = await k.request("shell", "is_complete_request", { code: "!ls -l" });
    expect(c.reply.content.status).toBe("complete");
    const { reply } = await k.execute("!");
    expect(reply.content).toMatchObject({ status: "error", ename: "UsageError" });
  });
});

describe("%%bash", () => {
  it("runs the cell with bash and fails with CalledProcessError on a non-zero status, unless --no-raise-error", async () => {
    const ok = await k.execute("%%bash\nfor i in 1 2; do echo line $i; done");
    expect(streams(ok.iopub, "stdout")).toBe("line 1\nline 2\n");
    const bad = await k.execute("%%bash\necho partial\nexit 4");
    expect(streams(bad.iopub, "stdout")).toBe("partial\n");
    expect(bad.reply.content).toMatchObject({ status: "error", ename: "CalledProcessError", evalue: "Command 'bash' returned non-zero exit status 4." });
    expect((await k.execute("%%bash --no-raise-error\nexit 4")).reply.content.status).toBe("ok");
    expect((await k.execute("%%bash --loud\ntrue")).reply.content).toMatchObject({ ename: "UsageError", evalue: expect.stringContaining("unknown option --loud") });
  });

  it("stops on interrupt with KeyboardInterrupt, and the kernel runs the next cell", async () => {
    const pending = k.execute("%%bash\necho started; sleep 60");
    await k.waitIopub((m) => m.header.msg_type === "stream" && String(m.content.text).includes("started"), 20_000);
    await k.request("control", "interrupt_request");
    const { reply } = await pending;
    expect(reply.content.ename).toBe("KeyboardInterrupt");
    expect((await k.execute("!echo after")).reply.content.status).toBe("ok");
  });
});
