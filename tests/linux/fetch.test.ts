import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ElfFile } from "../../src/machine";
import { XEN_ELFNOTE } from "../../src/xen/abi";
import { readNotes } from "../../src/xen/elf-notes";
import { vmlinuxOfBzImage } from "../../src/xen/loader/bzimage";
import { linuxGuest } from "../support/linux-guest";

describe("Debian's linux-image-cloud-amd64 and busybox-static, fetched with apt", () => {
  it("resolves the versioned kernel package with apt-cache and unpacks the bzImage, its modules and busybox", () => {
    const g = linuxGuest();
    expect(g.package).toMatch(/^linux-image-\d+\.\d+\.\d+-\d+-cloud-amd64$/);
    expect(g.package).toBe(`linux-image-${g.version}`);
    expect(readFileSync(`${g.modules}/kernel/drivers/block/xen-blkfront.ko`).subarray(0, 4)).toEqual(Buffer.from("\x7fELF", "latin1"));
  }, 300_000);

  it("the bzImage's payload decompresses to an ELF vmlinux with Xen's PVH entry note, as file(1) names the kernel", () => {
    const g = linuxGuest();
    const { elf, compression } = vmlinuxOfBzImage(new Uint8Array(readFileSync(g.bzImage)));
    expect(["gzip", "bzip2", "xz", "lzma", "lzo", "lz4", "zstd"]).toContain(compression);
    const f = new ElfFile(elf);
    expect(f.machine).toBe(62);
    expect(readNotes(f).map((n) => n.type)).toContain(XEN_ELFNOTE.PHYS32_ENTRY);
    // The version string inside the decompressed kernel is the one in the package name.
    expect(Buffer.from(elf).includes(`Linux version ${g.version}`)).toBe(true);
  }, 300_000);
});
