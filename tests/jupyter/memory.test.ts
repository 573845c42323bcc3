/**
 * Memory as a classroom meets it (issue 19, deliverable 5): kernels started by Debian's
 * jupyter_client from their kernelspecs, resident memory read from /proc. A fresh kernel idles
 * near a fresh ipykernel measured in the same test (TypeScript and the hosts load on first use);
 * what a cell allocated and dropped is given back once the kernel is idle; small cells grow the
 * kernel by a bounded amount each.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { jupyterSandbox, PY } from "../support/jupyter";

const { env } = jupyterSandbox("memory");

interface Step {
  code: string;
  quick?: boolean;
  back_to?: { step: number; within_mib: number; wait_s: number };
}
interface Run {
  started_mib: number;
  steps: { status: string; rss_mib: number; evalue?: string }[];
}

function run(kernel: string, steps: Step[]): Run {
  const out = execFileSync(PY, [join(__dirname, "python", "memory_kernels.py"), JSON.stringify({ kernel, steps })], { env, encoding: "utf8", timeout: 240_000 });
  const r = JSON.parse(out) as Run;
  for (const [i, s] of r.steps.entries()) expect(s.status, `step ${i} (${steps[i]!.code.slice(0, 60)}): ${s.evalue}`).toBe("ok");
  return r;
}

/**
 * A started kernel that ran only a magic, against ipykernel after one Python cell. Measured 1.28x
 * (87.5 vs 68.1 MiB); with TypeScript loaded at start it is 2.9x (197 MiB), so the bound says the
 * laziness holds while leaving room for the library to grow.
 */
const STARTED_RATIO_LIMIT = 1.6;

it(`a fresh kernel idles within ${STARTED_RATIO_LIMIT}x of a fresh ipykernel's resident memory`, () => {
  const ours = run("xenlab", [{ code: "%lsmagic" }]);
  const theirs = run("python3", [{ code: "1" }]);
  const ratio = ours.steps[0]!.rss_mib / theirs.steps[0]!.rss_mib;
  console.log(`idle: xenlab ${ours.steps[0]!.rss_mib.toFixed(1)} MiB, ipykernel ${theirs.steps[0]!.rss_mib.toFixed(1)} MiB (${ratio.toFixed(2)}x)`);
  expect(ratio, `xenlab ${ours.steps[0]!.rss_mib.toFixed(1)} MiB, ipykernel ${theirs.steps[0]!.rss_mib.toFixed(1)} MiB`).toBeLessThanOrEqual(STARTED_RATIO_LIMIT);
}, 300_000);

/** ~300 MB, as the issue asks: a typed array (memory outside V8's heap) and arrays of doubles (inside). */
const BIG_MIB = 250;
/** How close to its idle figure the kernel must come once it dropped a big value (measured: within 2 MiB). */
const GIVEN_BACK_WITHIN_MIB = 32;
const GIVE_BACK_WAIT_S = 5;

it(`gives back within ${GIVE_BACK_WAIT_S} s what a cell allocated (~300 MB) and a later cell dropped`, () => {
  const back = { step: 0, within_mib: GIVEN_BACK_WITHIN_MIB, wait_s: GIVE_BACK_WAIT_S };
  const r = run("xenlab", [
    { code: "const warm = 1; warm" },
    { code: "let bytes: Uint8Array | undefined = new Uint8Array(300_000_000).fill(1); bytes.length" },
    { code: "bytes = undefined", back_to: back },
    { code: "let doubles: number[][] | undefined = Array.from({ length: 300 }, (_, i) => new Array<number>(131_072).fill(i + 0.5)); doubles.length" },
    { code: "doubles = undefined", back_to: back },
  ]);
  const [idle, bytes, bytesDropped, doubles, doublesDropped] = r.steps.map((s) => s.rss_mib) as [number, number, number, number, number];
  const figures = `idle ${idle.toFixed(1)}, bytes ${bytes.toFixed(1)} -> ${bytesDropped.toFixed(1)}, doubles ${doubles.toFixed(1)} -> ${doublesDropped.toFixed(1)} MiB`;
  console.log(figures);
  // The allocations were real (resident), so what follows measures giving them back.
  expect(bytes - idle, figures).toBeGreaterThan(BIG_MIB);
  expect(doubles - idle, figures).toBeGreaterThan(BIG_MIB);
  expect(bytesDropped - idle, figures).toBeLessThanOrEqual(GIVEN_BACK_WITHIN_MIB);
  expect(doublesDropped - idle, figures).toBeLessThanOrEqual(GIVEN_BACK_WITHIN_MIB);
}, 300_000);

const CELLS = 100;
/** KiB per cell over 100 cells, for cells that declare nothing and for cells declaring an interface and a constant. */
const PLAIN_KIB_PER_CELL = 64;
const DECLARING_KIB_PER_CELL = 256;

it(`grows by at most ${PLAIN_KIB_PER_CELL} KiB per plain cell and ${DECLARING_KIB_PER_CELL} KiB per declaring cell over ${CELLS} cells`, () => {
  const many = (code: (i: number) => string, from: number): Step[] =>
    Array.from({ length: CELLS }, (_, i) => ({ code: code(from + i), quick: i < CELLS - 1 }));
  const plain = (i: number) => `${i} * 2`;
  const declaring = (i: number) => `interface Point${i} { x: number; y: number }\nconst p${i}: Point${i} = { x: ${i}, y: 2 };\np${i}.x * p${i}.y`;
  // Warm-up: TypeScript loaded, both kinds of cell run before the first figure.
  const warmUp = [...many(plain, 10_000).slice(0, 20), ...many(declaring, 10_000).slice(0, 19), { code: "0" }];
  const steps = [...warmUp, ...many(plain, 0), ...many(declaring, 0)];
  const r = run("xenlab", steps);
  const at = (n: number) => r.steps[n - 1]!.rss_mib;
  const before = at(warmUp.length);
  const afterPlain = at(warmUp.length + CELLS);
  const afterDeclaring = at(warmUp.length + 2 * CELLS);
  const plainKiB = ((afterPlain - before) * 1024) / CELLS;
  const declaringKiB = ((afterDeclaring - afterPlain) * 1024) / CELLS;
  const figures = `${before.toFixed(1)} -> ${afterPlain.toFixed(1)} (plain) -> ${afterDeclaring.toFixed(1)} MiB (declaring): ${plainKiB.toFixed(1)} / ${declaringKiB.toFixed(1)} KiB per cell`;
  console.log(figures);
  expect(plainKiB, figures).toBeLessThanOrEqual(PLAIN_KIB_PER_CELL);
  expect(declaringKiB, figures).toBeLessThanOrEqual(DECLARING_KIB_PER_CELL);
}, 300_000);
