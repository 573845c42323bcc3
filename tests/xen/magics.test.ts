/** %xl, %%xl create, %run and %xenstore against the shared host, as a notebook uses them. */
import { describe, expect, it } from "vitest";
import { xlMagic, runMagic, parseDuration } from "../../src/magics/xl";
import { xenstoreMagic } from "../../src/magics/xenstore";
import { UsageError } from "../../src/magics/magic";
import { currentHost, setCurrentHost } from "../../src/xen";
import { MimeBundle } from "../../src/render/mime";
import { buildPvhGuest } from "./guest-build";
import { recordingContext } from "../support/magic-context";

const ctx = recordingContext;
const text = (v: unknown) => (v as { toMimeBundle(): MimeBundle }).toMimeBundle()["text/plain"];

describe("magics over the current host", () => {
  it("currentHost() is created once and shared", () => {
    setCurrentHost({ pcpus: 2, memoryMiB: 512 });
    expect(currentHost()).toBe(currentHost());
    expect(text(xlMagic.run("list", undefined, ctx().c))).toMatch(/^Name\s+ID\s+Mem/);
  });

  it("%%xl create -c boots the C guest with a live console display", () => {
    const k = ctx();
    xlMagic.run("create -c", `name = "demo"\ntype = "pvh"\nkernel = "${buildPvhGuest().path}"\nmemory = 32\ncmdline = "role=xsbench rounds=3"\non_poweroff = "preserve"`, k.c);
    expect(k.streams.join("")).toBe("Parsing config from <cell>\n");
    expect(k.shown[0]!.id).toMatch(/^xl-console-/);
    const last = k.updates[k.updates.length - 1]!;
    expect(last.id).toBe(k.shown[0]!.id);
    expect(last.bundle["text/plain"]).toContain("xsbench: 3 reads of name=demo");
    expect(last.bundle["text/html"]).toContain("domain shut down");
    expect(text(xlMagic.run("list demo", undefined, k.c))).toMatch(/demo\s+1\s+32\s+1\s+---s--/);
  });

  it("%run advances virtual time and reports why it stopped", () => {
    const t0 = currentHost().now;
    const r = text(runMagic.run("10ms", undefined, ctx().c));
    expect(currentHost().now).toBe(t0 + 10e6);
    expect(r).toMatch(/^ran 10\.000 ms of virtual time/);
    expect(parseDuration("1.5s")).toBe(1.5e9);
    expect(() => parseDuration("soon")).toThrow(UsageError);
    expect(() => runMagic.run("--until nothing", undefined, ctx().c)).toThrow(/--until takes idle/);
  });

  it("%xenstore reads, writes, lists and reports errors by name", () => {
    const k = ctx();
    xenstoreMagic.run("write /tool/lab hello", undefined, k.c);
    expect(text(xenstoreMagic.run("read /tool/lab", undefined, k.c))).toBe("hello");
    expect(text(xenstoreMagic.run("ls /local/domain/1", undefined, k.c))).toContain('/local/domain/1/name = "demo"');
    expect(text(xenstoreMagic.run("perms /local/domain/1", undefined, k.c))).toBe("n0 r1");
    expect(() => xenstoreMagic.run("read /nope", undefined, k.c)).toThrow(/xenstore: ENOENT/);
    expect(xenstoreMagic.complete!("read /local/domain/", { scope: {} })).toContain("/local/domain/1");
  });

  it("xl errors become UsageErrors with xl's message; completion offers subcommands and names", () => {
    expect(() => xlMagic.run("pause ghost", undefined, ctx().c)).toThrow(/invalid domain identifier: ghost/);
    expect(() => xlMagic.run("list", "body", ctx().c)).toThrow(/%%xl takes only `create`/);
    expect(xlMagic.complete!("vcpu-", { scope: {} })).toEqual(["vcpu-list", "vcpu-pin", "vcpu-set"]);
    expect(xlMagic.complete!("console de", { scope: {} })).toEqual(["demo"]);
  });
});

describe("%xl console --input", () => {
  it("types into the console ring; the echo guest answers on the live console", async () => {
    const { echoGuest } = await import("./helpers");
    const host = currentHost();
    host.createLabDomain("echo", echoGuest());
    const k = ctx();
    xlMagic.run("console echo --input 'ping\\n'", undefined, k.c);
    const last = k.updates[k.updates.length - 1]!;
    expect(last.bundle["text/plain"]).toBe("ping\n");
    expect(() => xlMagic.run("console nobody", undefined, ctx().c)).toThrow(/invalid domain identifier: nobody/);
  });
});
