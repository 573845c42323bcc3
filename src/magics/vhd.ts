/**
 * %vhd: the VHD tools in a cell, with the verbs of `xenlab vhd` (and qemu-img's habits: sizes with
 * K/M/G/T). Each verb calls the library and returns an object that draws itself.
 */
import { existsSync } from "node:fs";
import { mountDisk, mountImage } from "../fs/mount";
import { readOnlyView } from "../vhd/block-device";
import { currentHost } from "../xen";
import { findDisk } from "../xen/blkback/blkback";
import { ProgressView } from "../render/progress";
import { CheckReportView, ExtentMapView, VhdInfoView } from "../render/vhd-reports";
import { checkVhd } from "../vhd/check";
import { coalesceVhd } from "../vhd/coalesce";
import { convertImageAsync } from "../vhd/convert-async";
import { createDifferencing, createVhd } from "../vhd/create";
import { VhdFormatError, VhdUsageError } from "../vhd/errors";
import { vhdInfo } from "../vhd/info";
import { mapVhd } from "../vhd/map";
import { resizeVhd } from "../vhd/resize";
import { compactVhd } from "../vhd/rewrite";
import { formatSize, parseSize } from "../vhd/size";
import { VhdDisk } from "../vhd/vhd-disk";
import { TextResult } from "./core";
import { completePath } from "./complete-path";
import { Magic, MagicContext, splitArgs, UsageError } from "./magic";

interface Verb {
  usage: string;
  summary: string;
  /** Flags that take a value. */
  values?: string[];
  /** Flags without a value. */
  switches?: string[];
  operands: [min: number, max: number];
  run(o: Parsed, ctx: MagicContext): unknown;
}

interface Parsed {
  flags: Map<string, string | true>;
  operands: string[];
}

const VERBS: Record<string, Verb> = {
  create: {
    usage: "create [-t fixed|dynamic] [-b BLOCK_SIZE] [-p PARENT] FILE [SIZE]",
    summary: "Create a fixed or dynamic disk, or (with -p) a differencing child of PARENT.",
    values: ["-t", "-b", "-p"],
    operands: [1, 2],
    run({ flags, operands: [file, size] }) {
      const parent = flags.get("-p");
      if (typeof parent === "string") {
        if (size !== undefined) throw new UsageError("a differencing disk takes its size from its parent: omit SIZE with -p");
        return createDifferencing(file!, parent);
      }
      if (size === undefined) throw new UsageError("%vhd create needs a SIZE (e.g. 64M, 2G) unless -p PARENT is given");
      const type = flags.get("-t") ?? "dynamic";
      if (type !== "fixed" && type !== "dynamic") throw new UsageError(`-t must be fixed or dynamic, not ${String(type)}`);
      const block = flags.get("-b");
      return createVhd(file!, { type, size: parseSize(size), blockSize: typeof block === "string" ? parseSize(block) : undefined });
    },
  },
  snapshot: {
    usage: "snapshot PARENT CHILD",
    summary: "Create CHILD, a differencing disk whose writes leave PARENT untouched.",
    operands: [2, 2],
    run({ operands: [parent, child] }) {
      return createDifferencing(child!, parent!);
    },
  },
  info: {
    usage: "info FILE",
    summary: "Every field of the footer and header, the geometry and the chain.",
    operands: [1, 1],
    run({ operands: [file] }) {
      const disk = VhdDisk.open(file!, { readOnly: true });
      try {
        return new VhdInfoView(vhdInfo(disk), disk.toMimeBundle()["image/svg+xml"] as string | undefined);
      } finally {
        disk.close();
      }
    },
  },
  check: {
    usage: "check [--repair] FILE",
    summary: "Check every field, checksum, BAT entry and bitmap; --repair fixes what it safely can.",
    switches: ["--repair"],
    operands: [1, 1],
    run({ flags, operands: [file] }) {
      return new CheckReportView(checkVhd(file!, { repair: flags.has("--repair") }));
    },
  },
  map: {
    usage: "map FILE",
    summary: "Which file of the chain holds each range of the virtual disk.",
    operands: [1, 1],
    run({ operands: [file] }) {
      const disk = VhdDisk.open(file!, { readOnly: true });
      try {
        return new ExtentMapView(mapVhd(disk));
      } finally {
        disk.close();
      }
    },
  },
  convert: {
    usage: "convert -O raw|fixed|dynamic IN OUT",
    summary: "raw <-> VHD, fixed <-> dynamic, or a chain flattened into one image (with progress).",
    values: ["-O"],
    operands: [2, 2],
    async run({ flags, operands: [input, output] }, ctx) {
      const to = flags.get("-O");
      if (to !== "raw" && to !== "fixed" && to !== "dynamic") throw new UsageError("-O must be raw, fixed or dynamic");
      const label = `convert ${input} → ${output} (${to})`;
      const id = `vhd-convert-${Date.now()}`;
      ctx.out.display(new ProgressView({ label, done: 0, unit: "bytes", status: "running" }).toMimeBundle(), { id });
      let last = 0;
      const t0 = Date.now();
      const result = await convertImageAsync(input!, output!, {
        to,
        onProgress: (done, total) => {
          if (Date.now() - last < 100) return;
          last = Date.now();
          ctx.out.updateDisplay(id, new ProgressView({ label, done, total, unit: "bytes", status: "running" }).toMimeBundle());
        },
      });
      const secs = (Date.now() - t0) / 1000;
      ctx.out.updateDisplay(id, new ProgressView({ label, done: result.size, total: result.size, unit: "bytes", status: "done", figures: { written: formatSize(result.bytesWritten), "MB/s": (result.size / 1e6 / Math.max(secs, 1e-3)).toFixed(0) } }).toMimeBundle());
      return undefined;
    },
  },
  compact: {
    usage: "compact FILE",
    summary: "Rewrite a dynamic disk without leaked space or all-zero blocks.",
    operands: [1, 1],
    run({ operands: [file] }) {
      const r = compactVhd(file!);
      return new TextResult(`compacted ${file}: ${JSON.stringify(r)}`);
    },
  },
  resize: {
    usage: "resize [--shrink] FILE SIZE",
    summary: "Grow (or with --shrink, shrink) the virtual disk.",
    switches: ["--shrink"],
    operands: [2, 2],
    run({ flags, operands: [file, size] }) {
      const r = resizeVhd(file!, parseSize(size!), { shrink: flags.has("--shrink") });
      return new TextResult(`resized ${file}: ${JSON.stringify(r)}`);
    },
  },
  coalesce: {
    usage: "coalesce CHILD",
    summary: "Merge a differencing disk's data into its parent.",
    operands: [1, 1],
    run({ operands: [child] }) {
      const r = coalesceVhd(child!);
      return new TextResult(`merged ${formatSize(r.bytesMerged)} of ${r.child} into ${r.parent}`);
    },
  },
  mount: {
    usage: "mount [--rw] FILE | DOMAIN:VDEV",
    summary: "Look inside a disk (VHD or raw, or a domain's attached disk): partitions and filesystems, with ls/tree/cat/stat.",
    switches: ["--rw"],
    operands: [1, 1],
    run({ flags, operands: [target] }) {
      // DOMAIN:VDEV (e.g. longhorn:xvda) is the disk a domain has attached: read through the very
      // device blkback serves, read-only so the guest's writes and ours cannot interleave.
      const attached = /^([^:/]+):((?:xvd|hd|sd)[a-z]+\d*|\d+)$/.exec(target!);
      if (attached && !existsSync(target!)) {
        if (flags.has("--rw")) throw new UsageError("a domain's attached disk mounts read-only (the guest owns it); detach it to write");
        const host = currentHost();
        const dom = host.findDomain(/^\d+$/.test(attached[1]!) ? Number(attached[1]) : attached[1]!);
        if (!dom) throw new UsageError(`%vhd mount: no domain ${attached[1]} (%xl list shows them)`);
        const vbd = findDisk(host, dom, /^\d+$/.test(attached[2]!) ? Number(attached[2]) : attached[2]!);
        return mountDisk(readOnlyView(vbd.device));
      }
      return mountImage(target!, { readOnly: !flags.has("--rw") });
    },
  },
};

function parse(verb: Verb, words: string[]): Parsed {
  const flags = new Map<string, string | true>();
  const operands: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith("-") && w.length > 1 && !/^-\d/.test(w)) {
      if (verb.values?.includes(w)) {
        const v = words[++i];
        if (v === undefined) throw new UsageError(`${w} needs a value`);
        flags.set(w, v);
      } else if (verb.switches?.includes(w)) {
        flags.set(w, true);
      } else {
        throw new UsageError(`unknown option ${w} for %vhd ${verb.usage.split(" ")[0]}; usage: %vhd ${verb.usage}`);
      }
    } else {
      operands.push(w);
    }
  }
  const [min, max] = verb.operands;
  if (operands.length < min || operands.length > max) throw new UsageError(`usage: %vhd ${verb.usage}`);
  return { flags, operands };
}

const HELP = [
  "%vhd VERB [options] ...",
  "",
  "Microsoft's Virtual Hard Disk format (fixed, dynamic, differencing), as qemu-img, vhd-util and",
  "Virtual Server 2005 read and write it. Sizes take K, M, G, T suffixes.",
  "",
  ...Object.values(VERBS).flatMap((v) => [`  %vhd ${v.usage}`, `      ${v.summary}`]),
  "",
  "Examples:",
  "  %vhd create -t dynamic longhorn.vhd 2G",
  "  %vhd snapshot longhorn.vhd longhorn-snap.vhd",
  "  %vhd check --repair longhorn.vhd",
  "  const disk = %vhd mount longhorn.vhd",
].join("\n");

export const vhdMagic: Magic = {
  name: "vhd",
  kind: "line",
  summary: "VHD disks: create, snapshot, info, check, map, convert, compact, resize, coalesce, mount.",
  help: HELP,
  async run(args, _body, ctx) {
    const [verbName, ...rest] = splitArgs(args);
    if (!verbName) throw new UsageError(`%vhd needs a verb: ${Object.keys(VERBS).join(", ")} (%vhd? explains them)`);
    const verb = VERBS[verbName];
    if (!verb) throw new UsageError(`unknown %vhd verb ${verbName}; the verbs are ${Object.keys(VERBS).join(", ")}`);
    try {
      return await verb.run(parse(verb, rest), ctx);
    } catch (err) {
      // Usage mistakes read as UsageError; a bad disk keeps its own name (VhdFormatError, with the field).
      if (err instanceof VhdUsageError) throw new UsageError(err.message);
      if (err instanceof VhdFormatError) throw err;
      if (err instanceof Error && err.name === "BlkbackError") throw new UsageError(`%vhd ${verbName}: ${err.message}`);
      const code = (err as NodeJS.ErrnoException).code;
      if (typeof code === "string" && code.startsWith("E")) throw new UsageError(`%vhd ${verbName}: ${(err as Error).message}`);
      throw err;
    }
  },
  complete(before) {
    const words = before.split(/\s+/);
    if (words.length <= 1) return Object.keys(VERBS);
    return completePath(before, { filter: (name) => /\.(vhd|img|raw|bin)$/i.test(name) });
  },
};
