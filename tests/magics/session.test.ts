/** %history, %reset and %load, through a running kernel as a Jupyter frontend uses them. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient } from "../../src/jupyter/client";

const dir = mkdtempSync(join(tmpdir(), "xenlab-session-"));
let k: KernelClient;
beforeAll(async () => {
  k = await KernelClient.start({ historyFile: join(dir, "history.jsonl") });
  await k.waitReady();
});
afterAll(async () => k?.shutdown());

async function run(code: string, opts: Record<string, unknown> = {}) {
  const r = await k.execute(code, opts);
  const text = (type: string) => r.iopub.filter((m) => m.header.msg_type === type);
  return {
    reply: r.reply.content,
    result: text("execute_result")[0]?.content.data["text/plain"] as string | undefined,
    error: text("error")[0]?.content as { ename: string; evalue: string } | undefined,
  };
}

describe("%history", () => {
  it("shows this session's inputs, with line numbers on -n, ranges inclusive as in IPython", async () => {
    await run("const h1 = 'one'");
    await run("const h2 = 'two'");
    const all = await run("%history");
    expect(all.result!.split("\n").slice(-2)).toEqual(["const h1 = 'one'", "const h2 = 'two'"]);
    const tail = await run("%history -l 2");
    expect(tail.result).toBe("const h2 = 'two'\n%history");
    const numbered = await run("%history -n 1-2");
    expect(numbered.result).toBe("   1: const h1 = 'one'\n   2: const h2 = 'two'");
    expect((await run("%history -g h2")).result).toContain("const h2 = 'two'");
  });

  it("writes to a file with -f, and refuses to overwrite one", async () => {
    const file = join(dir, "saved.ts");
    expect((await run(`%history -f ${file} 1`)).result).toContain("wrote 1 inputs");
    expect(readFileSync(file, "utf8")).toBe("const h1 = 'one'\n");
    expect((await run(`%history -f ${file} 1`)).error).toMatchObject({ ename: "UsageError", evalue: expect.stringContaining("exists") });
  });

  it("names a bad argument", async () => {
    expect((await run("%history -x")).error).toEqual(expect.objectContaining({ ename: "UsageError", evalue: "%history: unknown option -x" }));
    expect((await run("%history 3-x")).error?.evalue).toBe('%history: "3-x" is not a range (N, A-B or ~S/A-B)');
    expect((await run("%history -l 0")).error?.evalue).toContain("-l needs a positive count");
  });
});

describe("%reset", () => {
  it("with -f forgets the cells' names but keeps the library and host", async () => {
    await run("let doomed = 1; interface Doomed { a: number }");
    expect((await run("%reset -f")).reply.status).toBe("ok");
    const gone = await run("doomed");
    expect(gone.error?.ename).toBe("TypeScriptError");
    expect(gone.error?.evalue).toContain("Cannot find name 'doomed'");
    expect((await run("const again: number = 2; typeof host.createLabDomain + typeof Machine")).result).toBe("'functionfunction'");
  });

  it("asks first (input_request), and does nothing on no", async () => {
    await run("const kept = 'still here'");
    const pending = k.execute("%reset", { allow_stdin: true });
    const req = await k.waitStdin();
    expect(req.content.prompt).toBe("Once deleted, variables cannot be recovered. Proceed (y/[n])? ");
    await k.replyStdin(req, "n");
    const { iopub } = await pending;
    expect(iopub.find((m) => m.header.msg_type === "execute_result")?.content.data["text/plain"]).toBe("Nothing done.");
    expect((await run("kept")).result).toBe("'still here'");
  });

  it("without stdin or -f fails with a UsageError that says to use -f; a bad argument is named", async () => {
    expect((await run("%reset")).error).toMatchObject({ ename: "UsageError", evalue: expect.stringContaining("use %reset -f") });
    expect((await run("%reset -x")).error?.evalue).toBe("%reset: unknown argument -x (only -f, to skip the confirmation)");
  });
});

describe("%load", () => {
  it("replaces the cell with the file through the set_next_input payload", async () => {
    const file = join(dir, "lesson.ts");
    writeFileSync(file, "const a = 1;\nconst b = 2;\nconst c = 3;\n");
    const r = await run(`%load ${file}`);
    expect(r.reply.payload).toEqual([{ source: "set_next_input", text: `# %load ${file}\nconst a = 1;\nconst b = 2;\nconst c = 3;\n`, replace: true }]);
    const part = await run(`%load -r 2-3 ${file}`);
    expect(part.reply.payload[0].text).toBe(`# %load -r 2-3 ${file}\nconst b = 2;\nconst c = 3;`);
  });

  it("names a missing file, a folder, and a missing argument", async () => {
    expect((await run(`%load ${join(dir, "nope.ts")}`)).error?.evalue).toBe(`%load: cannot read ${join(dir, "nope.ts")}: ENOENT`);
    expect((await run(`%load ${dir}`)).error?.evalue).toBe(`%load: ${dir} is a folder, not a file`);
    expect((await run("%load")).error?.evalue).toBe("%load: needs a file: %load FILE");
  });
});
