/**
 * Kernel figures (issue 2), each beside ipykernel (Debian's python3-ipykernel) measured in the
 * same run through the same zeromq client: start-up, execute round trips, idle memory.
 */
import { readFileSync } from "node:fs";
import { KernelClient } from "../src/jupyter/client";
import { Figure, median, nowMs, percentile } from "./harness";

const IPYKERNEL_ARGV = ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"];
const ROUNDS = 60;

async function started(argv?: string[]): Promise<{ client: KernelClient; ms: number }> {
  const t0 = nowMs();
  const client = await KernelClient.start(argv ? { argv } : {});
  await client.request("shell", "kernel_info_request");
  const ms = nowMs() - t0;
  await client.waitReady();
  return { client, ms };
}

async function startupMs(argv?: string[]): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { client, ms } = await started(argv);
    samples.push(ms);
    await client.shutdown();
  }
  return median(samples);
}

async function roundTripMs(argv: string[] | undefined, code: (i: number) => string, setup?: string): Promise<number> {
  return median(await roundTrips(argv, code, setup));
}

/** "p10–p90 a–b ms" of a sample set: the spread beside a median. */
function spread(samples: number[]): string {
  return `p10-p90 ${percentile(samples, 10).toFixed(1)}-${percentile(samples, 90).toFixed(1)} ms`;
}

/** A figure of round-trip medians beside ipykernel's, with both spreads in the note. */
async function versusIpykernel(ours: (i: number) => string, theirs: (i: number) => string, anchor: string, note: string) {
  const a = await roundTrips(undefined, ours);
  const b = await roundTrips(IPYKERNEL_ARGV, theirs);
  return { value: median(a), unit: "ms", anchor, anchor_value: median(b), note: `${note}; xenlab ${spread(a)}, ipykernel ${spread(b)}` };
}

/** Start, then one cell: the first cell's latency includes whatever the kernel loads lazily. */
async function firstCellMs(argv: string[] | undefined, code: string): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = nowMs();
    const client = await KernelClient.start(argv ? { argv } : {});
    try {
      await client.waitReady();
      const { reply } = await client.execute(code);
      if (reply.content.status !== "ok") throw new Error(`${code} failed: ${JSON.stringify(reply.content)}`);
      samples.push(nowMs() - t0);
    } finally {
      await client.shutdown();
    }
  }
  return median(samples);
}

async function roundTrips(argv: string[] | undefined, code: (i: number) => string, setup?: string): Promise<number[]> {
  const { client } = await started(argv);
  try {
    if (setup) {
      const { reply } = await client.execute(setup);
      if (reply.content.status !== "ok") throw new Error(`setup failed: ${JSON.stringify(reply.content)}`);
    }
    for (let i = 0; i < 5; i++) await client.execute(code(1000 + i)); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const c = code(i);
      const t0 = nowMs();
      const { reply } = await client.execute(c);
      samples.push(nowMs() - t0);
      if (reply.content.status !== "ok") throw new Error(`${c} failed: ${JSON.stringify(reply.content)}`);
    }
    return samples;
  } finally {
    await client.shutdown();
  }
}

/** Resident memory once idle after `cell` (none: just started and answered kernel_info). */
async function idleRssMiB(argv?: string[], cell: string | null = "1"): Promise<number> {
  const { client } = await started(argv);
  try {
    if (cell !== null) await client.execute(cell);
    await new Promise((r) => setTimeout(r, 500));
    const status = readFileSync(`/proc/${client.proc.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  } finally {
    await client.shutdown();
  }
}

function rssMiB(client: KernelClient): number {
  const status = readFileSync(`/proc/${client.proc.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function ran(client: KernelClient, code: string): Promise<void> {
  const { reply } = await client.execute(code);
  if (reply.content.status !== "ok") throw new Error(`${code.slice(0, 60)} failed: ${JSON.stringify(reply.content).slice(0, 300)}`);
}

const settle = () => new Promise((r) => setTimeout(r, 500));

/**
 * Resident memory a session grows by: per declaring cell over `cells` cells (KiB per cell, after a
 * first cell and 20 warm-up cells), and what a 20 MB cell leaves behind once 5 small cells ran after it.
 */
async function growth(argv: string[] | undefined, declaring: (i: number) => string, big: string, cells = 200): Promise<{ perCellKiB: number; bigLeftMiB: number }> {
  const { client } = await started(argv);
  try {
    for (let i = 0; i < 20; i++) await ran(client, declaring(100000 + i));
    await settle();
    const before = rssMiB(client);
    for (let i = 0; i < cells; i++) await ran(client, declaring(i));
    await settle();
    const after = rssMiB(client);
    await ran(client, big);
    for (let i = 0; i < 5; i++) await ran(client, declaring(200000 + i));
    await settle();
    return { perCellKiB: ((after - before) * 1024) / cells, bigLeftMiB: rssMiB(client) - after };
  } finally {
    await client.shutdown();
  }
}

/**
 * What a dropped ~300 MB value leaves resident: idle RSS after a first cell, then a cell that
 * allocates 300 MB and keeps it, then one that drops it; the figure is RSS minus the idle RSS
 * 3 s after the drop (ipykernel frees at once by reference counting).
 */
async function droppedLeftMiB(argv: string[] | undefined, keep: string, drop: string): Promise<number> {
  const { client } = await started(argv);
  try {
    await ran(client, "1");
    await settle();
    const idle = rssMiB(client);
    await ran(client, keep);
    await ran(client, drop);
    await new Promise((r) => setTimeout(r, 3000));
    return rssMiB(client) - idle;
  } finally {
    await client.shutdown();
  }
}

const DECLARING_TS = (i: number) => `interface Point${i} { x: number; y: number }\nconst p${i}: Point${i} = { x: ${i}, y: 2 };\np${i}.x * p${i}.y`;
const DECLARING_PY = (i: number) => `p${i} = {"x": ${i}, "y": 2}\np${i}["x"] * p${i}["y"]`;
/** The same 20 MB string literal's length in both languages. */
const BIG_CELL = `"${"x".repeat(20_000_000)}".length`;
const BIG_CELL_PY = `len("${"x".repeat(20_000_000)}")`;

const trivial = (i: number) => `${i}`;

/** A guest that loops forever (inc eax; jmp back), so %step always has an instruction to run. */
const STEP_SETUP = `
const m = new Machine(16);
m.populate(domId(1), gfn(0), 512);
const g = m.guest(domId(1));
const { cr3 } = buildPageTables(g, 0x100000, [{ va: 0, gpa: 0, pages: 256 }]);
g.write(0x1000, Uint8Array.from([0xff, 0xc0, 0xeb, 0xfc]));
const vcpu = new Vcpu(m, domId(1), 0, { mode: "long64", rip: 0x1000, rsp: 0x8000, cr3 });`;

export const figures: Figure[] = [
  {
    name: "kernel.startup",
    async run() {
      return { value: await startupMs(), unit: "ms", anchor: "ipykernel start to kernel_info_reply", anchor_value: await startupMs(IPYKERNEL_ARGV), note: "goal: ratio <= 1" };
    },
  },
  {
    name: "kernel.magic_cell",
    async run() {
      return { value: await roundTripMs(undefined, () => "%who"), unit: "ms", anchor: "ipykernel trivial cell, median", anchor_value: await roundTripMs(IPYKERNEL_ARGV, trivial), note: "execute to idle; goal: ratio <= 0.5" };
    },
  },
  {
    name: "kernel.ts_cell",
    async run() {
      return versusIpykernel((i) => `${i} + 1`, (i) => `${i} + 1`, "ipykernel same cell, median", "a different type-checked cell each time; goal: ratio <= 1");
    },
  },
  {
    name: "kernel.ts_typed_cell",
    async run() {
      return versusIpykernel(
        (i) => `interface Point${i} { x: number; y: number }\nconst p${i}: Point${i} = { x: ${i}, y: 2 };\np${i}.x * p${i}.y`,
        (i) => `p${i} = {"x": ${i}, "y": 2}\np${i}["x"] * p${i}["y"]`,
        "ipykernel cell declaring and using a dict, median",
        "each cell declares a new interface and constant (the scope grows by two names per cell)",
      );
    },
  },
  {
    name: "kernel.first_ts_cell",
    async run() {
      return { value: await firstCellMs(undefined, "1 + 1"), unit: "ms", anchor: "ipykernel start to first cell done", anchor_value: await firstCellMs(IPYKERNEL_ARGV, "1 + 1"), note: "start to the first TypeScript cell's reply (TypeScript is loaded by that cell)" };
    },
  },
  {
    name: "kernel.step_magic",
    async run() {
      return { value: await roundTripMs(undefined, () => "%step vcpu", STEP_SETUP), unit: "ms", anchor: "ipykernel trivial cell, median", anchor_value: await roundTripMs(IPYKERNEL_ARGV, trivial), note: "one guest instruction with registers and disassembly drawn, execute to idle" };
    },
  },
  {
    name: "kernel.rss_per_cell",
    async run() {
      const ours = await growth(undefined, DECLARING_TS, BIG_CELL);
      const theirs = await growth(IPYKERNEL_ARGV, DECLARING_PY, BIG_CELL_PY);
      return { value: ours.perCellKiB, unit: "KiB", anchor: "ipykernel, a cell declaring and using a dict", anchor_value: theirs.perCellKiB, note: `resident memory per declaring cell over 200 cells; a 20 MB cell then 5 small ones leave ${ours.bigLeftMiB.toFixed(1)} MiB (ipykernel ${theirs.bigLeftMiB.toFixed(1)} MiB)` };
    },
  },
  {
    name: "kernel.idle_rss",
    async run() {
      return { value: await idleRssMiB(), unit: "MiB", anchor: "ipykernel resident memory at idle", anchor_value: await idleRssMiB(IPYKERNEL_ARGV), note: "after one TypeScript cell (the checker loaded: ~66 MiB of V8 heap, 40 of it @types/node's declarations); goal <= 120 MiB" };
    },
  },
  {
    name: "kernel.rss_after_drop",
    async run() {
      const ours = await droppedLeftMiB(undefined, "let big: Uint8Array | undefined = new Uint8Array(300_000_000).fill(1); big.length", "big = undefined");
      const theirs = await droppedLeftMiB(IPYKERNEL_ARGV, "big = bytearray(b'\\x01') * 300_000_000; len(big)", "del big");
      return { value: ours, unit: "MiB", anchor: "ipykernel, the same 300 MB dropped", anchor_value: theirs, note: "resident memory above idle 3 s after a cell dropped a 300 MB array another cell made" };
    },
  },
  {
    name: "kernel.idle_rss_started",
    async run() {
      // Before any cell: TypeScript and the hosts are loaded by the first cell that needs them.
      return { value: await idleRssMiB(undefined, null), unit: "MiB", anchor: "ipykernel resident memory at idle after start", anchor_value: await idleRssMiB(IPYKERNEL_ARGV, null), note: "started and answered kernel_info, no cell run (goal <= 120 MiB)" };
    },
  },
];
