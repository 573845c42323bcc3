/**
 * Every honest check refuses the answers that skip the work. For each check, the solutions
 * notebook is run with that exercise's answer cells replaced by a cheat of a kind students try
 * (setting the register or counter the check reads, printing or logging the expected text, making
 * an object under the expected name without doing the operation, sending to a port nobody listens
 * on); the check must say "not yet" to every one. The real answers pass in notebooks.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KERNEL_MAIN } from "../../src/jupyter/client";
import { PACKAGE_ROOT } from "../../src/package-root";

interface Cell { cell_type: string; source: string; metadata: Record<string, unknown>; outputs?: { text?: string | string[]; data?: Record<string, string | string[]> }[]; execution_count?: number | null }
const join1 = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : v ?? "");
const OUT = join(PACKAGE_ROOT, "dist", "notebooks-cheats");

/** The solutions notebook with exercise `n`'s answer cells replaced by `cells`; returns that check's output. */
function runWithCheat(notebook: string, n: number | undefined, cells: string[], tag: string): string {
  const nb = JSON.parse(readFileSync(join(PACKAGE_ROOT, "notebooks", "solutions", `${notebook}-solutions.ipynb`), "utf8")) as { cells: Cell[] };
  const checkHead = n === undefined ? "// Check for exercise\n" : `// Check for exercise ${n}\n`;
  const check = nb.cells.findIndex((c) => c.cell_type === "code" && c.source.startsWith(checkHead));
  const title = n === undefined ? "## Exercise" : `**Exercise ${n}.**`;
  let start = check;
  while (start > 0 && !(nb.cells[start - 1]!.cell_type === "markdown" && nb.cells[start - 1]!.source.includes(title))) start--;
  expect(check, `${notebook} has ${checkHead.trim()}`).toBeGreaterThan(0);
  // Setup cells the notebook itself gives (not the answer) stay.
  const keep = nb.cells.slice(start, check).filter((c) => c.cell_type === "code" && /^(\/\/ Remember|let answer)/.test(c.source));
  const code = (source: string): Cell => ({ cell_type: "code", source, metadata: {}, outputs: [], execution_count: null });
  nb.cells.splice(start, check - start, ...keep, ...cells.map(code));
  mkdirSync(OUT, { recursive: true });
  const input = join(OUT, `${notebook}-${tag}.ipynb`), output = join(OUT, `${notebook}-${tag}.out.ipynb`);
  writeFileSync(input, JSON.stringify(nb, null, 1));
  const r = spawnSync(process.execPath, [KERNEL_MAIN, "run", input, "-o", output, "--allow-errors"], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const ran = (JSON.parse(readFileSync(output, "utf8")) as { cells: Cell[] }).cells;
  const text = (c: Cell) => (c.outputs ?? []).map((o) => join1(o.text) || join1(o.data?.["text/plain"])).join("\n");
  // The control: the notebook's other checks, answered for real, still pass in the same run.
  for (const other of ran.filter((x) => x.cell_type === "code" && x.source.startsWith("// Check for exercise") && !x.source.startsWith(checkHead))) {
    expect(text(other), `${notebook}: another check broke`).toMatch(/: correct/);
  }
  return text(ran.find((x) => x.cell_type === "code" && x.source.startsWith(checkHead))!);
}

const LAB = (name: string, extra = "") => `%%xl create -p\nname = "${name}"\ntype = "lab"\nmemory = 16\n${extra}`;
const PRINT = (msg: string, len: number) => `    mov r12, rdi
    mov edi, 0
    mov esi, ${len}
    lea rdx, [rel msg]
    lea rax, [r12 + 18*32]
    call rax
    mov edi, 2
    lea rsi, [rel reason]
    lea rax, [r12 + 29*32]
    call rax
    hlt
msg: db "${msg}", 10
reason: dd 0`;

/** A PV guest "ex1" (notebook 11's pvGuest) that only shuts down: it asks Xen for no mapping. */
const NOOP_PV_EX1 = `const ex1 = await pvGuest("ex1", \`
    mov edi, 2
    lea rsi, [rel reason]
    call \${HC(29)}
    hlt
reason: dd 0\`);`;

/** [notebook, exercise, cheat name, cells]. */
const CHEATS: [string, number | undefined, string, string[]][] = [
  ["00-tour", undefined, "sets the register", ['vcpu.setReg("rax", 210n)']],
  ["00-tour", undefined, "loads the answer without the loop", ["%%asm vcpu --at 0x2000\n    mov eax, 210\n    hlt", "vcpu.run(1000)"]],
  ["00-tour", undefined, "prints the expected text", ['console.log("Exercise: correct (eax = 210)")']],
  ["01-domains-and-vcpus", 1, "edits the config object", [`%%xl create -p\nname = "ex1"\ntype = "lab"\nmemory = 16`, "const cfg = host.domain(\"ex1\").config as any; cfg.vcpus = 2; cfg.memory = 32;"]],
  ["02-hypercalls", 1, "prints the expected text", ['console.log("(d5) Xen inside Longhorn")']],
  ["02-hypercalls", 1, "writes the line into Xen's console from the host", [LAB("ex1"), 'host.consoleIoWrite(host.domain("ex1"), "Xen inside Longhorn\\n");\nhost.log("(d1) Xen inside Longhorn", false);']],
  ["02-hypercalls", 1, "pushes the line onto dmesg", [LAB("ex1"), 'try { (host.dmesg as string[]).push("(d1) Xen inside Longhorn"); } catch (e) { console.log(String(e)); }']],
  ["02-hypercalls", 1, "lets another domain print it", [LAB("other"), `%%asm other\n${PRINT("Xen inside Longhorn", 20)}`, LAB("ex1"), "%xl unpause other\n%run 1ms"]],
  ["02-hypercalls", 2, "prints the string without asking Xen", [LAB("ex2"), `%%asm ex2\n${PRINT(".0-xenlab", 10)}`, "%xl unpause ex2\n%run 1ms"]],
  ["04-event-channels-and-xenstore", 2, "sends to a port nobody listens on", [
    'const ex2 = host.createLabDomain("ex2", Uint8Array.from([0xf4]), { paused: true });\nconst p2 = ex2.evtchn.alloc("unbound", { remoteDom: domId(0), label: "nobody" })!.port;',
    `%%asm ex2
    mov r12, rdi
    mov r14d, 5
again:
    mov edi, 4
    mov rsi, 0x180004
    lea rax, [r12 + 32*32]
    call rax
    dec r14d
    jnz again
    mov edi, 2
    mov rsi, 0x180008
    lea rax, [r12 + 29*32]
    call rax
    hlt`,
    "ex2.guest.setU32(0x180004, p2);\nex2.guest.setU32(0x180008, 0);\n%xl unpause ex2\n%run 1ms"]],
  ["04-event-channels-and-xenstore", 2, "counts by hand", ['host.createLabDomain("ex2", Uint8Array.from([0xf4]), { paused: true });\nnotifications = 5;']],
  ["05-vhd", 2, "makes a standalone disk instead of a snapshot", ['%vhd create -t dynamic ex2.vhd 100M', 'const d2 = VhdDisk.open("ex2.vhd"); d2.write(1024 * 1024, new TextEncoder().encode("Longhorn")); d2.close();']],
  ["06-pv-block", 2, "writes copied.txt by hand", ['fs.writeFileSync("copied.txt", "Virtual Server 2005 disks, served by Xen.\\n");']],
  ["06-pv-block", 2, "reads the text from the image and writes the file itself", ['const img = mountImage("data.vhd");\nfs.writeFileSync("copied.txt", img.cat("/README.TXT", "utf8") as string);\nimg.close();']],
  ["05-vhd", 1, "makes a differencing disk of a 512 KiB-block parent", ['%vhd create -t dynamic -b 512K base.vhd 100M', '%vhd snapshot base.vhd ex1.vhd']],
  ["07-longhorn", 1, "sets the console text", ['const suse = longhorn.createChild({ name: "suse", code: Uint8Array.from([0xf4]) });\nlonghorn.run({ ns: 1e6 });\n(suse as any).console = "SUSE Linux Enterprise on Longhorn\\n";']],
  ["07-longhorn", 2, "sets the register", ['const version = longhorn.createChild({ name: "version", xenAdapter: true, code: Uint8Array.from([0xf4]) });\nlonghorn.run({ ns: 1e6 });\nversion.vps[0]!.cpu.setReg("r13", 0x40011n);']],
  ["08-virtual-server-import", 1, "writes its own .vmc (no version, the memory changed)", ['fs.writeFileSync("W2K3/W2K3.vmc", utf16(vmcText.replace(">384<", ">512<").replace(/ *<version[^\\n]*\\n/, "")));']],
  ["08-virtual-server-import", 1, "writes the .vmc as UTF-8", ['fs.writeFileSync("W2K3/W2K3.vmc", vmcText.replace(">384<", ">512<"));']],
  ["08-virtual-server-import", 2, "creates an empty partition under the name", ['longhorn.createChild({ name: "W2K3-clone", memoryMiB: 512, paused: true });']],
  ["09-performance", 1, "sets the exit counter", ['const probe = host.createLabDomain("probe", Uint8Array.from([0xf4]), { extra: \'on_poweroff = "preserve"\' });\nhost.run({ ns: 1e6 });\ntry { (probe.exitCounts as Map<string, number>).set("cpuid", 100); } catch (e) { console.log(String(e)); }']],
  // The PV guest's page tables and the HVM guest's: the host writes the bytes (and the entry) itself.
  ["11-pv-hvm-pvh", 1, "writes the text into pfn 0xe00's frame from the host", [`${NOOP_PV_EX1}
const f = ex1.guest.mfnOf(gfn(0xe00))!;
const v = host.machine.memory.view(f);
new Uint8Array(v.buffer, v.byteOffset, 11).set(new TextEncoder().encode("PV was here"));`]],
  ["11-pv-hvm-pvh", 1, "rewrites ex1's page-table entry from the host", [`${NOOP_PV_EX1}
const f = ex1.guest.mfnOf(gfn(0xe00))!;
const va = BigInt.asUintN(48, VIRT_BASE + 0x310000n);
let t = Number(ex1.vcpus[0]!.cpu!.getReg("cr3")) / 4096;
for (const sh of [39n, 30n, 21n]) t = Number((host.machine.memory.view(mfn(t)).getBigUint64(Number((va >> sh) & 511n) * 8, true) >> 12n) & 0xffffffffffn);
host.machine.memory.view(mfn(t)).setBigUint64(Number((va >> 12n) & 511n) * 8, (BigInt(f) << 12n) | 0x67n, true);
const v = host.machine.memory.view(f);
new Uint8Array(v.buffer, v.byteOffset, 11).set(new TextEncoder().encode("PV was here"));`]],
  ["11-pv-hvm-pvh", 2, "writes the text into guest-physical 0xe00000 from the host", [`const ex2 = host.createLabDomain("ex2", Uint8Array.from([0xf4]), { extra: 'on_poweroff = "preserve"' });
host.run({ ns: 1e6 });
ex2.guest.write(0xe00000, new TextEncoder().encode("HVM was here"));`]],
  ["11-pv-hvm-pvh", 2, "maps it with a hypercall-free program but writes the text from the host", [`host.createLabDomain("ex2", Uint8Array.from([0xf4]), { paused: true, extra: 'on_poweroff = "preserve"' });`, `%%asm ex2
    mov rax, cr3
    and rax, -4096
    mov rax, [rax]
    and rax, -4096
    mov rax, [rax]
    and rax, -4096
    mov rax, [rax + 8]
    and rax, -4096
    mov qword [rax + 0x110*8], 0xe00023
    hlt`, `%xl unpause ex2\n%run 1ms`, `host.domain("ex2").guest.write(0xe00000, new TextEncoder().encode("HVM was here"));`]],
  // Debian's kernel (one boot per cheat): the host writes the file into the image itself, so the
  // bytes are right but blkback never saw the guest write them.
  ["10-linux-on-xen", 1, "writes answer.txt into the image from the host", [`import * as cheat from "child_process";
const raw = path.join(fsx.mkdtempSync("/tmp/xenlab-cheat-"), "d.raw"), text = path.join(path.dirname(raw), "answer.txt");
fsx.writeFileSync(text, "Xen and Longhorn, 2006\\n");
cheat.execFileSync("qemu-img", ["convert", "-f", "vpc", "-O", "raw", scratch, raw]);
cheat.execFileSync("debugfs", ["-w", "-R", \`write \${text} answer.txt\`, raw], { stdio: "ignore" });
cheat.execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", raw, scratch]);`]],
  ["10-linux-on-xen", 2, "writes xvdb's XenStore nodes and prints its partition line", [`host.xenstore.write(\`/local/domain/\${debian.domid}/device/vbd/51728/state\`, "4");
console.log(" 202       16       8192 xvdb");`]],
  ["12-memory-and-mobility", 1, "prints what Linux would say", ['console.log("balloon_current_kB: 163452, balloon_target_kB: 163452");']],
  // A second host with a new boot of the same kernel: the same name, a different boot_id.
  ["12-memory-and-mobility", 2, "boots a new debian on a second host instead of moving it", [`setCurrentHost({ pcpus: 1, memoryMiB: 512 });
vm = host.createDomain('name = "debian"\\ntype = "pvh"\\nkernel = "' + guest.bzImage + '"\\nramdisk = "' + guest.initrd + '"\\nmemory = 256\\nvcpus = 1\\nextra = "console=hvc0 loglevel=4 xenlab.shell"\\n');
host.run({ until: () => /\\/ # (\\x1b\\[6n)?$/.test(vm.consoleLog), maxInstructions: 2_500_000_000 });`]],
  // Exercise 3: the current host and vm say "home", but debian never moved back; or a new boot there.
  ["12-memory-and-mobility", 3, "points the current host at home without migrating", ['setCurrentHost(home);\nvm = hostC.domain("debian");']],
  ["12-memory-and-mobility", 3, "boots a new debian at home instead of moving it", [`%xl destroy debian
setCurrentHost(home);
vm = host.createDomain('name = "debian"\\ntype = "pvh"\\nkernel = "' + guest.bzImage + '"\\nramdisk = "' + guest.initrd + '"\\nmemory = 256\\nvcpus = 1\\nextra = "console=hvc0 loglevel=4 xenlab.shell"\\n');
host.run({ until: () => /\\/ # (\\x1b\\[6n)?$/.test(vm.consoleLog), maxInstructions: 2_500_000_000 });`]],
  ["13-linux-on-longhorn", 1, "writes the version it knows without asking Linux", ['answer1 = "4.17.0-xenlab";']],
  // /sys/hypervisor/type is printed without a hypercall; the answer is typed in.
  ["13-linux-on-longhorn", 1, "reads another sysfs file and prints the version lines itself", ['sh("cat /sys/hypervisor/type");\nconsole.log("4\\n17\\n.0-xenlab");\nanswer1 = "4.17.0-xenlab";']],
  // Linux's real uptime, but the reference counter assumed to be the same clock (no offset).
  ["13-linux-on-longhorn", 2, "asks Linux but assumes the reference counter reads the same", ['const u = Number(sh("cat /proc/uptime").split(" ")[0]);\nanswer2 = { uptime: u, reference: u };']],
  ["01-domains-and-vcpus", 2, "pauses win2003 so that debian gets the whole pCPU", ["%xl pause win2003\n%run 1200ms"]],
  ["03-memory", 1, "assumes guest-physical frame 0x100 is machine frame 0x100", ["answer1 = 0x100;"]],
  ["03-memory", 2, "grants dom0 write access (no GTF_readonly)", ['host.domain("win2003").gnttab.setEntry(grantRef(8), domId(0), gfn(0x200), GTF_permit_access);']],
  ["03-memory", 2, "grants the read-only access to another domain", ['host.domain("win2003").gnttab.setEntry(grantRef(8), domId(1), gfn(0x200), GTF_permit_access | GTF_readonly);']],
  ["04-event-channels-and-xenstore", 1, "publishes ex1's console port instead of allocating one", ['const ex1 = host.createLabDomain("ex1", Uint8Array.from([0xf4]), { paused: true });\nconst dir = `/local/domain/${ex1.id}`;\nhost.xenstore.write(`${dir}/device/vif/0/event-channel`, host.xenstore.read(`${dir}/console/port`));\nhost.xenstore.write(`${dir}/device/vif/0/state`, "3");']],
  ["04-event-channels-and-xenstore", 1, "publishes a port number it never allocated", ['const ex1 = host.createLabDomain("ex1", Uint8Array.from([0xf4]), { paused: true });\nhost.xenstore.write(`/local/domain/${ex1.id}/device/vif/0/event-channel`, "9");\nhost.xenstore.write(`/local/domain/${ex1.id}/device/vif/0/state`, "3");']],
  ["06-pv-block", 1, "attaches a copy of data.vhd under the snapshot's name", ['fs.copyFileSync("data.vhd", "data-snap.vhd");', "%xl block-attach fileserver 'format=vhd, vdev=xvdc, access=ro, target=data-snap.vhd'"]],
  ["06-pv-block", 1, "attaches the snapshot read-write", ["%vhd snapshot data.vhd data-snap.vhd\n%xl block-attach fileserver 'format=vhd, vdev=xvdc, access=rw, target=data-snap.vhd'"]],
  ["09-performance", 2, "logs the expected lines", ['host.createLabDomain("batched", Uint8Array.from([0xf4]));\nfor (let i = 0; i < 50; i++) host.log("(d3) Paravirtual: one hypercall carries the whole line. .........", false);\nhost.run({ ns: 1e6 });']],
];

describe("every check says 'not yet' to answers that skip the work", () => {
  for (const [notebook, n, name, cells] of CHEATS) {
    it(`${notebook} exercise ${n ?? ""}: a cell that ${name}`, () => {
      const out = runWithCheat(notebook, n, cells, name.replace(/\W+/g, "-"));
      expect(out).toMatch(/not yet/);
      expect(out).not.toMatch(/: correct/);
    }, /^1[0-3]-/.test(notebook) ? 900_000 : undefined);
  }
});
