/**
 * View figures (issue 7): the memory map of a 16 GiB host (4 M frames) with 64 domains, beside a
 * single pass over the same frame table (the least work any memory map must do).
 */
import { FrameUse, MachineMemory } from "../src/machine/memory";
import { domId } from "../src/machine/types";
import { memoryMap } from "../src/render/memmap";
import { Figure, median, nowMs } from "./harness";

function host16g(): MachineMemory {
  const mem = new MachineMemory(16 * 1024 * 1024 * 1024);
  mem.allocate(domId(0x7ff2), 4096, FrameUse.Hypervisor);
  for (let d = 0; d < 64; d++) {
    mem.allocate(domId(d), 49152, FrameUse.Ram); // 192 MiB each
    mem.allocate(domId(d), 128, FrameUse.PageTable);
    mem.allocate(domId(d), 8, FrameUse.Shared);
  }
  return mem;
}

export const figures: Figure[] = [
  {
    name: "render.memmap_16g",
    async run() {
      const mem = host16g();
      const draw: number[] = [];
      const scan: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 7; i++) {
        let t = nowMs();
        bytes = memoryMap(mem).svg().length;
        draw.push(nowMs() - t);
        t = nowMs();
        mem.runs();
        scan.push(nowMs() - t);
      }
      return { value: median(draw), unit: "ms", anchor: "one pass over the frame table", anchor_value: median(scan), note: `SVG ${Math.round(bytes / 1024)} KB; goal: under 100 ms and 300 KB` };
    },
  },
];
