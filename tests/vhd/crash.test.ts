/**
 * Crash safety: a writer process is SIGKILLed at a random moment, hundreds of times. Each time the
 * image must open, pass check (leaks allowed, then repaired by check --repair), and hold every
 * write flushed before the kill; sectors written after the last flush may hold the old or the new
 * data, never anything else (no torn metadata, no data from the wrong place).
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { VhdDisk, checkVhd, createDifferencing, createVhd } from "../../src/vhd";
import { buildVhdLib, rng, tempDir } from "./helpers";

/** Real processes, real SIGKILLs; tests/vhd/crash-points.test.ts makes the 1,000+ cuts deterministically in-process. */
const TRIALS = 120;
const PARALLEL = 4;
const DISK = 2 * 1024 * 1024;
const SECTOR = 512;
const PARENT_TAG = 0xfffffffe;

/** Op generator shared (as source text) by the writer process and the verifier. */
const GEN_SRC = `
function genOp(seed, i, disk) {
  let x = (seed * 2654435761 + i * 40503 + 1) >>> 0 || 1;
  const next = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 4294967296; };
  const sectors = disk / 512;
  const n = 1 + Math.floor(next() * next() * 128);
  const start = Math.floor(next() * (sectors - n));
  const flushAfter = next() < 0.3;
  return { start, n, flushAfter };
}
function sectorData(tag, lba) {
  const b = Buffer.alloc(512);
  b.writeUInt32LE(tag >>> 0, 0);
  b.writeUInt32LE(lba, 4);
  let x = ((tag * 31 + lba * 7919) >>> 0) || 1;
  for (let o = 8; o < 512; o += 4) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b.writeUInt32LE(x >>> 0, o); }
  return b;
}
`;
const gen = new Function(`${GEN_SRC}; return { genOp, sectorData };`)() as {
  genOp(seed: number, i: number, disk: number): { start: number; n: number; flushAfter: boolean };
  sectorData(tag: number, lba: number): Buffer;
};

const WRITER = `
const lib = require(process.argv[2]);
${GEN_SRC}
const [path, seedText, disk, killAt] = [process.argv[3], process.argv[4], Number(process.argv[5]), Number(process.argv[6])];
const seed = Number(seedText);
// killAt > 0: the process SIGKILLs itself at its killAt-th write/sync/truncate of the image file,
// part-way through it when it is a multi-sector write (a torn write), so every step is a crash point.
const file = lib.nodeFileHost.open(path, true);
let mutations = 0;
const die = () => process.kill(process.pid, "SIGKILL");
if (killAt > 0) {
  const write = file.write.bind(file), sync = file.sync.bind(file), truncate = file.truncate.bind(file);
  file.write = (pos, data) => {
    if (++mutations === killAt) {
      const sectors = Math.floor(data.length / 512);
      if (sectors > 1) write(pos, data.subarray(0, 512 * Math.floor(((seed * 7) % 97) / 97 * sectors)));
      die();
    }
    write(pos, data);
  };
  file.sync = () => { if (++mutations === killAt) die(); sync(); };
  file.truncate = (n) => { if (++mutations === killAt) die(); truncate(n); };
}
const d = lib.VhdDisk.openFile(path, file);
process.stdout.write("R\\n");
for (let i = 0; i < 100000; i++) {
  const op = genOp(seed, i, disk);
  const buf = Buffer.alloc(op.n * 512);
  for (let s = 0; s < op.n; s++) sectorData(i + 1, op.start + s).copy(buf, s * 512);
  d.write(op.start * 512, buf);
  if (op.flushAfter) {
    d.flush();
    require("fs").writeSync(1, "F " + (i + 1) + "\\n");
  }
}
`;

const t = tempDir("crash");
afterAll(t.cleanup);

interface Trial {
  seed: number;
  path: string;
  diff: boolean;
}

function runWriter(lib: string, script: string, trial: Trial, delayMs: number, killAt: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, lib, trial.path, String(trial.seed), String(DISK), String(killAt)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (!timer && !killAt && out.startsWith("R\n")) timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
    });
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => { // "close": after stdout is drained, unlike "exit"
      if (signal !== "SIGKILL") return reject(new Error(`writer exited ${code} ${signal}: ${err}`));
      // the last complete "F n" line: ops 0..n-1 were flushed (a line cut by the kill is not counted)
      const lines = out.split("\n").slice(0, -1);
      const flushed = lines.filter((l) => l.startsWith("F ")).map((l) => Number(l.slice(2)));
      resolve(flushed.length ? flushed[flushed.length - 1]! : 0);
    });
  });
}

/** Checks every sector against the ops: flushed ones must be there, later ones may be. */
function verify(trial: Trial, flushed: number, opsIssued: number): string | undefined {
  const sectors = DISK / SECTOR;
  const expected = new Int32Array(sectors).fill(-1); // op index of the last flushed write
  const later: Array<Set<number> | undefined> = new Array(sectors);
  for (let i = 0; i < opsIssued; i++) {
    const op = gen.genOp(trial.seed, i, DISK);
    for (let s = op.start; s < op.start + op.n; s++) {
      if (i < flushed) expected[s] = i;
      else (later[s] ??= new Set()).add(i);
    }
  }
  const d = VhdDisk.open(trial.path);
  try {
    const buf = Buffer.alloc(DISK);
    d.read(0, buf);
    for (let s = 0; s < sectors; s++) {
      const got = buf.subarray(s * SECTOR, (s + 1) * SECTOR);
      const base = trial.diff ? gen.sectorData(PARENT_TAG, s) : Buffer.alloc(SECTOR);
      const want = expected[s]! >= 0 ? gen.sectorData(expected[s]! + 1, s) : base;
      if (got.equals(want)) continue;
      const tag = got.readUInt32LE(0);
      if (later[s]?.has(tag - 1) && got.equals(gen.sectorData(tag, s))) continue;
      return `sector ${s}: expected op ${expected[s]} (flushed ${flushed}), found tag ${tag.toString(16)} lba ${got.readUInt32LE(4)}`;
    }
  } finally {
    d.close();
  }
  return undefined;
}

describe("crash safety under SIGKILL", () => {
  it(`${TRIALS} killed writers leave images that open, check clean (after repair) and keep every flushed write`, async () => {
    const lib = buildVhdLib(join(t.dir, "lib"));
    const script = join(t.dir, "writer.js");
    writeFileSync(script, WRITER);
    // one parent image for the differencing trials, filled with tagged sectors
    const parent = join(t.dir, "parent.vhd");
    const p = createVhd(parent, { size: DISK, sizePolicy: "exact", blockSize: 65536 });
    const all = Buffer.alloc(DISK);
    for (let s = 0; s < DISK / SECTOR; s++) gen.sectorData(PARENT_TAG, s).copy(all, s * SECTOR);
    p.write(0, all);
    p.close();

    const r = rng(20061107);
    const blockSizes = [4096, 16384, 65536, 2 * 1024 * 1024];
    const results = { trials: 0, leaks: 0, repaired: 0, flushedOps: 0, withFlush: 0 };
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < TRIALS) {
        const k = next++;
        const trial: Trial = { seed: 1000 + k, path: join(t.dir, `t${k}.vhd`), diff: k % 3 === 2 };
        if (trial.diff) createDifferencing(trial.path, parent).close();
        else createVhd(trial.path, { size: DISK, sizePolicy: "exact", blockSize: blockSizes[k % blockSizes.length] }).close();
        // even trials: killed from outside after a random delay; odd: at a random file operation
        const killAt = k % 2 ? 1 + Math.floor(r() * r() * 400) : 0;
        const flushed = await runWriter(lib, script, trial, Math.floor(r() * 120), killAt);
        const rep = checkVhd(trial.path);
        results.trials++;
        if (rep.result === 2) {
          failures.push(`trial ${k}: check found corruption: ${rep.findings.filter((f) => f.severity === "error").map((f) => f.message).join("; ")}`);
          continue;
        }
        if (rep.result === 3) {
          results.leaks++;
          const fixed = checkVhd(trial.path, { repair: true });
          if (fixed.result !== 0) failures.push(`trial ${k}: repair left ${fixed.result}: ${JSON.stringify(fixed.findings)}`);
          else results.repaired++;
        }
        // ops the writer may have issued: up to and including the next op that flushes
        let issued = flushed;
        while (!gen.genOp(trial.seed, issued, DISK).flushAfter) issued++;
        const bad = verify(trial, flushed, issued + 1);
        if (bad) failures.push(`trial ${k} (${trial.diff ? "differencing" : "dynamic"}): ${bad}`);
        results.flushedOps += flushed;
        if (flushed > 0) results.withFlush++;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    expect(failures).toEqual([]);
    expect(results.trials).toBe(TRIALS);
    // the kills must land at varied points: some before any flush, most after several
    expect(results.withFlush).toBeGreaterThan(TRIALS / 2);
    console.log(`crash trials: ${JSON.stringify(results)}`);
  }, 400_000); // 210 trials took 80 s at a load of 20 and timed out (180 s) at 27
});
