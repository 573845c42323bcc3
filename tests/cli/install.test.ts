/** `xenlab install` / `uninstall` and their scopes, as `jupyter kernelspec` sees them. */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KERNEL_MAIN } from "../../src/jupyter/client";
import { kernelsDir } from "../../src/jupyter/kernelspec";

const xenlab = (args: string[], env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [KERNEL_MAIN, ...args], { env: { ...process.env, ...env }, encoding: "utf8" });

describe("xenlab install", () => {
  it("--user installs under JUPYTER_DATA_DIR with a chosen name, and uninstall removes it", () => {
    const data = mkdtempSync(join(tmpdir(), "xenlab-data-"));
    const env = { JUPYTER_DATA_DIR: data };
    const r = xenlab(["install", "--user", "--name", "xenlab-class", "--display-name", "XenLab for CS 341"], env);
    expect(r.status, r.stderr).toBe(0);
    const spec = JSON.parse(readFileSync(join(data, "kernels", "xenlab-class", "kernel.json"), "utf8"));
    expect(spec.display_name).toBe("XenLab for CS 341");
    const listed = JSON.parse(execFileSync("jupyter", ["kernelspec", "list", "--json"], { env: { ...process.env, ...env }, encoding: "utf8" }));
    expect(listed.kernelspecs["xenlab-class"].spec.display_name).toBe("XenLab for CS 341");
    const u = xenlab(["uninstall", "--user", "--name", "xenlab-class"], env);
    expect(u.status, u.stderr).toBe(0);
    expect(existsSync(join(data, "kernels", "xenlab-class"))).toBe(false);
  });

  it("--sys-prefix chooses a data directory Jupyter itself searches", () => {
    // Only checks where it would go: writing into the system prefix is for real installs.
    const paths = JSON.parse(execFileSync("jupyter", ["--paths", "--json"], { encoding: "utf8" })) as { data: string[] };
    expect(paths.data.map((d) => join(d, "kernels"))).toContain(kernelsDir({ kind: "sys-prefix" }));
  });

  it("rejects bad arguments with a clear message and exit code 2", () => {
    expect(xenlab(["install", "--user", "--prefix", "/tmp/x"], {}).stderr).toContain("choose one of --user, --prefix");
    expect(xenlab(["install", "--name", "bad name!"], {}).stderr).toContain("may only hold letters");
    const unknown = xenlab(["install", "--frobnicate"], {});
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown option --frobnicate");
    expect(xenlab(["uninstall", "--prefix", mkdtempSync(join(tmpdir(), "x-"))], {}).stderr).toContain("no kernelspec named xenlab");
    expect(xenlab(["launch"], {}).stderr).toContain("unknown command launch");
  });
});
