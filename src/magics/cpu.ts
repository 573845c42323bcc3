/**
 * %%asm and %step: write assembly into a guest and step its vCPU, instruction by instruction;
 * %cpu stats: what the vCPU's dispatch has done (blocks, links, compiles, invalidations, exits).
 * The target is a vCPU held by a cell variable (named, or the only one in scope).
 */
import { Assembler } from "../machine/assembler";
import { listAssembly, ListedLine } from "../machine/asm-listing";
import type { Exit } from "../machine/exits";
import { Vcpu } from "../machine/vcpu";
import { cpuStats } from "../machine/cpu-stats";
import { CpuStatsView } from "../render/cpu-stats";
import { renderListing } from "../render/disasm";
import { escapeXml, MimeBundle } from "../render/mime";
import { currentHost, Domain, XenVcpu } from "../xen";
import { Magic, splitArgs, UsageError } from "./magic";

let assembler: Promise<Assembler> | undefined;
/** Display ids of the %step panels already drawn (the kernel lives as long as they do). */
const shownPanels = new Set<string>();

/** The vCPU a magic acts on: `name` if given, else the only vCPU held by a cell variable. */
export function resolveVcpu(scope: Record<string, unknown>, name: string | undefined, magic: string): { vcpu: Vcpu; name: string } {
  if (name !== undefined) {
    const v = Object.getOwnPropertyDescriptor(scope, name)?.value as unknown;
    if (v instanceof Vcpu) return { vcpu: v, name };
    // A cell variable holding a domain (or a Xen vCPU) means its (first) vCPU.
    if (v instanceof Domain && v.vcpus[0]?.cpu) return { vcpu: v.vcpus[0].cpu, name: `${v.name}:0` };
    if (v instanceof XenVcpu && v.cpu) return { vcpu: v.cpu, name };
    if (v !== undefined) throw new UsageError(`${magic}: ${name} is not a vCPU`);
    // DOMAIN or DOMAIN:N names vCPU N (default 0) of a domain of the current host.
    const m = /^([^:]+)(?::(\d+))?$/.exec(name);
    const d = m ? currentHost().findDomain(/^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!) : undefined;
    const cpu = d?.vcpus[Number(m?.[2] ?? 0)]?.cpu;
    if (cpu) return { vcpu: cpu, name: `${d!.name}:${m?.[2] ?? 0}` };
    throw new UsageError(`${magic}: ${name} is not defined (name a variable holding a vCPU, or DOMAIN[:N] of the host)`);
  }
  // Plain values only: live names (like `host`) are computed on access and hold no vCPU.
  const held = Object.entries(Object.getOwnPropertyDescriptors(scope))
    .filter(([, d]) => "value" in d && d.value instanceof Vcpu)
    .map(([n, d]) => [n, d.value as Vcpu]) as [string, Vcpu][];
  if (held.length === 1) return { vcpu: held[0]![1], name: held[0]![0] };
  if (held.length === 0) throw new UsageError(`${magic}: no vCPU in scope; create one (const vcpu = new Vcpu(...)) or name it`);
  throw new UsageError(`${magic}: several vCPUs are in scope (${held.map(([n]) => n).join(", ")}); name one`);
}

function parseAddress(text: string, what: string): bigint {
  if (!/^(0x[0-9a-f_]+|\d+)$/i.test(text)) throw new UsageError(`${what} must be a number (decimal or 0x hex), not ${text}`);
  return BigInt(text.replace(/_/g, ""));
}

/** What %%asm wrote: the listing of the new code, line by line as nasm -l lists it. */
export class AssembledCode {
  constructor(
    readonly vcpuName: string,
    readonly address: bigint,
    readonly bytes: Uint8Array,
    readonly lines: readonly ListedLine[],
  ) {}

  toMimeBundle(): MimeBundle {
    const title = `${this.bytes.length} bytes at 0x${this.address.toString(16)} in ${this.vcpuName}'s address space`;
    // Data longer than a row is shown 8 bytes a row, its directive on the first (as nasm -l does).
    const rows = this.lines.flatMap((l) => {
      if (l.kind === "code" || l.bytes.length <= 8) return [{ address: l.address, bytes: l.bytes, text: l.text, where: l.label }];
      return Array.from({ length: Math.ceil(l.bytes.length / 8) }, (_, k) => ({
        address: l.address + BigInt(k * 8), bytes: l.bytes.subarray(k * 8, k * 8 + 8), text: k === 0 ? l.text : "", where: k === 0 ? l.label : undefined,
      }));
    });
    const bundle = renderListing(rows.filter((r) => r.bytes.length || r.where), undefined, title);
    return { ...bundle, "text/plain": `${title}\n${bundle["text/plain"]}` };
  }
}

export const asmMagic: Magic = {
  name: "asm",
  kind: "cell",
  summary: "Assemble the cell (NASM syntax) into a guest's memory at its vCPU's RIP.",
  help: [
    "%%asm [VCPU] [--at ADDRESS] [--bits 32|64]",
    "ASSEMBLY",
    "",
    "Assembles the body (NASM syntax, keystone) for ADDRESS (default: the vCPU's RIP), writes it into",
    "the guest through the vCPU's page tables, and sets RIP to ADDRESS. VCPU names a cell variable",
    "holding a vCPU, or DOMAIN[:N] of the host (default: the only vCPU held by a cell variable).",
    "Errors name the line.",
    "",
    "Example:",
    "  %%asm vcpu",
    "  mov ecx, 10",
    "  xor eax, eax",
    "  again: add eax, ecx",
    "  loop again",
    "  hlt",
  ].join("\n"),
  async run(args, body, ctx) {
    const words = splitArgs(args);
    let at: bigint | undefined;
    let bits: 32 | 64 | undefined;
    const names: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w === "--at") at = parseAddress(words[++i] ?? "", "--at");
      else if (w === "--bits") {
        const b = words[++i];
        if (b !== "32" && b !== "64") throw new UsageError("--bits must be 32 or 64");
        bits = Number(b) as 32 | 64;
      } else if (w.startsWith("-")) throw new UsageError(`unknown option ${w}; usage: %%asm [VCPU] [--at ADDRESS] [--bits 32|64]`);
      else names.push(w);
    }
    if (names.length > 1) throw new UsageError("%%asm takes one vCPU name");
    if (!body?.trim()) throw new UsageError("%%asm needs assembly in the cell body");
    const { vcpu, name } = resolveVcpu(ctx.scope, names[0], "%%asm");
    const address = at ?? vcpu.getReg("rip");
    const width = bits ?? (vcpu.mode === "long64" ? 64 : 32);
    assembler ??= Assembler.load();
    const { bytes, starts } = (await assembler).assembleLines(body, { bits: width, address });
    const where = vcpu.translate(address, "exec");
    if ("fault" in where) throw new UsageError(`%%asm: 0x${address.toString(16)} is not mapped executable in ${name}'s address space (${where.fault})`);
    vcpu.writeVirt(address, bytes);
    vcpu.setReg("rip", address);
    return new AssembledCode(name, address, bytes, listAssembly(body, bytes, starts, address, width));
  },
};

/** What %step did: the exits on the way, then the vCPU as it now stands. */
export class StepReport {
  constructor(
    readonly vcpuName: string,
    readonly vcpu: Vcpu,
    readonly steps: number,
    readonly stoppedBy: Exit | undefined,
  ) {}

  summary(): string {
    const x = this.stoppedBy;
    return `${this.vcpuName}: ${this.steps} instruction${this.steps === 1 ? "" : "s"} stepped${x ? `, stopped by a ${x.kind} exit at 0x${Number(x.rip).toString(16)}` : ""}; ${this.vcpu.icount} retired in all`;
  }

  toMimeBundle(): MimeBundle {
    const v = this.vcpu.toMimeBundle();
    return {
      "text/plain": `${this.summary()}\n${v["text/plain"]}`,
      "text/html": `<div><div style="font-family:sans-serif;font-size:12px;margin-bottom:4px">${escapeXml(this.summary())}</div>${(v["text/html"] as string | undefined) ?? `<pre>${escapeXml(v["text/plain"])}</pre>`}</div>`,
    };
  }
}

export const stepMagic: Magic = {
  name: "step",
  kind: "line",
  summary: "Execute N instructions on a vCPU (default 1) and show its registers and code.",
  help: [
    "%step [N] [VCPU] [--panel NAME]",
    "",
    "Executes N instructions (default 1) one at a time on VCPU: a cell variable holding a vCPU, or",
    "DOMAIN[:N] for vCPU N of a host domain (default: the only vCPU held by a cell variable),",
    "stopping early at the first exit that is not a plain step (hlt, a hypercall, a fault, a",
    "breakpoint...), and shows the registers, the disassembly around RIP and the stack. With",
    "--panel NAME the first such step draws a panel and every later one redraws it in place.",
    "",
    "Example:",
    "  %step 5 vcpu",
  ].join("\n"),
  run(args, _body, ctx) {
    const words = splitArgs(args);
    let count = 1;
    let name: string | undefined;
    let panel: string | undefined;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w === "--panel") {
        panel = words[++i];
        if (!panel) throw new UsageError("--panel needs a name");
      } else if (/^\d+$/.test(w)) count = Number(w);
      else if (/^[\w$.:-]+$/.test(w) && name === undefined) name = w;
      else throw new UsageError(`%step: unexpected ${w}; usage: %step [N] [VCPU] [--panel NAME]`);
    }
    if (count < 1 || count > 1_000_000) throw new UsageError("%step: N must be between 1 and 1000000 (use vcpu.run(budget) for long runs)");
    const { vcpu, name: vcpuName } = resolveVcpu(ctx.scope, name, "%step");
    let done = 0;
    let stoppedBy: Exit | undefined;
    while (done < count) {
      const before = vcpu.icount;
      const x = vcpu.step();
      done += vcpu.icount - before;
      if (x.kind !== "budget") {
        stoppedBy = x;
        break;
      }
    }
    const report = new StepReport(vcpuName, vcpu, done, stoppedBy);
    if (panel === undefined) return report;
    // One stationary panel, redrawn in place by every later `%step --panel NAME` (any cell).
    const id = `step-panel-${panel}`;
    if (shownPanels.has(id)) ctx.out.updateDisplay(id, report.toMimeBundle());
    else {
      shownPanels.add(id);
      ctx.out.display(report.toMimeBundle(), { id });
    }
    return undefined;
  },
  complete(_before, { scope }) {
    return Object.entries(Object.getOwnPropertyDescriptors(scope)).filter(([, d]) => "value" in d && d.value instanceof Vcpu).map(([n]) => n);
  },
};

export const cpuMagic: Magic = {
  name: "cpu",
  kind: "line",
  summary: "Show a vCPU's dispatch statistics: blocks, links, compiles, invalidations, exits, faults.",
  help: [
    "%cpu stats [VCPU]",
    "",
    "Counts since the vCPU was created: instructions and blocks run, how each block was found",
    "(chained from the previous block, looked up in the decode cache, compiled), the decode cache",
    "(blocks, code frames, code-frame invalidations), TLB flushes, exits by kind and guest faults by",
    "vector; as text and as a bar chart. VCPU names a cell variable holding a vCPU, or DOMAIN[:N]",
    "of the host (default: the only vCPU held by a cell variable).",
    "",
    "Example:",
    "  %cpu stats vcpu",
  ].join("\n"),
  run(args, _body, ctx) {
    const words = splitArgs(args);
    if (words[0] !== "stats") throw new UsageError(`%cpu: unknown subcommand ${words[0] ?? "(none)"}; usage: %cpu stats [VCPU]`);
    if (words.length > 2) throw new UsageError("%cpu stats takes one vCPU name");
    const { vcpu, name } = resolveVcpu(ctx.scope, words[1], "%cpu stats");
    return new CpuStatsView(name, cpuStats(vcpu));
  },
  complete(before, { scope }) {
    if (!/\bstats\s/.test(before)) return ["stats"];
    return Object.entries(Object.getOwnPropertyDescriptors(scope)).filter(([, d]) => "value" in d && d.value instanceof Vcpu).map(([n]) => n);
  },
};
