/**
 * The notebook of views the browser tests run (the classic notebook and JupyterLab): one cell per
 * view; `view` names the screenshot, `selector` is a CSS selector of the classic notebook that must
 * match in its output.
 */
export const VIEWS = [
  {
    view: "memory-map",
    selector: ".output_svg svg title",
    source: `const machine = new Machine(256);
machine.memory.allocate(domId(0x7ff2), 2048, FrameUse.Hypervisor);
machine.populate(domId(0), gfn(0), 16384);
for (let d = 1; d <= 3; d++) machine.populate(domId(d), gfn(0), 6000 * d);
memoryMap(machine.memory, { label: (d) => ["dom0 Longhorn", "dom1 Windows", "dom2 Linux", "dom3 Xen-Linux"][d] ?? (d === 0x7ff2 ? "Xen" : "free") })`,
  },
  {
    view: "vcpu",
    selector: ".output_html pre",
    source: `const guest = machine.guest(domId(1));
const { cr3 } = buildPageTables(guest, 0x100000, [{ va: 0, gpa: 0, pages: 256 }]);
guest.write(0x1000, Uint8Array.from([0xb9, 0x0a, 0, 0, 0, 0x31, 0xc0, 0x01, 0xc8, 0xe2, 0xfc, 0xf4]));
const vcpu = new Vcpu(machine, domId(1), 0, { mode: "long64", rip: 0x1000, rsp: 0x80000, cr3 });
vcpu.run(5);
vcpu`,
  },
  {
    view: "vhd-layout",
    selector: ".output_svg svg rect",
    source: `import * as os from "os"; import * as path from "path"; import * as fs from "fs";
const disk = createVhd(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "view-")), "longhorn.vhd"), { type: "dynamic", size: 64 << 20 });
disk.write(0, new Uint8Array(512).fill(1));
disk.write(40 << 20, new Uint8Array(4096).fill(2));
disk`,
  },
  {
    view: "scheduler-timeline",
    selector: ".output_svg svg rect",
    source: `const spin = Uint8Array.from([0xeb, 0xfe]); // jmp $: a guest that never blocks
host.createLabDomain("win2003", spin, { vcpus: 2, allVcpusUp: true });
host.createLabDomain("debian", spin);
%run 30ms
host.timeline()`,
  },
  { view: "xenstore-tree", selector: ".output_html", source: `host.xenstoreTree("/local/domain/1")` },
  { view: "event-channels", selector: ".output_svg svg", source: `host.eventChannels(1)` },
  { view: "domains", selector: ".output_svg svg", source: `host` },
  { view: "host-memory-map", selector: ".output_svg svg title", source: `%memmap` },
  { view: "p2m", selector: ".output_svg svg path", source: `%p2m win2003` },
  { view: "topology", selector: ".output_svg svg rect", source: `%topology` },
];

/** The views as an nbformat 4 notebook on the XenLab kernel. */
export function viewsNotebook(): object {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "xenlab", display_name: "XenLab (TypeScript)", language: "typescript" } },
    cells: VIEWS.map((v, i) => ({ id: `v${i}`, cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: v.source })),
  };
}
