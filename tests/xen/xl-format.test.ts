/**
 * `xl list`, `xl vcpu-list`, `xl info`, `xl uptime` and `xl sched-credit` output compared byte for
 * byte with gcc's printf running xl's own format strings (tools/xl/xl_info.c, xl_vcpu.c,
 * xl_sched.c) on the same values read from the model.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { runXl } from "../../src/xen/xl/xl";
import { domainMemMiB, listState, onlineVcpus, xentopState, xlTop } from "../../src/xen/xl/format";
import { bitmap } from "../../src/xen/xl/printf";
import { runC } from "./headers";
import { labCode } from "./helpers";

const cstr = (s: string) => JSON.stringify(s);
let host: XenHost;

beforeAll(() => {
  host = new XenHost({ pcpus: 4, memoryMiB: 1024 });
  // A busy domain (spins), a blocked one, a paused one, a pinned one and one that crashes.
  host.createLabDomain("spinner", labCode("l: inc rax\n jmp l"), { vcpus: 2 });
  host.createLabDomain("sleeper", labCode("sti\n l: hlt\n jmp l"));
  host.createLabDomain("frozen", labCode("l: jmp l"), { paused: true, memoryMiB: 24 });
  host.createLabDomain("pinned-guest-with-a-rather-long-name-here", labCode("l: pause\n jmp l"), { extra: 'cpus = "1-2"\ncpu_weight = 512\ncap = 50' });
  host.createLabDomain("crasher", labCode("mov dword [0], 1\n mov edi, 2\n lea rsi, [rel r]\n call HC(29)\n r: dd 3"), { extra: 'on_crash = "preserve"' });
  host.run({ ns: 35_000_000 });
});

describe("xl list", () => {
  it("matches printf(\"%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f\") for every domain", () => {
    const doms = [...host.domains.values()];
    let body = `printf("Name                                        ID   Mem VCPUs\\tState\\tTime(s)\\n");\n`;
    for (const d of doms) {
      const st = listState(d);
      const chars = [...st].map((c) => `'${c}'`).join(", ");
      body += `printf("%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f\\n", ${cstr(d.name)}, ${d.domid}, (unsigned long)${domainMemMiB(d)}, ${onlineVcpus(d)}, ${chars}, ((float)${Math.round(d.cpuTime())}ULL / 1e9));\n`;
    }
    const expected = runC(`#include <stdio.h>\nint main(void){\n${body}return 0;}\n`);
    expect(runXl(host, ["list"]).stdout).toBe(expected);
  });

  it("shows the states: r for the spinner, b for the sleeper, p for the paused, s+c for the crashed", () => {
    const out = runXl(host, ["list"]).stdout;
    expect(out).toMatch(/^spinner\s+1\s+\d+\s+1\s+r-----/m); // the AP is down until VCPUOP_up
    expect(out).toMatch(/^sleeper\s+2\s+\d+\s+1\s+-b----/m);
    expect(out).toMatch(/^frozen\s+3\s+24\s+1\s+--p---/m);
    expect(out).toMatch(/^crasher\s+5\s+\d+\s+1\s+---sc-/m);
    expect(runXl(host, ["vcpu-list", "spinner"]).stdout).toMatch(/spinner\s+1\s+1\s+-\s+--p /);
    expect(out).toMatch(/^Domain-0\s+0\s+256\s+4\s+r-----/m);
    expect(JSON.parse(runXl(host, ["list", "-l", "crasher"]).stdout)[0].crash_reason).toMatch(/guest requested crash/);
  });
});

describe("xl vcpu-list", () => {
  it("matches the header and print_vcpuinfo's printf formats", () => {
    const doms = [...host.domains.values()];
    let body = `printf("%-32s %5s %5s %5s %5s %9s %s\\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)", "Affinity (Hard / Soft)");\n`;
    for (const d of doms) for (const v of d.vcpus) {
      body += `printf("%-32s %5u %5u", ${cstr(d.name)}, ${d.domid}, ${v.id});\n`;
      const online = v.online;
      if (!online) body += `printf("%5c %3c%cp ", '-', '-', '-');\n`;
      else body += `printf("%5u %3c%c- ", ${v.pcpu}, '${v.runstate === "running" ? "r" : "-"}', '${v.runstate === "blocked" ? "b" : "-"}');\n`;
      body += `printf("%9.1f  ", ((float)${Math.round(v.cpuTime(host.now))}ULL / 1e9));\n`;
      body += `printf("%s / %s\\n", ${cstr(bitmap(v.affinity, 4))}, "all");\n`;
    }
    const expected = runC(`#include <stdio.h>\nint main(void){\n${body}return 0;}\n`);
    expect(runXl(host, ["vcpu-list"]).stdout).toBe(expected);
    expect(runXl(host, ["vcpu-list", "pinned-guest-with-a-rather-long-name-here"]).stdout).toContain(" 1-2 / all\n");
  });
});

describe("xl top", () => {
  it("rows follow xentop's field formats (%10.10s, %6.1f, %10llu ...) joined by spaces", () => {
    const prev = new Map([...host.domains.values()].map((d) => [d.domid, d.cpuTime()]));
    host.run({ ns: 10e6 });
    const out = xlTop(host, prev, 10e6);
    const doms = [...host.domains.values()];
    const totK = host.machine.memory.frameCount * 4;
    let body = `printf("%10s %6s %10s %6s %10s %6s %10s %9s %5s %4s %8s %8s %4s %8s %8s %8s %10s %10s %4s\\n", "NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)", "MAXMEM(%)", "VCPUS", "NETS", "NETTX(k)", "NETRX(k)", "VBDS", "VBD_OO", "VBD_RD", "VBD_WR", "VBD_RSECT", "VBD_WSECT", "SSID");\n`;
    for (const d of doms) {
      const cpu = Math.round(d.cpuTime()), memK = d.totPages * 4, maxK = d.maxPages * 4;
      const pct = `((${cpu}ULL - ${Math.round(prev.get(d.domid) ?? 0)}ULL) / 10.0) / 10000.0`;
      const max = d.domid === 0 ? `printf("%10s ", "no limit"); printf("%9s ", "n/a");` : `printf("%10llu ", ${maxK}ULL); printf("%9.1f ", (double)${maxK}ULL * 1024 / (double)(${totK}ULL * 1024) * 100);`;
      body += `printf("%10.10s %s %10llu %6.1f %10llu %6.1f ", ${cstr(d.name)}, ${cstr(xentopState(d))}, ${cpu}ULL / 1000000000, ${pct}, ${memK}ULL, (double)${memK}ULL * 1024 / (double)(${totK}ULL * 1024) * 100); ${max} printf("%5u %4u %8llu %8llu %4u %8llu %8llu %8llu %10llu %10llu %4u\\n", ${d.vcpus.length}, 0, 0ULL, 0ULL, 0, 0ULL, 0ULL, 0ULL, 0ULL, 0ULL, 0);\n`;
    }
    const expected = runC(`#include <stdio.h>\nint main(void){\n${body}return 0;}\n`);
    expect(out.split("\n").slice(3).join("\n")).toBe(expected);
    expect(out).toMatch(/^   spinner -----r /m);
    expect(out.split("\n")[1]).toMatch(/^6 domains: \d+ running, \d+ blocked, 1 paused, 1 crashed, 0 dying, 0 shutdown $/);
  });
});

describe("xl info, uptime, sched-credit", () => {
  it("xl info lines are maybe_printf(\"%-23s: %s\") key/value pairs in xl's order", () => {
    const out = runXl(host, ["info"]).stdout;
    const keys = out.trim().split("\n").map((l) => l.slice(0, 23).trim());
    expect(keys.slice(0, 6)).toEqual(["host", "release", "version", "machine", "nr_cpus", "max_cpu_id"]);
    expect(keys[keys.length - 1]).toBe("xend_config_format");
    expect(out).toContain("nr_cpus                : 4\n");
    expect(out).toContain("total_memory           : 1024\n");
    expect(out).toContain("xen_scheduler          : credit\n");
    expect(out).toContain("cpu_mhz                : 1000.000\n");
    const expected = runC(`#include <stdio.h>\nint main(void){ printf("nr_cpus                : %d\\n", 4); printf("cpu_mhz                : %d.%03d\\n", 1000000/1000, 1000000%1000); return 0; }`);
    for (const line of expected.trim().split("\n")) expect(out).toContain(line + "\n");
  });

  it("xl sched-credit prints the pool line and \"%-33s %4d %6d %4d\" rows", () => {
    const out = runXl(host, ["sched-credit"]).stdout;
    const expected = runC(`#include <stdio.h>\nint main(void){ printf("Cpupool %s: tslice=%dms ratelimit=%dus migration-delay=%dus\\n", "Pool-0", 30, 1000, 0); printf("%-33s %4s %6s %4s\\n", "Name", "ID", "Weight", "Cap"); printf("%-33s %4d %6d %4d\\n", "pinned-guest-with-a-rather-long-name-here", 4, 512, 50); return 0; }`);
    const [pool, header, row] = expected.split("\n");
    expect(out.startsWith(pool + "\n" + header + "\n")).toBe(true);
    expect(out).toContain(row + "\n");
  });

  it("xl uptime prints \"%-33s %4s %s\" header and hh:mm:ss", () => {
    const out = runXl(host, ["uptime", "spinner"]).stdout;
    const expected = runC(`#include <stdio.h>\nint main(void){ printf("%-33s %4s %s\\n", "Name", "ID", "Uptime"); printf("%-33s %4d %2d:%02d:%02d\\n", "spinner", 1, 0, 0, 0); return 0; }`);
    expect(out).toBe(expected);
  });

  it("bad domains and commands fail like xl", () => {
    const r = runXl(host, ["pause", "nosuch"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe("invalid domain identifier: nosuch\n");
    expect(runXl(host, ["domname", "99"]).stderr).toContain("Can't get domain name of domain id '99'");
    expect(runXl(host, ["domid", "sleeper"]).stdout).toBe("2\n");
  });
});
