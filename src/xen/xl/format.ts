/**
 * xl's output formats, from tools/xl (xl_info.c list_domains and print_info, xl_vcpu.c
 * print_vcpuinfo/vcpulist, xl_sched.c, xl_misc.c uptime). tests/xen/xl-format.test.ts prints the
 * same values through the C format strings with gcc's printf and compares bytes.
 */
import { SHUTDOWN_NAMES, XEN_EXTRA, XEN_MAJOR, XEN_MINOR } from "../abi";
import type { Domain } from "../domain";
import type { XenHost } from "../host";
import { SCHED_DEFAULT_RATELIMIT_US } from "../sched-credit";
import { bitmap, c, d, f, s, seconds } from "./printf";

/** Memory xl shows for a domain: current_memkb / 1024 (tot_pages). */
export function domainMemMiB(dom: Domain): number {
  return Math.floor((dom.totPages * 4) / 1024);
}

export function onlineVcpus(dom: Domain): number {
  return dom.vcpus.filter((v) => v.online).length;
}

/** The flags xl list prints, with dom0 shown running: xl itself runs there when it asks. */
export function listState(dom: Domain): string {
  const st = dom.stateLetters();
  return dom.domid === 0 ? "r" + st.slice(1).replace(/^b/, "-") : st;
}

export function xlList(_host: XenHost, doms: Domain[], verbose = false): string {
  let out = "Name                                        ID   Mem VCPUs\tState\tTime(s)";
  if (verbose) out += "   UUID                            Reason-Code\tSecurity Label";
  out += "\n";
  for (const dom of doms) {
    out += `${s(dom.name, 40, true)} ${d(dom.domid, 5)} ${d(domainMemMiB(dom), 5)} ${d(onlineVcpus(dom), 5)}     ${listState(dom)}  ${f(seconds(dom.cpuTime()), 8, 1)}`;
    if (verbose) {
      out += ` ${dom.uuid}`;
      out += dom.isShutdown ? ` ${(SHUTDOWN_NAMES.indexOf(dom.shutdownReason as (typeof SHUTDOWN_NAMES)[number])).toString(16).padStart(8)}` : ` ${s("-", 8)}`;
      out += ` ${s("-", 16)}`;
    }
    out += "\n";
  }
  return out;
}

export function xlVcpuList(host: XenHost, doms: Domain[]): string {
  const nr = host.pcpus.length;
  let out = `${s("Name", 32, true)} ${s("ID", 5)} ${s("VCPU", 5)} ${s("CPU", 5)} ${s("State", 5)} ${s("Time(s)", 9)} Affinity (Hard / Soft)\n`;
  for (const dom of doms) {
    for (const v of dom.vcpus) {
      const online = v.online;
      out += `${s(dom.name, 32, true)} ${d(dom.domid, 5)} ${d(v.id, 5)}`;
      if (!online) out += `${c("-", 5)} ${c("-", 3)}-p `;
      else out += `${d(v.pcpu, 5)} ${c(v.runstate === "running" ? "r" : "-", 3)}${v.runstate === "blocked" ? "b" : "-"}- `;
      out += `${f(seconds(v.cpuTime(host.now)), 9, 1)}  `;
      out += `${bitmap(v.affinity, nr)} / ${bitmap(undefined, nr)}\n`;
    }
  }
  return out;
}

/** `xl info` (xl_info.c print_info: nodeinfo, physinfo, xeninfo). */
export function xlInfo(host: XenHost): string {
  const lines: [string, string][] = [
    ["host", host.hostname],
    ["release", "6.1.0-xenlab"],
    ["version", "#1 SMP PREEMPT_DYNAMIC xenlab"],
    ["machine", "x86_64"],
    ["nr_cpus", String(host.pcpus.length)],
    ["max_cpu_id", String(host.pcpus.length - 1)],
    ["nr_nodes", "1"],
    ["cores_per_socket", String(host.pcpus.length)],
    ["threads_per_core", "1"],
    ["cpu_mhz", `${Math.floor(host.cpuMHz)}.${String(Math.round((host.cpuMHz * 1000) % 1000)).padStart(3, "0")}`],
    ["hw_caps", "178bfbff:80802001:2c100800:00000001:00000000:00000000:00000000:00000000"],
    ["virt_caps", " hvm hap"],
    ["total_memory", String(host.totalMemoryMiB)],
    ["free_memory", String(host.freeMemoryMiB)],
    ["sharing_freed_memory", "0"],
    ["sharing_used_memory", "0"],
    ["outstanding_claims", "0"],
    ["free_cpus", "0"],
    ["xen_major", String(XEN_MAJOR)],
    ["xen_minor", String(XEN_MINOR)],
    ["xen_extra", XEN_EXTRA],
    ["xen_version", `${XEN_MAJOR}.${XEN_MINOR}${XEN_EXTRA}`],
    ["xen_caps", "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"],
    ["xen_scheduler", "credit"],
    ["xen_pagesize", "4096"],
    ["platform_params", "virt_start=0xffff800000000000"],
    ["xen_changeset", "xenlab"],
    ["xen_commandline", "console=vga loglvl=all"],
    ["cc_compiler", "gcc (Debian) xenlab"],
    ["cc_compile_by", "xenlab"],
    ["cc_compile_domain", "xenlab.invalid"],
    ["cc_compile_date", "Tue Nov 24 2026"],
    ["build_id", "0000000000000000000000000000000000000000"],
    ["xend_config_format", "4"],
  ];
  return lines.map(([k, v]) => `${k.padEnd(23)}: ${v}\n`).join("");
}

/** `xl uptime` (xl_misc.c print_domain_uptime): "%-33s %4s %s" header, days/hh:mm:ss rows. */
export function xlUptime(host: XenHost, doms: Domain[]): string {
  let out = `${s("Name", 33, true)} ${s("ID", 4)} Uptime\n`;
  for (const dom of doms) {
    const secs = Math.floor((host.now - (dom.domid === 0 ? 0 : dom.createdAt)) / 1e9);
    const days = Math.floor(secs / 86400), h = Math.floor((secs % 86400) / 3600), m = Math.floor((secs % 3600) / 60), sec = secs % 60;
    const up = days ? `${days} day${days > 1 ? "s" : ""}, ${d(h, 2)}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}` : `${d(h, 2)}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
    out += `${s(dom.name, 33, true)} ${d(dom.domid, 4)} ${up}\n`;
  }
  return out;
}

/** `xl sched-credit` (xl_sched.c sched_credit_domain_output, sched_credit_pool_output). */
export function xlSchedCredit(host: XenHost, doms: Domain[]): string {
  let out = `Cpupool Pool-0: tslice=${host.sched.tsliceNs / 1e6}ms ratelimit=${SCHED_DEFAULT_RATELIMIT_US}us migration-delay=0us\n`;
  out += `${s("Name", 33, true)} ${s("ID", 4)} ${s("Weight", 6)} ${s("Cap", 4)}\n`;
  for (const dom of doms) out += `${s(dom.name, 33, true)} ${d(dom.domid, 4)} ${d(dom.config.cpuWeight, 6)} ${d(dom.config.cap, 4)}\n`;
  return out;
}

/** xentop's columns (tools/xentop/xentop.c `fields[]`): header, default width. */
export const XENTOP_FIELDS: [string, number][] = [
  ["NAME", 10], ["STATE", 6], ["CPU(sec)", 10], ["CPU(%)", 6], ["MEM(k)", 10], ["MEM(%)", 6], ["MAXMEM(k)", 10], ["MAXMEM(%)", 9],
  ["VCPUS", 5], ["NETS", 4], ["NETTX(k)", 8], ["NETRX(k)", 8], ["VBDS", 4], ["VBD_OO", 8], ["VBD_RD", 8], ["VBD_WR", 8],
  ["VBD_RSECT", 10], ["VBD_WSECT", 10], ["SSID", 4],
];

/** xentop's state letters, in its order d s b c p r (libxenstat's dying/shutdown/blocked/crashed/paused/running). */
export function xentopState(dom: Domain): string {
  const { running, blocked } = dom.runFlags();
  const crashed = dom.shutdownReason === "crash";
  return [dom.dying ? "d" : "-", dom.isShutdown && !crashed ? "s" : "-", blocked ? "b" : "-", crashed ? "c" : "-", dom.paused ? "p" : "-", running ? "r" : "-"].join("");
}

/**
 * `xl top` in batch form (xentop -b): the summary lines and one row per domain, each field
 * printed with xentop's format and separated by a space (do_header/do_domain). CPU(%) compares
 * with the previous sample's CPU time over `intervalNs` of virtual time.
 */
export function xlTop(host: XenHost, prevCpu: Map<number, number> | undefined, intervalNs: number): string {
  const doms = [...host.domains.values()];
  const totK = host.machine.memory.frameCount * 4;
  const freeK = (host.machine.memory.frameCount - host.machine.memory.allocatedFrames) * 4;
  const count = (p: (d: Domain) => boolean) => doms.filter(p).length;
  let out = `xentop - ${(host.now / 1e9).toFixed(2)}s virtual   Xen ${XEN_MAJOR}.${XEN_MINOR}${XEN_EXTRA}\n`;
  out += `${doms.length} domains: ${count((d) => d.runFlags().running)} running, ${count((d) => !d.runFlags().running && d.runFlags().blocked)} blocked, ${count((d) => d.paused)} paused, ${count((d) => d.shutdownReason === "crash")} crashed, ${count((d) => d.dying)} dying, ${count((d) => d.isShutdown && d.shutdownReason !== "crash")} shutdown \n`;
  out += `Mem: ${totK}k total, ${totK - freeK}k used, ${freeK}k free    CPUs: ${host.pcpus.length} @ ${host.cpuMHz}MHz\n`;
  out += XENTOP_FIELDS.map(([h, w]) => h.padStart(w)).join(" ") + "\n";
  for (const dom of doms) {
    const cpuNs = dom.cpuTime();
    const pct = prevCpu && intervalNs > 0 ? ((cpuNs - (prevCpu.get(dom.domid) ?? 0)) / 10) / (intervalNs / 1000) : 0;
    const memK = dom.totPages * 4;
    const unlimited = dom.domid === 0;
    const maxK = dom.maxPages * 4;
    out += [
      dom.name.slice(0, 10).padStart(10), xentopState(dom), d(Math.floor(cpuNs / 1e9), 10), f(pct, 6, 1), d(memK, 10), f((memK / totK) * 100, 6, 1),
      unlimited ? s("no limit", 10) : d(maxK, 10), unlimited ? s("n/a", 9) : f((maxK / totK) * 100, 9, 1), d(dom.vcpus.length, 5),
      d(0, 4), d(0, 8), d(0, 8), d(0, 4), d(0, 8), d(0, 8), d(0, 8), d(0, 10), d(0, 10), d(0, 4),
    ].join(" ") + "\n";
  }
  return out;
}
