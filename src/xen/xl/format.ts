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

/** xentop-style one-shot table (xl top): NAME STATE CPU(sec) CPU(%) MEM(k) MEM(%) MAXMEM(k) MAXMEM(%) VCPUS. */
export function xlTop(host: XenHost, prevCpu: Map<number, number> | undefined, intervalNs: number): string {
  const totalK = host.totalMemoryMiB * 1024;
  let out = "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID\n";
  for (const dom of host.domains.values()) {
    const cpuNs = dom.cpuTime();
    const pct = prevCpu && intervalNs > 0 ? ((cpuNs - (prevCpu.get(dom.domid) ?? 0)) * 100) / intervalNs : 0;
    const memK = dom.totPages * 4, maxK = dom.maxPages * 4;
    out += `${s(dom.name.slice(0, 10), 10)} ${listState(dom).padStart(6)} ${d(cpuNs / 1e9, 10)} ${f(pct, 6, 1)} ${d(memK, 10)} ${f((memK * 100) / totalK, 6, 1)} ${dom.domid === 0 ? s("no limit", 10) : d(maxK, 10)} ${dom.domid === 0 ? s("n/a", 9) : f((maxK * 100) / totalK, 9, 1)} ${d(onlineVcpus(dom), 5)} ${d(0, 4)} ${d(0, 8)} ${d(0, 8)} ${d(0, 4)} ${d(0, 8)} ${d(0, 8)} ${d(0, 8)} ${d(0, 10)} ${d(0, 10)} ${d(0, 4)}\n`;
  }
  return out;
}
