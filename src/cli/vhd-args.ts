/**
 * What every `xenlab vhd` verb shares: the command line parser (qemu-img's flag habits), output
 * helpers, the cache-mode host and the option texts used in help.
 */
import { VhdUsageError, parseSize, SizeCalc, FileHost, cacheFileHost, parseCacheMode, LockingOptions, lockingHost } from "../vhd";

export interface Verb {
  usage: string;
  help: string;
  /** Options of this verb that take a value (`-p PARENT` for create; `-p` alone is convert's progress flag, as in qemu-img). */
  valueFlags?: string[];
  /** The verb reads its arguments itself, getopt-style, as `positional` (vhd-util's query/scan/set). */
  getopt?: boolean;
  run(args: Args): number | Promise<number>;
}

/** Parsed command line: flags (with or without values) and positional operands. */
export class Args {
  readonly positional: string[] = [];
  private readonly flags = new Map<string, string | true>();

  constructor(argv: string[], withValue: string[]) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--") {
        this.positional.push(...argv.slice(i + 1));
        break;
      }
      if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a)) {
        const eq = a.indexOf("=");
        const name = eq > 0 ? a.slice(0, eq) : a;
        if (withValue.includes(name)) {
          const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
          if (v === undefined) throw new VhdUsageError(`option ${name} needs a value`);
          this.flags.set(name, v);
        } else {
          if (eq > 0) throw new VhdUsageError(`option ${name} takes no value`);
          this.flags.set(name, true);
        }
      } else {
        this.positional.push(a);
      }
    }
  }

  has(...names: string[]): boolean {
    return names.some((n) => this.flags.has(n));
  }

  value(...names: string[]): string | undefined {
    for (const n of names) {
      const v = this.flags.get(n);
      if (typeof v === "string") return v;
    }
    return undefined;
  }

  onlyFlags(allowed: string[]): void {
    for (const k of this.flags.keys()) if (!allowed.includes(k)) throw new VhdUsageError(`unknown option ${k}`);
  }

  operands(n: number, max = n): string[] {
    if (this.positional.length < n || this.positional.length > max) {
      throw new VhdUsageError(`expected ${n === max ? n : `${n} to ${max}`} operand(s), got ${this.positional.length}`);
    }
    return this.positional;
  }
}

export function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function json(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

export const VALUE_FLAGS = ["-t", "-T", "-b", "-O", "-f", "-o", "--output", "--size-calc", "--layout"];

/**
 * The files a verb opens, under qemu-img's cache modes (cache-mode.ts): `-t` for the image it
 * writes, `-T` for the images it only reads. Both default to writeback: whatever a verb reports
 * as done has been fdatasync'ed (qemu-img convert's default is unsafe: pass -t unsafe for that).
 */
export function hostFor(a: Args, verbCache: "-t" | "-T" = "-t"): FileHost {
  const read = parseCacheMode(a.value("-T") ?? "writeback", "-T");
  const write = verbCache === "-T" ? read : parseCacheMode(a.value("-t") ?? "writeback", "-t");
  return lockingHost(cacheFileHost(write, read), lockOptions(a));
}

let warnedUnlocked = false;

/** qemu's image locking for this command line: -U / --force-share for readers, a warning once if locks cannot be taken. */
export function lockOptions(a: Args): LockingOptions {
  return {
    forceShare: a.has("-U", "--force-share"),
    onUnavailable: (why) => {
      if (!warnedUnlocked) process.stderr.write(`warning: ${why}; opening without locks\n`);
      warnedUnlocked = true;
    },
  };
}

export const LOCK_HELP = "every file is locked as qemu locks it (OFD locks on bytes 100+/200+): a second writer, or a writer beside a reader, is refused naming the holder; -U / --force-share reads beside a writer";

/**
 * qemu-img's `-o` for format vpc (block/vpc.c vpc_create_opts: subformat, force_size), plus
 * block_size, which qemu's vpc driver refuses ("Invalid parameter 'block_size'") but VHD allows.
 */
export interface VpcOptions {
  subformat?: "fixed" | "dynamic";
  forceSize?: boolean;
  blockSize?: number;
}

export function vpcOptions(text: string | undefined): VpcOptions {
  const out: VpcOptions = {};
  if (text === undefined) return out;
  for (const item of text.split(",").filter(Boolean)) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? "on" : item.slice(eq + 1);
    if (key === "subformat") {
      if (value !== "fixed" && value !== "dynamic") throw new VhdUsageError(`-o subformat=${value}: must be fixed or dynamic`);
      out.subformat = value;
    } else if (key === "force_size") {
      if (!["on", "off", "true", "false"].includes(value)) throw new VhdUsageError(`-o force_size=${value}: must be on or off`);
      out.forceSize = value === "on" || value === "true";
    } else if (key === "block_size") {
      out.blockSize = parseSize(value);
    } else {
      throw new VhdUsageError(`-o: invalid parameter '${key}' for vpc (subformat, force_size, block_size)`);
    }
  }
  return out;
}

export const CACHE_HELP = "-t CACHE for the image written, -T SRC_CACHE for images read: writeback (default: flushed when the verb ends), writethrough (flushed after every write), none (O_DIRECT, flushed at the end), directsync (O_DIRECT, every write flushed), unsafe (never flushed)";

/** qemu-img's --output=human|json (human is the default). */
export function outputJson(a: Args): boolean {
  const o = a.value("--output");
  if (o !== undefined && o !== "human" && o !== "json") throw new VhdUsageError(`--output must be human or json, not ${o}`);
  return o === "json";
}

/** `--size-calc current|chs|qemu` (qemu's force_size_calc; "current_size" is accepted as qemu spells it). */
export function sizeCalc(a: Args): SizeCalc | undefined {
  const v = a.value("--size-calc");
  if (v === undefined) return undefined;
  if (v === "current" || v === "current_size") return "current";
  if (v === "chs" || v === "qemu") return v;
  throw new VhdUsageError(`--size-calc must be current, chs or qemu, not ${v}`);
}

export const SIZE_CALC_HELP = "--size-calc current|chs|qemu picks the virtual size: the footer's current size (default, as libvhdi and Hyper-V), the CHS geometry's (Virtual PC), or qemu-img's choice by creator";
