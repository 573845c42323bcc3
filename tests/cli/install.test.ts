/** `xenlab install` / `uninstall` and their scopes, as `jupyter kernelspec` sees them. */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KERNEL_MAIN } from "../../src/jupyter/client";

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

  it("--sys-prefix installs into a virtual environment's prefix, where Jupyter itself looks", () => {
    const venv = mkdtempSync(join(tmpdir(), "xenlab-venv-"));
    execFileSync("/usr/bin/python3", ["-m", "venv", "--system-site-packages", "--without-pip", venv]);
    const env = { PATH: `${join(venv, "bin")}:${process.env.PATH}` };
    const r = xenlab(["install", "--sys-prefix"], env);
    expect(r.status, r.stderr).toBe(0);
    const dir = join(venv, "share", "jupyter", "kernels", "xenlab");
    expect(r.stdout).toContain(`in ${dir}`);
    const paths = JSON.parse(execFileSync(join(venv, "bin", "python3"), ["-m", "jupyter", "--paths", "--json"], { encoding: "utf8" })) as { data: string[] };
    expect(paths.data.map((d) => join(d, "kernels"))).toContain(join(venv, "share", "jupyter", "kernels"));
    expect(existsSync(join(dir, "kernel.json"))).toBe(true);
  });

  it("--sys-prefix refuses a Python that is not an environment (a system-wide write) and says what to do", () => {
    // Only Debian's /usr/bin/python3 (sys.prefix = /usr) can be found on this PATH.
    const r = xenlab(["install", "--sys-prefix"], { PATH: "/usr/bin:/bin" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("is not a virtual environment (its sys.prefix is /usr)");
    expect(r.stderr).toContain("xenlab install");
    expect(existsSync("/usr/share/jupyter/kernels/xenlab")).toBe(false);
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
