/**
 * IPython's `name?` and `name??` in a TypeScript cell: the type checker's quick info (and for `??`
 * the value's running source) in the execute_reply's page payload, as Jupyter's pager shows it;
 * is_complete calls such a line complete instead of waiting for the rest of a `?:` conditional.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient } from "../../src/jupyter/client";

let k: KernelClient;
beforeAll(async () => {
  k = await KernelClient.start();
  await k.waitReady();
});
afterAll(async () => k?.shutdown());

async function paged(code: string): Promise<string> {
  const { reply, iopub } = await k.execute(code);
  expect(reply.content.status).toBe("ok");
  expect(iopub.some((m: any) => m.header.msg_type === "execute_result")).toBe(false);
  const pages = reply.content.payload.filter((p: any) => p.source === "page");
  expect(pages).toHaveLength(1);
  return pages[0].data["text/plain"];
}

describe("name? and name??", () => {
  it("Math.max? pages TypeScript's signature of Math.max", async () => {
    expect(await paged("Math.max?")).toContain("max(...values: number[]): number");
  });

  it("host? pages the live host's type, and a member's documentation after a dot", async () => {
    expect(await paged("host?")).toContain("XenHost");
    expect(await paged("host . domains ?")).toMatch(/domains/);
  });

  it("name?? adds the source of a function a cell declared", async () => {
    await k.execute("function twice(x: number): number { return 2 * x }");
    const text = await paged("twice??");
    expect(text).toContain("function twice(x: number): number");
    expect(text).toContain("return 2 * x");
  });

  it("an unknown name says it was not found, and the kernel carries on", async () => {
    expect(await paged("noSuchThing?")).toContain("Object `noSuchThing` not found.");
    const { reply } = await k.execute("1 + 1");
    expect(reply.content.status).toBe("ok");
  });

  it("is_complete answers complete for name? lines (a console runs them on Enter)", async () => {
    for (const code of ["Math.max?", "host??", "host.domains?"]) {
      const { reply } = await k.request("shell", "is_complete_request", { code });
      expect(reply.content.status, code).toBe("complete");
    }
    const { reply } = await k.request("shell", "is_complete_request", { code: "const a = b ?" });
    expect(reply.content.status).toBe("incomplete");
  });
});
