/** Real guests a notebook can boot: Debian's own kernel and a busybox initramfs, fetched with apt. */
export { linuxGuest, buildInitramfs, resolveKernelPackage, INIT_FIRST_LINE, INIT_SCRIPT, META_PACKAGE } from "./debian-linux";
export type { LinuxGuest } from "./debian-linux";
export { cpioNewc } from "./cpio-newc";
export type { CpioEntry } from "./cpio-newc";
