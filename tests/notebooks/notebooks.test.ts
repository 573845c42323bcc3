/**
 * Every tutorial notebook runs top to bottom, in-process (`xenlab run`, what `npm start` uses) and
 * under `jupyter nbconvert --execute` on the installed kernel (nbclient, what a classroom server
 * does), with no error except in cells tagged raises-exception, and shows its key results. In the
 * solutions notebooks every exercise check passes; in the students' notebooks none does yet.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KERNEL_MAIN } from "../../src/jupyter/client";
import { PACKAGE_ROOT } from "../../src/package-root";
import { jupyterSandbox } from "../support/jupyter";

const NOTEBOOKS = join(PACKAGE_ROOT, "notebooks");
/** Notebooks 10, 12 and 13 boot Debian's kernel (about 1.3e9 guest instructions): minutes on a loaded machine. */
const NOTEBOOK_TIMEOUT = 900_000;

/** Text each notebook must show when run (its key outputs). */
const KEY_OUTPUTS: Record<string, string[]> = {
  "00-tour.ipynb": ["exit: hlt after 23 instructions; eax = 55", "Windows Server Longhorn, meet Xen", "check: 0 findings, 2 of 33 blocks allocated", "dynamic, 64.0 MiB"],
  "01-domains-and-vcpus.ipynb": ["stopped by a hlt exit at 0x10000b", "rax 0000000000000037", "win2003 65.0%, debian 35.0% of the pCPU"],
  "02-hypercalls.ipynb": ["console_io   @0x1240: mov eax, 0x12; vmcall; ret", "(d1) Hello from a lab domain", "xen_version(0, 0, 0x100046)                      = 262161"],
  "03-memory.ipynb": ["dom2 debian", "gfn 0x2-0x2 -> mfn", "PT   table 0x13000 [256]", "permit_access"],
  "04-event-channels-and-xenstore.ipynb": ["frontend offers port 3", "port   3 interdomain -> d0:3  [demo]", "dom0's backend was notified 3 times", "event_channel_op(4, 0x180004, 0)"],
  "06-pv-block.ipynb": ["backend/qdisk/1/51728/state = \"2\"", "README.TXT 42 bytes", "Virtual Server 2005 disks, served by Xen.", "device xvdb: data.vhd"],
  "09-performance.ipynb": ["pv           508 instructions     51 VM exits", "emulated   15458 instructions   3051 VM exits {\"io\":3050,\"hypercall\":1}", "60x the exits", "emulated    3051 exits  io 3050, hypercall 1", "'traps the VMM saw (r13)': 1", "'IF after the popfq (bit 9 of r14)': 1", "'VM exits': { hypercall: 1 }"],
  "08-virtual-server-import.ipynb": ["Virtual Server VM \"W2K3\": 384 MiB, 1 drives, 0 NICs, undo disks off (utf-16le)", "disk = [ 'format=vhd,vdev=hda,access=rw,target=", "Hyper-V partition 2 \"W2K3\" created"],
  "07-longhorn.ipynb": ['vendor "Microsoft Hv", highest leaf 0x40000006, interface "Hv#1"', "guest OS id MICROSOFT WINDOWS_NT 6.0 SP1 build 6001", "VMBus version supported: 1", 'console: "Hello from Xen on Longhorn\\n"', "console_io(write, 27) = 0 -> HvPostMessage"],
  // Linux's own lines, and the start info read out of guest memory at %ebx.
  "10-linux-on-xen.ipynb": ["magic: '0x336ec578'", "cmdline: 'earlyprintk=xen console=hvc0 loglevel=7 xenlab.shell'", "memory_op(7, ", "Booting kernel on Xen PVH", "xenlab-initramfs: /init is running", "random: crng init done", "before: frontend 1, backend 2", "after:  frontend 4, backend 4", "hello from Linux", "reboot: System halted", "[xenstore]"],
  // A PV guest's update_va_mapping calls in Xen's trace, and the HVM guest's two-stage walk.
  "11-pv-hvm-pvh.ipynb": ["(d1) xen-3.0-x86_64", "update_va_mapping(0xffffffff80300000, 0x4010023, 2) = -EBUSY", "holds: \"hello from a PV guest!\\n\"", "-> guest-physical 0xf00000 -> machine frame", "hvm: {\"sched_op\":1}", "l4_page_table 1"],
  // Linux's own lines on Longhorn, the adapter's translations, the shell through the root-served ring,
  // and the file Linux wrote on the root-served VHD, read back by debugfs.
  "13-linux-on-longhorn.ipynb": ["guest OS id MICROSOFT WINDOWS_NT 6.0 SP1 build 6001", "Hypervisor detected: Xen HVM", "Booting kernel on Xen PVH", "xen:events: Xen HVM callback vector for event delivery is enabled", "event_channel_op(send)                       → HvSignalEvent", "vcpu_op(set_singleshot_timer)                → HV_X64_MSR_STIMER3_COUNT", "x86_64 GNU/Linux", "Xen adapter", "blkfront: xvda: flush diskcache: enabled", "written on Longhorn"],
  // Ballooning and a checkpoint of the running kernel, in Linux's own words.
  // ... and the live migration: xl's messages, the rounds, the same boot on the target.
  "12-memory-and-mobility.ipynb": ["decrease_reservation calls gave back", "Saving to debian.chk new xl format", "written before the save", "slept after the restore", "Migration successful.", "(stop-and-copy)", "sameBoot: true"],
  "05-vhd.ipynb": ["BAT entry 50", "footer, moved to the new end of the file", "No errors were found on the image.", "parent's first sector is still all zeros: true"],
};

const student = readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb")).sort();
const solutions = readdirSync(join(NOTEBOOKS, "solutions")).filter((f) => f.endsWith(".ipynb")).sort();

interface Output { output_type: string; text?: string | string[]; data?: Record<string, string | string[]>; ename?: string; evalue?: string }
interface Cell { cell_type: string; source: string | string[]; metadata: { tags?: string[] }; outputs?: Output[] }

const join1 = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : v ?? "");
const textOf = (cells: Cell[]) => cells.flatMap((c) => c.outputs ?? []).map((o) => join1(o.text) || join1(o.data?.["text/plain"]) || `${o.ename}: ${o.evalue}`).join("\n");

function checkRun(path: string, file: string): Cell[] {
  const nb = JSON.parse(readFileSync(path, "utf8")) as { cells: Cell[] };
  const unexpected = nb.cells.filter((c) => !(c.metadata.tags ?? []).includes("raises-exception")).flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === "error").map((o) => `${o.ename}: ${o.evalue}`));
  expect(unexpected, file).toEqual([]);
  for (const tagged of nb.cells.filter((c) => (c.metadata.tags ?? []).includes("raises-exception"))) {
    expect((tagged.outputs ?? []).some((o) => o.output_type === "error"), `${file}: a raises-exception cell should show its error`).toBe(true);
  }
  return nb.cells;
}

function checkCells(cells: Cell[]): string[] {
  return cells.filter((c) => join1(c.source).startsWith("// Check for exercise")).map((c) => textOf([c]));
}

describe("in-process (xenlab run)", () => {
  for (const file of [...student, ...solutions.map((s) => `solutions/${s}`)]) {
    it(file, () => {
      const out = join(PACKAGE_ROOT, "dist", "notebooks-test", file.replace("/", "-"));
      const r = spawnSync(process.execPath, [KERNEL_MAIN, "run", join(NOTEBOOKS, file), "-o", out], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const cells = checkRun(out, file);
      const text = textOf(cells);
      for (const key of KEY_OUTPUTS[file.replace(/^solutions\//, "").replace("-solutions", "")] ?? []) expect(text, file).toContain(key);
      const checks = checkCells(cells);
      if (file.startsWith("solutions/")) {
        expect(checks.length, `${file} has exercise checks`).toBeGreaterThan(0);
        for (const c of checks) expect(c, file).toMatch(/correct/);
        for (const c of checks) expect(c, file).not.toMatch(/not yet/);
      } else {
        for (const c of checks) expect(c, file).toMatch(/not yet/);
      }
    }, NOTEBOOK_TIMEOUT);
  }
});

describe("under jupyter nbconvert --execute on the installed kernel", () => {
  const sandbox = jupyterSandbox("notebooks");
  for (const file of student) {
    it(file, () => {
      const out = join(sandbox.work, file);
      execFileSync("jupyter", ["nbconvert", "--to", "notebook", "--execute", `--ExecutePreprocessor.timeout=${NOTEBOOK_TIMEOUT / 1000}`, "--output", out, join(NOTEBOOKS, file)], { env: sandbox.env, cwd: sandbox.work, stdio: "pipe", timeout: NOTEBOOK_TIMEOUT });
      const cells = checkRun(out, file);
      for (const key of KEY_OUTPUTS[file] ?? []) expect(textOf(cells), file).toContain(key);
    }, NOTEBOOK_TIMEOUT);
  }
});

it("every notebook is committed without outputs", () => {
  for (const file of [...student, ...solutions.map((s) => `solutions/${s}`)]) {
    const nb = JSON.parse(readFileSync(join(NOTEBOOKS, file), "utf8")) as { cells: (Cell & { execution_count?: number | null })[] };
    for (const c of nb.cells.filter((x) => x.cell_type === "code")) {
      expect(c.outputs, file).toEqual([]);
      expect(c.execution_count ?? null, file).toBeNull();
    }
  }
});
