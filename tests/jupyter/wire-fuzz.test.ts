/**
 * Bad input never takes the kernel down. The wire decoder meets thousands of mutated messages and
 * answers each with a WireError or a message, nothing else; the live kernel meets correctly signed
 * requests whose contents have the wrong shapes and keeps answering.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient } from "../../src/jupyter/client";
import { makeHeader } from "../../src/jupyter/messages";
import { decode, Signer, WireError } from "../../src/jupyter/wire";

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
}

describe("decode under mutation", () => {
  it("answers 20,000 mutated frame lists with a message or a WireError only", () => {
    const key = "k";
    const signer = new Signer(key);
    const rand = rng(2006);
    const base = () => {
      const json = [makeHeader("execute_request", "s"), {}, { m: 1 }, { code: "1", n: [1, 2, { x: null }] }].map((o) => Buffer.from(JSON.stringify(o)));
      const h = createHmac("sha256", key);
      for (const f of json) h.update(f);
      return [Buffer.from("id"), Buffer.from("<IDS|MSG>"), Buffer.from(h.digest("hex")), ...json, Buffer.from([9, 9])];
    };
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const frames = base();
      const ops = 1 + Math.floor(rand() * 3);
      for (let j = 0; j < ops; j++) {
        const which = Math.floor(rand() * frames.length);
        const f = Buffer.from(frames[which]!);
        switch (Math.floor(rand() * 5)) {
          case 0: if (f.length) f[Math.floor(rand() * f.length)] ^= 1 << Math.floor(rand() * 8); frames[which] = f; break;
          case 1: frames[which] = f.subarray(0, Math.floor(rand() * f.length)); break;
          case 2: frames.splice(which, 1); break;
          case 3: frames.splice(which, 0, Buffer.from(f)); break;
          case 4: frames[which] = Buffer.alloc(Math.floor(rand() * 8), Math.floor(rand() * 256)); break;
        }
      }
      try {
        decode(frames, signer);
        accepted++;
      } catch (err) {
        if (!(err instanceof WireError)) throw new Error(`case ${i}: ${String(err)}`);
      }
    }
    // Mutations of identities, the delimiter-free prefix or trailing buffers keep the message valid.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(20_000);
  });
});

describe("a live kernel fed requests of the wrong shape", () => {
  let k: KernelClient;
  beforeAll(async () => {
    k = await KernelClient.start();
    await k.waitReady();
  });
  afterAll(async () => k?.shutdown());

  const weird: unknown[] = [null, 5, -1, 1e308, "", "x", [], [1, "a"], {}, { a: { b: [] } }, true];
  it("answers every one of them and keeps executing afterwards", async () => {
    const rand = rng(7);
    const pick = () => weird[Math.floor(rand() * weird.length)];
    const types = ["execute_request", "complete_request", "inspect_request", "is_complete_request", "history_request", "comm_info_request", "comm_open", "comm_msg", "comm_close"];
    const fields = ["code", "cursor_pos", "silent", "store_history", "user_expressions", "allow_stdin", "stop_on_error", "detail_level", "hist_access_type", "n", "session", "start", "stop", "pattern", "target_name", "comm_id", "data", "output"];
    for (let i = 0; i < 150; i++) {
      const type = types[i % types.length]!;
      const content: Record<string, unknown> = {};
      for (const f of fields) if (rand() < 0.5) content[f] = pick();
      const { id } = await k.send("shell", type, content);
      await k.iopubFor(id, 90_000); // every request ends with idle, whatever its content (the first loads TypeScript)
    }
    const { reply } = await k.execute("'still alive'");
    expect(reply.content.status).toBe("ok");
    expect(k.proc.exitCode).toBeNull();
  });
});
