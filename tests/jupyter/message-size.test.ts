/**
 * A request larger than the configured limit (XENLAB_MAX_MESSAGE_BYTES) gets an error reply naming
 * its size and the limit, without its content being parsed; the kernel stays up and later cells run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient } from "../../src/jupyter/client";

const LIMIT = 1 << 20;
let k: KernelClient;
beforeAll(async () => {
  k = await KernelClient.start({ env: { XENLAB_MAX_MESSAGE_BYTES: String(LIMIT) } });
  await k.waitReady();
});
afterAll(async () => k?.shutdown());

const cellOfBytes = (n: number) => `const big = "${"a".repeat(n)}"; big.length`;

describe("the maximum message size", () => {
  it("rejects an execute_request over the limit with a MessageTooLarge reply and error output", async () => {
    const { reply, iopub } = await k.execute(cellOfBytes(2 * LIMIT));
    expect(reply.content).toMatchObject({ status: "error", ename: "MessageTooLarge" });
    expect(reply.content.evalue).toMatch(/^execute_request of \d+ bytes is larger than this kernel's limit of 1048576 bytes/);
    expect(Number(/of (\d+) bytes/.exec(reply.content.evalue)![1])).toBeGreaterThan(2 * LIMIT);
    const shown = iopub.find((m: any) => m.header.msg_type === "error");
    expect(shown?.content.ename).toBe("MessageTooLarge");
  });

  it("rejects a control request over the limit too, and answers control normally after", async () => {
    const { reply } = await k.request("control", "kernel_info_request", { padding: "p".repeat(2 * LIMIT) });
    expect(reply.content).toMatchObject({ status: "error", ename: "MessageTooLarge" });
    const { reply: info } = await k.request("control", "kernel_info_request");
    expect(info.content.status).toBe("ok");
  });

  it("still runs cells afterwards, including one just under the limit", async () => {
    const under = await k.execute(cellOfBytes(LIMIT - 4096));
    expect(under.reply.content.status).toBe("ok");
    const after = await k.execute("40 + 2");
    expect(after.reply.content.status).toBe("ok");
    expect(after.iopub.find((m: any) => m.header.msg_type === "execute_result")?.content.data["text/plain"]).toBe("42");
  });
});
