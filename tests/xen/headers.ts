/** Compiles small C programs against Debian's libxen-dev headers (the oracle for the ABI). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const XEN_INCLUDES = `
#define __XEN_TOOLS__ 1
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/version.h>
#include <xen/features.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/vcpu.h>
#include <xen/elfnote.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
`;

/** Compiles and runs a host C program, returning its stdout. */
export function runC(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-c-"));
  writeFileSync(join(dir, "t.c"), source);
  execFileSync("gcc", ["-O0", "-w", "-o", join(dir, "t"), join(dir, "t.c")]);
  return execFileSync(join(dir, "t"), { encoding: "utf8" });
}
