import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDisplayable } from "../../src/render/mime";
import { mountDisk, RawImageForTests } from "./fixtures";
import { hostTree, join, makeImage, run, tempDir, tryRun, writeTree } from "./helpers";

/** The views: tree listings (text and HTML), filesystem summaries and the partition picture. */
const tmp = tempDir("render");
const SRC = join(tmp.dir, "src");
const IMG = join(tmp.dir, "ext4.img");

beforeAll(() => {
  writeTree(SRC, {
    "a<b>&c.txt": "markup in a name\n",
    "docs/readme.md": "# readme\n",
    "docs/guide/ch1.txt": "x".repeat(5000),
    "bin/sh": { symlink: "/bin/busybox" },
    "empty": null,
  });
  makeImage(IMG, 8 * 1024 * 1024);
  run("mke2fs", ["-q", "-F", "-t", "ext4", "-L", "rootfs", "-d", SRC, IMG]);
});
afterAll(() => tmp.cleanup());

describe("tree views", () => {
  it("lists every entry once in text, with counts that match the source", () => {
    const fs = mountDisk(RawImageForTests.open(IMG, { readOnly: true })).fs();
    const tree = fs.tree("/");
    const text = tree.toMimeBundle()["text/plain"];
    const host = hostTree(SRC);
    const dirs = [...host.values()].filter((e) => e.type === "dir").length + 1; // + lost+found
    const files = host.size - dirs + 1;
    expect(text.split("\n")[0]).toBe('ext4 "rootfs" /');
    expect(text).toContain(`${dirs} directories, ${files} files`);
    expect(text).toContain("└── sh -> /bin/busybox");
    expect(text).toContain("ch1.txt (4.9 KiB)");
    for (const p of host.keys()) expect(text).toContain(p.split("/").pop()!);
  });

  it("escapes names in HTML and bounds the listing", () => {
    const fs = mountDisk(RawImageForTests.open(IMG, { readOnly: true })).fs();
    const html = String(fs.tree("/").toMimeBundle()["text/html"]);
    expect(html).toContain("a&lt;b&gt;&amp;c.txt");
    expect(html).not.toContain("a<b>");
    expect(html.match(/<details/g)?.length).toBe(6); // /, bin, docs, docs/guide, empty, lost+found
    const small = fs.tree("/", { maxEntries: 2 });
    expect(small.omitted).toBeGreaterThan(0);
    expect(small.toMimeBundle()["text/plain"]).toMatch(/more not shown/);
  });

  it("a filesystem and a disk display themselves", () => {
    const disk = mountDisk(RawImageForTests.open(IMG, { readOnly: true }));
    expect(isDisplayable(disk)).toBe(true);
    expect(isDisplayable(disk.fs())).toBe(true);
    const fsText = disk.fs().toMimeBundle()["text/plain"];
    const df = run("dumpe2fs", ["-h", IMG]);
    const free = Number(/^Free blocks:\s+(\d+)/m.exec(df)![1]) * Number(/^Block size:\s+(\d+)/m.exec(df)![1]);
    expect(disk.fs().freeBytes()).toBe(free);
    expect(fsText.split("\n")[0]).toMatch(/^ext4 "rootfs": 8\.0 MiB, [\d.]+ MiB free, read-only$/);
    const svg = String(disk.toMimeBundle()["image/svg+xml"]);
    const check = tryRun("/usr/bin/python3", ["-c", "import sys, xml.dom.minidom as m; m.parseString(sys.argv[1])", svg]);
    expect(check.status, check.out).toBe(0);
    expect(svg).toContain("unpartitioned");
  });
});
