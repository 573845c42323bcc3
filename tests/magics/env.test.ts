/** %env reads and sets the kernel's environment; programs the kernel starts (sh here) see it. */
import { afterAll, describe, expect, it } from "vitest";
import { Cells } from "../support/cells";

const cells = new Cells();
afterAll(() => {
  delete process.env.XENLAB_ENV_TEST;
  cells.close();
});

describe("%env", () => {
  it("sets a variable that a shell started by a later cell prints", async () => {
    expect((await cells.run("%env XENLAB_ENV_TEST=hello world")).text).toBe("env: XENLAB_ENV_TEST=hello world");
    const sh = await cells.run(`require("node:child_process").execFileSync("sh", ["-c", "printf %s \\"$XENLAB_ENV_TEST\\""]).toString()`);
    expect(sh.errors).toEqual([]);
    expect(sh.text).toBe("'hello world'");
    expect((await cells.run("%env XENLAB_ENV_TEST")).text).toBe("hello world");
    await cells.run("%env XENLAB_ENV_TEST second");
    expect((await cells.run("%env")).text.split("\n")).toContain("XENLAB_ENV_TEST=second");
  });

  it("names what was wrong: an unset variable, a bad name", async () => {
    expect((await cells.run("%env XENLAB_NEVER_SET")).errors[0]?.evalue).toBe("%env: environment variable XENLAB_NEVER_SET is not set");
    expect((await cells.run("%env 9lives=1")).errors[0]?.evalue).toContain('"9lives" is not a variable name');
  });
});
