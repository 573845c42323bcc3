/**
 * Builds the nasm PV guests in tests/xen/programs: xen-abi.inc is written from Debian's
 * libxen-dev headers by gcc (the hypercall numbers, MMUEXT_*, UVMF_*, start_info offsets), so
 * the guest uses Xen's numbers, not the model's; then nasm assembles and ld links at VIRT_BASE.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XEN_INCLUDES, runC } from "./headers";

export const PROGRAMS = join(__dirname, "programs");

const NAMES = [
  "__HYPERVISOR_mmu_update", "__HYPERVISOR_mmuext_op", "__HYPERVISOR_update_va_mapping", "__HYPERVISOR_console_io", "__HYPERVISOR_sched_op",
  "MMUEXT_PIN_L1_TABLE", "MMUEXT_PIN_L2_TABLE", "MMUEXT_PIN_L3_TABLE", "MMUEXT_PIN_L4_TABLE", "MMUEXT_UNPIN_TABLE", "MMUEXT_NEW_BASEPTR",
  "MMUEXT_TLB_FLUSH_LOCAL", "MMUEXT_INVLPG_LOCAL", "MMU_NORMAL_PT_UPDATE", "MMU_MACHPHYS_UPDATE", "UVMF_INVLPG", "UVMF_TLB_FLUSH", "UVMF_LOCAL",
  "DOMID_SELF", "CONSOLEIO_write", "SCHEDOP_shutdown", "SHUTDOWN_poweroff",
  "XEN_ELFNOTE_ENTRY", "XEN_ELFNOTE_HYPERCALL_PAGE", "XEN_ELFNOTE_VIRT_BASE", "XEN_ELFNOTE_XEN_VERSION", "XEN_ELFNOTE_GUEST_OS", "XEN_ELFNOTE_LOADER",
];
const OFFSETS = ["nr_pages", "shared_info", "store_mfn", "pt_base", "nr_pt_frames", "mfn_list", "cmd_line"];

let inc: string | undefined;
/** `%define NAME value` lines for every number the guests use, printed by a C program against the headers. */
export function xenAbiInclude(): string {
  inc ??= runC(`${XEN_INCLUDES}\nint main(void){\n${[
    ...NAMES.map((n) => `printf("%%define ${n} %lld\\n", (long long)(${n}));`),
    ...OFFSETS.map((f) => `printf("%%define SI_${f} %zu\\n", offsetof(start_info_t, ${f}));`),
  ].join("\n")}\nreturn 0;}\n`);
  return inc;
}

/** Assembles and links a program (nasm -f elf64, ld at VIRT_BASE); `defines` become nasm -D. */
export function buildPvProgram(name: string, defines: Record<string, string | number | true> = {}): { path: string; bytes: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-pv-"));
  writeFileSync(join(dir, "xen-abi.inc"), xenAbiInclude());
  copyFileSync(join(PROGRAMS, `${name}.asm`), join(dir, `${name}.asm`));
  const d = Object.entries(defines).map(([k, v]) => (v === true ? `-D${k}` : `-D${k}=${v}`));
  execFileSync("nasm", ["-f", "elf64", "-I", `${dir}/`, ...d, "-o", join(dir, `${name}.o`), join(dir, `${name}.asm`)]);
  const out = join(dir, `${name}.elf`);
  execFileSync("ld", ["-o", out, "-Ttext=0xffffffff80001000", "--build-id=none", "-z", "max-page-size=4096", join(dir, `${name}.o`)]);
  return { path: out, bytes: new Uint8Array(readFileSync(out)) };
}
