/**
 * `xenlab vhd VERB ...`: the VHD library from a shell, with qemu-img's habits (sizes with K/M/G/T,
 * `--json`, check's exit codes 0 clean / 2 corruption / 3 leaks only / 1 could not check).
 */
import { readFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  VhdDisk,
  VhdFormatError,
  VhdUsageError,
  checkVhd,
  coalesceVhd,
  compactVhd,
  rebaseVhd,
  convertImageAsync,
  createDifferencing,
  createVhd,
  formatSize,
  mapVhd,
  parseSize,
  resizeVhd,
  vhdInfo,
  CheckReport,
  VhdInfo,
  qemuImageCheck,
  qemuImageInfo,
  qemuImageInfoChain,
  qemuMap,
  qemuMapText,
  parseCacheMode,
  progressPart,
  microsoftProfile,
  writeMicrosoftVhd,
} from "../vhd";

import { measureVerb } from "./vhd-measure";
import { compareVerb } from "./vhd-compare";
import { amendVerb, snapshotVerb } from "./vhd-snapshot";
import { queryVerb, scanVerb, setVerb } from "./vhd-util";
import { progressReporter } from "./vhd-progress";
import { lockOptions, Args, Verb, out, err, json, VALUE_FLAGS, hostFor, vpcOptions, CACHE_HELP, outputJson, sizeCalc, SIZE_CALC_HELP } from "./vhd-args";


const VERBS: Record<string, Verb> = {
  create: {
    usage: "create [-t fixed|dynamic] [-b BLOCK_SIZE] [--force-size] [-o subformat=fixed|dynamic,force_size=on|off,block_size=SIZE] [--layout virtualpc|virtualserver|hyperv|disk2vhd] FILE SIZE | create -p PARENT [--layout TOOL] CHILD",
    help: "create a fixed or dynamic VHD (size rounded up to a CHS product, like qemu-img; --force-size keeps it exact), or a differencing child of PARENT; --layout writes it as that Microsoft tool does (its creator, exact size with the spec's CHS, its alignment and padding)",
    valueFlags: [...VALUE_FLAGS, "-p"],
    run(a) {
      a.onlyFlags(["-t", "-b", "-p", "--force-size", "--layout", "-o"]);
      const vo = vpcOptions(a.value("-o"));
      const parent = a.value("-p");
      const layout = a.value("--layout");
      if (layout !== undefined) {
        const profile = microsoftProfile(layout);
        if (a.has("--force-size")) throw new VhdUsageError("--layout keeps the size exact already (Microsoft's rule): drop --force-size");
        const blockSize = a.value("-b") ? parseSize(a.value("-b")!) : undefined;
        if (parent) {
          const [child] = a.operands(1);
          writeMicrosoftVhd(child!, profile, { type: "differencing", parentPath: parent, parentWindowsPath: resolve(parent), blockSize });
          out(`Formatting '${child}', fmt=vpc differencing parent=${parent} layout=${profile.tool} (${profile.product})`);
          return 0;
        }
        const [file, sizeText] = a.operands(2);
        const type = (a.value("-t") ?? "dynamic") as "fixed" | "dynamic";
        if (type !== "fixed" && type !== "dynamic") throw new VhdUsageError(`-t must be fixed or dynamic, not ${type}`);
        const size = parseSize(sizeText!);
        writeMicrosoftVhd(file!, profile, { type, size, blockSize });
        out(`Formatting '${file}', fmt=vpc ${type} size=${size} layout=${profile.tool} (${profile.product})`);
        return 0;
      }
      if (parent) {
        const [child] = a.operands(1);
        const d = createDifferencing(child!, parent);
        out(`Formatting '${child}', fmt=vpc differencing size=${d.size} parent=${d.parent?.path}`);
        d.close();
        return 0;
      }
      const [file, sizeText] = a.operands(2);
      const type = (a.value("-t") ?? vo.subformat ?? "dynamic") as "fixed" | "dynamic";
      if (type !== "fixed" && type !== "dynamic") throw new VhdUsageError(`-t must be fixed or dynamic, not ${type}`);
      const requested = parseSize(sizeText!);
      const blockSize = a.value("-b") ? parseSize(a.value("-b")!) : vo.blockSize;
      const d = createVhd(file!, { type, size: requested, blockSize, sizePolicy: a.has("--force-size") || vo.forceSize ? "exact" : "chs" });
      out(`Formatting '${file}', fmt=vpc ${type} size=${d.size}${blockSize ? ` block_size=${blockSize}` : ""}`);
      if (d.size !== requested) err(`note: size rounded up from ${requested} to ${d.size} bytes for CHS geometry ${d.footer.geometry.cylinders}/${d.footer.geometry.heads}/${d.footer.geometry.sectorsPerTrack} (use --force-size to keep it exact)`);
      d.close();
      return 0;
    },
  },
  snapshot: snapshotVerb,
  amend: amendVerb,
  compare: compareVerb,
  query: queryVerb,
  scan: scanVerb,
  set: setVerb,
  info: {
    usage: "info [--json | --output=human|json] [--backing-chain] [--size-calc current|chs|qemu] FILE",
    help: `footer, header, geometry, locators and the parent chain; --output=json prints qemu-img info's JSON (an array of every image of the chain with --backing-chain), --json our full report; ${SIZE_CALC_HELP} (--output=json follows qemu unless it is given, as force_size_calc)`,
    run(a) {
      a.onlyFlags(["--json", "--output", "--backing-chain", "--size-calc", "-U", "--force-share"]);
      const host = hostFor(a, "-T");
      const qemuJson = outputJson(a);
      const calc = sizeCalc(a);
      const [file] = a.operands(1);
      let d: VhdDisk;
      let parentProblem: string | undefined;
      try {
        d = VhdDisk.open(file!, { readOnly: true, sizeMode: calc, host });
      } catch (e) {
        // still describe a differencing disk whose parent is missing or wrong (qemu-img info -U style)
        if (!(e instanceof VhdFormatError) || !e.field.startsWith("header parent")) throw e;
        d = VhdDisk.open(file!, { readOnly: true, noParent: true, sizeMode: calc, host });
        parentProblem = e.message;
      }
      try {
        const chain = d.chain().map(vhdInfo);
        if (parentProblem) chain[0]!.warnings.push(`parent not opened: ${parentProblem}`);
        if (qemuJson) json(a.has("--backing-chain") ? qemuImageInfoChain(d, file!, calc) : qemuImageInfo(d, file!, calc));
        else if (a.has("--json")) json(chain.length === 1 ? chain[0] : { ...chain[0], chain });
        else out((a.has("--backing-chain") ? chain : chain.slice(0, 1)).map(infoText).join("\n"));
      } finally {
        d.close();
      }
      return 0;
    },
  },
  check: {
    usage: "check [--repair | -r leaks|all] [-T SRC_CACHE] [--json | --output=human|json] [-p] FILE",
    help: "check every field, checksum, the footer copy, BAT, bitmaps and parent identity; exit 0 clean, 2 corrupt, 3 leaks only, 1 could not open (as qemu-img check). --output=json prints qemu-img check's JSON (ImageCheck), --json our full report with every repair and the bytes it lost; -p shows progress as the blocks are read (qemu-img's format, on stdout; not with --output=json or --json)",
    valueFlags: [...VALUE_FLAGS, "-r", "--output"],
    run(a) {
      a.onlyFlags(["--repair", "-r", "--json", "--output", "-T", "-U", "--force-share", "-p"]);
      const host = hostFor(a, "-T"); // qemu-img check: -T, which its repairs write through too
      const qemuJson = outputJson(a);
      const mode = a.value("-r");
      if (mode !== undefined && mode !== "leaks" && mode !== "all") throw new VhdUsageError(`-r must be leaks or all, not ${mode}`);
      if ((mode !== undefined || a.has("--repair")) && a.has("-U", "--force-share")) throw new VhdUsageError("force-share=on can only be used with read-only images: -U does not go with a repair");
      const [file] = a.operands(1);
      if (a.has("-p") && (qemuJson || a.has("--json"))) throw new VhdUsageError("-p would mix progress into the JSON on stdout: drop one");
      const progress = a.has("-p") ? progressReporter() : undefined;
      const onProgress = progress?.update;
      let report: CheckReport;
      let before: CheckReport | undefined;
      try {
        if (mode === "leaks") {
          // qemu-img check -r leaks repairs only leaks: refuse to touch an image that is corrupt.
          before = checkVhd(file!, { host, onProgress: progressPart(onProgress, 0, 0.5) });
          report = before.result === 3 ? checkVhd(file!, { repair: true, host, onProgress: progressPart(onProgress, 0.5, 1) }) : before;
        } else {
          const repair = a.has("--repair") || mode === "all";
          if (repair && qemuJson) before = checkVhd(file!, { host });
          report = checkVhd(file!, { repair, host, onProgress });
        }
      } catch (e) {
        progress?.done();
        err(`xenlab vhd check: could not check ${file}: ${(e as Error).message}`);
        return 1;
      }
      progress?.done();
      if (qemuJson) json(qemuImageCheck(report, file!, before));
      else if (a.has("--json")) json(report);
      else {
        if (mode === "leaks" && report.result === 2) err("xenlab vhd check: -r leaks repairs only leaks and the image is corrupt: use -r all");
        out(checkText(report));
      }
      return report.result;
    },
  },
  map: {
    usage: "map [--json | --output=human|json] [--size-calc current|chs|qemu] FILE",
    help: `allocated ranges and which file of the chain holds them; --output=json prints qemu-img map's JSON (MapEntry per extent), --json ours; ${SIZE_CALC_HELP}`,
    run(a) {
      a.onlyFlags(["--json", "--output", "--size-calc", "-U", "--force-share"]);
      const qemuJson = outputJson(a);
      const [file] = a.operands(1);
      const d = VhdDisk.open(file!, { readOnly: true, sizeMode: sizeCalc(a), host: hostFor(a, "-T") });
      try {
        const extents = mapVhd(d);
        if (qemuJson) out(qemuMapText(qemuMap(extents, d.chain().length)));
        else if (a.has("--json")) json(extents.map((e) => ({ start: e.start, length: e.length, depth: e.depth, data: e.file !== undefined, file: e.file, offset: e.fileOffset })));
        else {
          const rows = extents.filter((e) => e.file !== undefined).map((e) => `${hex(e.start)}  ${hex(e.length)}  ${hex(e.fileOffset!)}  ${e.file}`);
          out(["Offset              Length              Mapped to           File", ...rows].join("\n"));
        }
      } finally {
        d.close();
      }
      return 0;
    },
  },
  convert: {
    usage: "convert [-f raw|vpc] -O raw|fixed|dynamic|vpc [-o subformat=fixed|dynamic,force_size=on|off,block_size=SIZE] [-b BLOCK_SIZE] [--chs] [--size-calc current|chs|qemu] [-t CACHE] [-T SRC_CACHE] [-p] IN OUT",
    help: `raw <-> VHD, fixed <-> dynamic, a chain flattened; raw input keeps its exact size unless --chs; ${SIZE_CALC_HELP}; ${CACHE_HELP}`,
    async run(a) {
      a.onlyFlags(["-f", "-O", "-b", "--chs", "-p", "--size-calc", "-t", "-T", "-o", "-U", "--force-share"]);
      const [input, output] = a.operands(2);
      const format = a.value("-O");
      // qemu-img's spelling: -O vpc -o subformat=...; a raw input is then rounded to CHS unless force_size=on, as qemu does
      const vo = vpcOptions(a.value("-o"));
      if (a.value("-o") !== undefined && format !== "vpc") throw new VhdUsageError("-o goes with -O vpc");
      const to = format === "vpc" ? (vo.subformat ?? "dynamic") : format;
      if (to !== "raw" && to !== "fixed" && to !== "dynamic") throw new VhdUsageError("-O must be raw, vpc, fixed or dynamic");
      const chs = format === "vpc" ? !vo.forceSize : a.has("--chs");
      const from = a.value("-f") as "raw" | "vpc" | undefined;
      if (from !== undefined && from !== "raw" && from !== "vpc") throw new VhdUsageError("-f must be raw or vpc");
      const progress = a.has("-p") ? progressReporter() : undefined;
      const r = await convertImageAsync(input!, output!, {
        to,
        from: from ?? "auto",
        blockSize: a.value("-b") ? parseSize(a.value("-b")!) : vo.blockSize,
        sizePolicy: chs ? "chs" : "exact",
        sizeCalc: sizeCalc(a),
        cache: parseCacheMode(a.value("-t") ?? "writeback", "-t"),
        srcCache: parseCacheMode(a.value("-T") ?? "writeback", "-T"),
        onProgress: progress?.update,
        lock: lockOptions(a),
      });
      progress?.done();
      out(`${input} -> ${output} (${to}): ${formatSize(r.size)}, ${formatSize(r.bytesWritten)} written, ${r.chunksSkipped} empty chunks skipped`);
      return 0;
    },
  },
  measure: measureVerb,
  compact: {
    usage: "compact [-t CACHE] [-T SRC_CACHE] [-p] FILE",
    help: `rewrite a dynamic/differencing disk without leaked space and all-zero blocks; -p progress; ${CACHE_HELP}`,
    run(a) {
      a.onlyFlags(["-t", "-T", "-p"]);
      const [file] = a.operands(1);
      const progress = a.has("-p") ? progressReporter() : undefined;
      const r = compactVhd(file!, hostFor(a), progress?.update);
      progress?.done();
      out(`${file}: ${r.bytesBefore} -> ${r.bytesAfter} bytes, ${r.blocksBefore} -> ${r.blocksAfter} blocks`);
      return 0;
    },
  },
  resize: {
    usage: "resize [--shrink] [-t CACHE] [-p] FILE [+|-]SIZE",
    help: `change the virtual size (qemu-img resize; shrinking needs --shrink); -p progress (a BAT that must grow past its padding rewrites the file); ${CACHE_HELP}`,
    run(a) {
      a.onlyFlags(["--shrink", "-t", "-T", "-p"]);
      const host = hostFor(a);
      const [file, sizeText] = a.operands(2);
      let size: number;
      if (/^[+-]/.test(sizeText!)) {
        const d = VhdDisk.open(file!, { readOnly: true, noParent: true, host });
        const cur = d.footer.currentSize;
        d.close();
        const delta = parseSize(sizeText!.slice(1));
        size = sizeText!.startsWith("+") ? cur + delta : cur - delta;
      } else size = parseSize(sizeText!);
      const progress = a.has("-p") ? progressReporter() : undefined;
      const r = resizeVhd(file!, size, { shrink: a.has("--shrink"), host, onProgress: progress?.update });
      progress?.done();
      out(`Image resized: ${r.oldSize} -> ${r.newSize} bytes (${r.method})`);
      return 0;
    },
  },
  coalesce: {
    usage: "coalesce [-t CACHE] [-T SRC_CACHE] [-p] CHILD",
    help: `merge a differencing disk into its parent (vhd-util coalesce, qemu-img commit); -p progress; ${CACHE_HELP}`,
    run(a) {
      a.onlyFlags(["-t", "-T", "-p"]);
      const [child] = a.operands(1);
      const progress = a.has("-p") ? progressReporter() : undefined;
      const r = coalesceVhd(child!, { host: hostFor(a), onProgress: progress?.update });
      progress?.done();
      out(`coalesced ${r.bytesMerged} bytes of ${r.child} into ${r.parent}; ${r.child} is now redundant`);
      return 0;
    },
  },
  rebase: {
    usage: "rebase [-t CACHE] [-T SRC_CACHE] [-p] CHILD NEW_PARENT",
    help: `point a differencing disk at another parent, metadata only (vhd-util modify -p, qemu-img rebase -u); -p progress; ${CACHE_HELP}`,
    run(a) {
      a.onlyFlags(["-t", "-T", "-p"]);
      const [child, parent] = a.operands(2);
      const progress = a.has("-p") ? progressReporter() : undefined;
      rebaseVhd(child!, parent!, hostFor(a), progress?.update);
      progress?.done();
      const d = VhdDisk.open(child!, { readOnly: true, host: hostFor(a) });
      out(`${child} now has parent ${d.parent?.path} (unique id ${d.parent?.uniqueId})`);
      d.close();
      return 0;
    },
  },
  read: {
    usage: "read [--size-calc current|chs|qemu] [-T SRC_CACHE] FILE OFFSET LENGTH",
    help: `copy LENGTH bytes at OFFSET of the virtual disk to stdout; ${SIZE_CALC_HELP}; -T none reads with O_DIRECT`,
    run(a) {
      a.onlyFlags(["--size-calc", "-T", "-U", "--force-share"]);
      const [file, offText, lenText] = a.operands(3);
      const d = VhdDisk.open(file!, { readOnly: true, sizeMode: sizeCalc(a), host: hostFor(a, "-T") });
      try {
        const offset = parseSize(offText!);
        const length = parseSize(lenText!);
        const chunk = Buffer.alloc(Math.min(length, 4 << 20));
        for (let done = 0; done < length; ) {
          const n = Math.min(chunk.length, length - done);
          d.read(offset + done, chunk.subarray(0, n));
          writeAllSync(1, chunk.subarray(0, n));
          done += n;
        }
      } finally {
        d.close();
      }
      return 0;
    },
  },
  write: {
    usage: "write [-t CACHE] FILE OFFSET",
    help: `write stdin to the virtual disk at OFFSET and flush; ${CACHE_HELP}`,
    run(a) {
      a.onlyFlags(["-t", "-T"]);
      const [file, offText] = a.operands(2);
      const data = readFileSync(0);
      const d = VhdDisk.open(file!, { host: hostFor(a) });
      try {
        d.write(parseSize(offText!), data);
        d.flush();
      } finally {
        d.close();
      }
      err(`wrote ${data.length} bytes at ${offText}`);
      return 0;
    },
  },
};

/** writeSync that waits out EAGAIN: stdout may be a non-blocking pipe whose reader is slower. */
function writeAllSync(fd: number, data: Uint8Array): void {
  for (let w = 0; w < data.length; ) {
    try {
      w += writeSync(fd, data, w, data.length - w);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function usage(): string {
  const lines = ["usage: xenlab vhd VERB [options] ...", ""];
  for (const v of Object.values(VERBS)) lines.push(`  xenlab vhd ${v.usage}`, `      ${v.help}`);
  lines.push("", "Every verb takes -f vpc (convert: -f raw|vpc) and --help; xenlab vhd --version prints the version.", "Sizes take K, M, G, T suffixes (powers of 1024).");
  return lines.join("\n");
}

function hex(n: number): string {
  return `0x${n.toString(16)}`.padEnd(20);
}

function infoText(i: VhdInfo): string {
  const g = i.footer.geometry;
  const lines = [
    `image: ${i.file}`,
    `file format: vpc (${i.type})`,
    `virtual size: ${formatSize(i.virtualSize)} (${i.virtualSize} bytes)`,
    `disk size: ${formatSize(i.fileSize)}`,
    `current size: ${i.currentSize}  original size: ${i.originalSize}`,
    `geometry: ${g.cylinders}/${g.heads}/${g.sectorsPerTrack} (CHS size ${i.chsSize}; qemu reports ${i.qemuVirtualSize})`,
    `creator: ${JSON.stringify(i.footer.creatorApplication)} ${i.footer.creatorVersion} on ${i.footer.creatorHostOs}, ${i.footer.timestamp}`,
    `unique id: ${i.footer.uniqueId}  checksum: ${i.footer.checksum}  saved state: ${i.footer.savedState}`,
    `footer: ${i.footer.source} @${i.footer.offset}`,
  ];
  if (i.header) {
    const h = i.header;
    lines.push(`cluster_size: ${h.blockSize}`, `BAT: @${h.tableOffset}, ${h.maxTableEntries} entries, ${h.allocatedBlocks} allocated`);
    if (h.parentUniqueId) lines.push(`parent: ${JSON.stringify(h.parentName)} unique id ${h.parentUniqueId} time ${h.parentTimestamp}`);
    for (const l of h.parentLocators) lines.push(`  locator ${l.index}: ${l.platform} @${l.dataOffset} space ${l.dataSpace} length ${l.dataLength}`);
  }
  if (i.parent) lines.push(`backing file: ${i.parent.path} (found by ${i.parent.foundBy})`);
  for (const w of i.warnings) lines.push(`warning: ${w}`);
  return lines.join("\n");
}

function checkText(r: CheckReport): string {
  if (r.unopenable) return `Could not open '${r.file}' as a VHD: ${r.unopenable}`;
  const lines: string[] = [];
  for (const f of r.findings) lines.push(`${f.severity.toUpperCase()}: ${f.field} @${f.offset}: ${f.message}${f.file ? ` (${f.file})` : ""}`);
  for (const x of r.repairs) lines.push(`Repaired: ${x}`);
  if (r.repairs.length) {
    lines.push(r.lost.length ? `Lost: ${r.lost.map((l) => `disk bytes ${l.offset}..${l.offset + l.length} (block ${l.block})`).join(", ")}` : "Lost: nothing (every written byte present in the file was kept)");
  }
  if (r.paddingBytes) lines.push(`${r.paddingBytes} bytes of zero padding (layout alignment, too short to hold a block: not a leak)`);
  if (r.totalBlocks) lines.push(`${r.allocatedBlocks}/${r.totalBlocks} = ${((r.allocatedBlocks / r.totalBlocks) * 100).toFixed(2)}% allocated`);
  lines.push(r.result === 0 ? "No errors were found on the image." : r.result === 3 ? `${r.leakedBytes} leaked bytes were found on the image (no corruption).` : `${r.findings.filter((f) => f.severity === "error").length} errors were found on the image.`);
  return lines.join("\n");
}

/** `-f FMT` / `-f=FMT` taken out of a verb's arguments: only vpc is a format these verbs read. */
function withoutFormat(argv: string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a !== "-f" && !a.startsWith("-f=")) {
      rest.push(a);
      continue;
    }
    const fmt = a === "-f" ? argv[++i] : a.slice(3);
    if (fmt === undefined) throw new VhdUsageError("option -f needs a value");
    if (fmt !== "vpc") throw new VhdUsageError(`-f ${fmt}: this verb reads VHD images only (-f vpc)`);
  }
  return rest;
}

/** The version in package.json, found from this file's place in the source or in dist/. */
function packageVersion(): string {
  for (const up of ["../..", "../../.."]) {
    try {
      return (JSON.parse(readFileSync(join(__dirname, up, "package.json"), "utf8")) as { version: string }).version;
    } catch {
      // not at this level: try the next one up
    }
  }
  return "unknown";
}

/** Entry point: `argv` is what follows `xenlab vhd`; returns the process exit code. */
export async function vhdCommand(argv: string[]): Promise<number> {
  const [verb, ...given] = argv;
  if (verb === "--version" || verb === "-V") {
    out(`xenlab vhd version ${packageVersion()} (VHD: Microsoft Virtual Hard Disk Image Format Specification 1.0; qemu-img's verbs and exit codes, vhd-util's check)`);
    return 0;
  }
  if (!verb || verb === "help" || verb === "--help" || verb === "-h") {
    (verb ? out : err)(usage());
    return verb ? 0 : 1;
  }
  const v = VERBS[verb];
  if (!v) {
    err(`xenlab vhd: unknown verb "${verb}"\n${usage()}`);
    return 1;
  }
  try {
    // qemu-img users pass -f vpc to every verb; convert, measure and compare read raw too and parse -f themselves.
    // vhd-util's verbs parse their own getopt letters (-f is a field there, not a format)
    if (v.getopt) return await v.run(new Args(["--", ...given], []));
    const rest = verb === "convert" || verb === "measure" || verb === "compare" ? given : withoutFormat(given);
    if (rest.includes("--help") || rest.includes("-h")) {
      out(`usage: xenlab vhd ${v.usage}\n  ${v.help}`);
      return 0;
    }
    return await v.run(new Args(rest, v.valueFlags ?? VALUE_FLAGS));
  } catch (e) {
    if (e instanceof VhdFormatError || e instanceof VhdUsageError) {
      err(`xenlab vhd ${verb}: ${e.message}`);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code && typeof code === "string") {
      err(`xenlab vhd ${verb}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}
