/**
 * The real guest: Debian's own kernel from linux-image-cloud-amd64 and an initramfs built from
 * Debian's busybox-static, fetched with `apt-get download` into a cache folder (never committed):
 * `$XENLAB_CACHE/linux-guest`, by default the package root's tests/.artifacts/linux-guest, which the
 * tests, the benches and the notebooks share. The versioned kernel package is resolved with apt-cache (the meta-package depends on
 * it), so a kernel update in the archive is picked up without editing anything here.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../package-root";
import { vmlinuxOfBzImage } from "../xen/loader/bzimage";
import { cpioNewc, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, type CpioEntry } from "./cpio-newc";

/** The cache (never committed), at the package root so tests, the compiled benches and notebooks share it. */
export const ARTIFACTS = join(process.env.XENLAB_CACHE ?? join(PACKAGE_ROOT, "tests", ".artifacts"), "linux-guest");
export const META_PACKAGE = "linux-image-cloud-amd64";
/** The line /init prints first: the boot tests wait for it on the console. */
export const INIT_FIRST_LINE = "xenlab-initramfs: /init is running";

export interface LinuxGuest {
  version: string; // uname -r, e.g. 6.1.0-57-cloud-amd64
  package: string; // the versioned package apt-cache resolved
  bzImage: string; // /boot/vmlinuz-* as shipped
  vmlinux: string; // its ELF payload, decompressed by our bzImage loader
  initrd: string; // the busybox initramfs (cpio newc)
  modules: string; // lib/modules/<version> of the same package
}

const sh = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** linux-image-cloud-amd64 → linux-image-<version>-cloud-amd64, by its Depends line. */
export function resolveKernelPackage(): string {
  const find = () => /Depends:\s*(linux-image-\S+)/.exec(sh("apt-cache", ["depends", META_PACKAGE]))?.[1];
  let pkg: string | undefined;
  try { pkg = find(); } catch { /* no package lists yet */ }
  if (!pkg) { sh("apt-get", ["update", "-qq"]); pkg = find(); }
  if (!pkg) throw new Error(`apt-cache finds no versioned kernel that ${META_PACKAGE} depends on`);
  return pkg;
}

function download(pkg: string, dir: string): string {
  const have = () => readdirSync(dir).find((f) => f.startsWith(pkg + "_") && f.endsWith(".deb"));
  if (!have()) sh("apt-get", ["download", "-q", pkg], dir);
  const deb = have();
  if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${dir}`);
  return join(dir, deb);
}

/** /init: a busybox sh script that says it runs, reports what the kernel found, and powers off. */
export const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /bin /sbin /tmp
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
echo "${INIT_FIRST_LINE}"
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "xenlab-initramfs: uname $(uname -r) cpus $(grep -c ^processor /proc/cpuinfo)"
[ -f /etc/xenlab-run ] && . /etc/xenlab-run
# setsid cttyhack: the shell gets hvc0 as its controlling terminal, so Ctrl-C (ISIG) reaches its jobs.
grep -q xenlab.shell /proc/cmdline && exec setsid cttyhack sh
echo "xenlab-initramfs: done"
poweroff -f
`;

export function buildInitramfs(busybox: Uint8Array, modulesDir: string, version: string, wanted: string[] = ["drivers/block/xen-blkfront.ko"]): Uint8Array {
  const dir = (name: string): CpioEntry => ({ name, mode: S_IFDIR | 0o755 });
  const entries: CpioEntry[] = [
    dir("bin"), dir("dev"), dir("proc"), dir("sys"), dir("etc"), dir("lib"), dir("lib/modules"), dir(`lib/modules/${version}`),
    { name: "dev/console", mode: S_IFCHR | 0o600, rdev: { major: 5, minor: 1 } }, // the kernel opens it for init's stdio
    { name: "bin/busybox", mode: S_IFREG | 0o755, data: busybox },
    { name: "bin/sh", mode: S_IFLNK | 0o777, data: Buffer.from("busybox") },
    { name: "init", mode: S_IFREG | 0o755, data: Buffer.from(INIT_SCRIPT) },
  ];
  for (const m of wanted) {
    const parts = m.split("/");
    for (let i = 1; i < parts.length; i++) entries.push(dir(`lib/modules/${version}/${parts.slice(0, i).join("/")}`));
    entries.push({ name: `lib/modules/${version}/${m}`, mode: S_IFREG | 0o644, data: readFileSync(join(modulesDir, "kernel", m)) });
  }
  const seen = new Set<string>();
  return cpioNewc(entries.filter((e) => (seen.has(e.name) ? false : (seen.add(e.name), true))));
}

let cached: LinuxGuest | undefined;

/** Fetches (once) and prepares the Debian kernel and busybox initramfs. */
export function linuxGuest(): LinuxGuest {
  if (cached) return cached;
  const pkg = resolveKernelPackage();
  const dir = join(ARTIFACTS, pkg);
  mkdirSync(dir, { recursive: true });
  const root = join(dir, "root");
  const kdeb = download(pkg, dir), bdeb = download("busybox-static", dir);
  if (!existsSync(join(root, "boot"))) {
    sh("dpkg-deb", ["-x", kdeb, root]);
    sh("dpkg-deb", ["-x", bdeb, root]);
  }
  const vmlinuz = readdirSync(join(root, "boot")).find((f) => f.startsWith("vmlinuz-"));
  if (!vmlinuz) throw new Error(`${kdeb} has no /boot/vmlinuz-*`);
  const version = vmlinuz.slice("vmlinuz-".length);
  const bzImage = join(root, "boot", vmlinuz);
  const vmlinux = join(dir, "vmlinux");
  if (!existsSync(vmlinux)) writeFileSync(vmlinux, vmlinuxOfBzImage(readFileSync(bzImage)).elf);
  const modules = join(root, "lib", "modules", version);
  const initrd = join(dir, "initrd.cpio");
  writeFileSync(initrd, buildInitramfs(readFileSync(join(root, "bin", "busybox")), modules, version));
  cached = { version, package: pkg, bzImage, vmlinux, initrd, modules };
  return cached;
}
