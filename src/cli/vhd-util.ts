/**
 * vhd-util's query, scan and set (xapi-project/blktap vhd/lib/vhd-util-query.c, -scan.c,
 * -set-field.c): the same options (getopt letters, bundling allowed), the same lines on stdout and
 * the same exit codes (vhd-util exits with -err: 22 for a usage error or a file that is not a VHD,
 * 2 for a missing one). Like vhd-util they read metadata without taking image locks (XenServer
 * queries images tapdisk has open); set writes, so it takes a writer's lock as every CLI writer.
 */
import { readdirSync, statSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  DiskType,
  EINVAL,
  ENOENT,
  FileHost,
  VhdDisk,
  VhdFormatError,
  cacheFileHost,
  headerParentName,
  hiddenFlag,
  lockingHost,
  nodeFileHost,
  parentPath,
  physicalSize,
  readKeyHash,
  readLocator,
  readMarker,
  rebaseVhd,
  scanLocator,
  writeHidden,
  writeMarker,
} from "../vhd";
import { Verb, out, err } from "./vhd-args";

/** POSIX getopt with GNU's permutation: `spec` letters, "x:" takes a value; "?" marks an unknown letter. */
function getopt(argv: string[], spec: string): { opts: Array<[string, string | undefined]>; operands: string[] } {
  const opts: Array<[string, string | undefined]> = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = spec.indexOf(c);
      if (at < 0 || c === ":") {
        opts.push(["?", c]);
        continue;
      }
      if (spec[at + 1] !== ":") {
        opts.push([c, undefined]);
        continue;
      }
      const value = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
      opts.push(value === undefined ? ["?", c] : [c, value]);
      break;
    }
  }
  return { opts, operands };
}

/** libvhd's error for a failed vhd_open: -errno. */
function openErrno(e: unknown): number {
  if (e instanceof VhdFormatError) return EINVAL;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return ENOENT;
  if (code === "EACCES") return 13;
  if (code === "EISDIR") return 21;
  return EINVAL;
}

const unlocked: FileHost = nodeFileHost;

function open(path: string, host: FileHost = unlocked, readOnly = true): VhdDisk {
  return VhdDisk.open(path, { readOnly, noParent: true, host });
}

/** C's strtol(s, NULL, 10) for a long: leading blanks, a sign, digits; 0 if none. */
function strtol(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) : 0;
}

const QUERY_USAGE =
  "options: <-n name> [-v print virtual size (in MB)] [-s print physical utilization (bytes)] [-p print parent] [-f print fields] [-m print marker] [-d print chain depth] [-S print max virtual size (MB) for fast resize] [-a print allocated block count] [-u don't resolve parent path] [-h help]";

export const queryVerb: Verb = {
  getopt: true,
  usage: "query -n FILE [-v] [-s] [-p [-u]] [-f] [-m] [-d] [-a] [-S]",
  help: "vhd-util query: -v virtual size in MiB, -s physical utilization in bytes (end of the last block or of the metadata, plus the footer), -p the parent (resolved to a real path; -u as the locator stores it), -f 'hidden: N', -m 'marker: N', -d 'chain depth: N', -a allocated block count, -S largest size in MiB reachable without moving data",
  run(a) {
    const { opts, operands } = getopt(a.positional, "n:vspfdSmauh");
    const on = new Set(opts.map(([c]) => c));
    const name = opts.filter(([c]) => c === "n").pop()?.[1];
    if (on.has("h") || on.has("?") || !name || operands.length) {
      out(QUERY_USAGE);
      return on.has("h") && !on.has("?") ? 0 : EINVAL;
    }
    let d: VhdDisk;
    try {
      d = open(name);
    } catch (e) {
      const n = openErrno(e);
      out(`error opening ${name}: -${n}`);
      return n;
    }
    let rc = 0;
    const fail = (n: number) => (rc = rc || n);
    try {
      if (on.has("v")) out(String(Math.floor(d.footer.currentSize / 2 ** 20)));
      if (on.has("s")) out(String(physicalSize(d)));
      if (on.has("p")) {
        if (d.type !== DiskType.Differencing) out(`${name} has no parent`);
        else {
          const p = parentPath(d, !on.has("u"));
          if (p === undefined) {
            out("query failed");
            fail(EINVAL);
          } else out(p);
        }
      }
      if (on.has("f")) out(`hidden: ${hiddenFlag(d)}`);
      if (on.has("m")) {
        const m = readMarker(d);
        if (m < 0) {
          out(`error checking 'marker' field: ${m}`);
          fail(-m);
        } else out(`marker: ${m}`);
      }
      if (on.has("d")) {
        const depth = chainDepth(d);
        if (depth < 0) {
          out(`error checking chain depth: ${depth}`);
          fail(-depth);
        } else out(`chain depth: ${depth}`);
      }
      if (on.has("a")) out(String(d.type === DiskType.Fixed ? 0 : d.bat.reduce((n, e) => n + (e !== 0xffffffff ? 1 : 0), 0)));
      // max_bat_size << (VHD_BLOCK_SHIFT - 20): BAT entries times the 2 MiB block vhd-util assumes
      if (on.has("S")) out(String(d.type === DiskType.Fixed ? 0 : d.header!.maxTableEntries * 2));
    } finally {
      d.close();
    }
    return rc;
  },
};

/** vhd_chain_depth: files in the chain, following resolved locators; -errno if a parent cannot be found or opened. */
function chainDepth(top: VhdDisk): number {
  let cnt = 0;
  let cur = top;
  try {
    for (;;) {
      cnt++;
      if (cur.type !== DiskType.Differencing) return cnt;
      if (cur.header!.parentUniqueId.every((b) => b === 0)) return cnt + 1; // vhd_parent_raw
      const p = parentPath(cur, true);
      if (p === undefined) return -EINVAL;
      const next = (() => {
        try {
          return open(p);
        } catch (e) {
          return -openErrno(e);
        }
      })();
      if (cur !== top) cur.close();
      if (typeof next === "number") return next;
      cur = next;
    }
  } finally {
    if (cur !== top) cur.close();
  }
}

const SET_USAGE = "options: <-n name> <-f field> <-v value> [-h help]";

export const setVerb: Verb = {
  getopt: true,
  usage: "set -n FILE -f hidden|marker|parent -v VALUE",
  help: "vhd-util set-field: hidden (footer byte 85, checksummed, rewritten at the end of the data and in the copy at 0) or marker (the batmap's, else the file's user.com.citrix.xenclient.backend.marker xattr), 0-255; parent (ours: vhd-util modify -p's job) points a differencing disk at the file VALUE, as rebase",
  run(a) {
    const { opts, operands } = getopt(a.positional, "n:f:v:h");
    const get = (c: string) => opts.filter(([k]) => k === c).pop()?.[1];
    const name = get("n");
    const field = get("f");
    const raw = get("v");
    const usage = () => {
      out(SET_USAGE);
      return EINVAL;
    };
    if (opts.some(([c]) => c === "h" || c === "?") || !name || !field || operands.length || raw === undefined) return usage();
    const host = lockingHost(cacheFileHost("writeback", "writeback"), {});
    if (field === "parent") {
      rebaseVhd(name, raw, host);
      return 0;
    }
    if (field.length >= 25) {
      out("invalid field");
      return usage();
    }
    if (field !== "hidden" && field !== "marker") {
      out(`invalid field ${field}`);
      return usage();
    }
    const value = strtol(raw);
    if (value < 0 || value > 255) {
      out(`invalid value ${value}`);
      return usage();
    }
    let d: VhdDisk;
    try {
      d = open(name, host, false);
    } catch (e) {
      if ((e as Error).name === "VhdLockError") throw e;
      const n = openErrno(e);
      out(`error opening ${name}: -${n}`);
      return n;
    }
    try {
      if (field === "hidden") writeHidden(d, value);
      else {
        const r = writeMarker(d, value);
        if (r < 0) return -r;
      }
    } finally {
      d.close();
    }
    return 0;
  },
};

interface ScanImage {
  name: string;
  parent?: string;
  capacity: number;
  size: number;
  hidden: number;
  marker: number;
  keyhash: string;
  error?: number;
  message?: string;
  children: ScanImage[];
  parentImage?: ScanImage;
  printed?: boolean;
}

const SCAN_USAGE =
  "usage: [OPTIONS] FILES\noptions: [-m match filter] [-f fast] [-c continue on failure] [-l LVM volume] [-p pretty print] [-a scan parents] [-v verbose] [-h help] [-M show markers]";

/** glob(3) for the last part of a path: * ? and [...] (sorted, as glob returns them). */
function glob(pattern: string): string[] {
  const dir = dirname(pattern);
  const base = basename(pattern);
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => re.test(n) && !(n.startsWith(".") && !base.startsWith(".")))
    .sort()
    .map((n) => (dir === "." && !pattern.startsWith("./") ? n : join(dir, n)));
}

export const scanVerb: Verb = {
  getopt: true,
  usage: "scan [-m FILTER] [-f] [-c] [-p] [-a] [-v] [-M] FILES...",
  help: "vhd-util scan: one line per VHD, 'vhd=NAME capacity=BYTES size=FILE_BYTES hidden=N parent=NAME|none' (names without their directory unless -v); -a follows each parent too, -p prints the chains as trees (children indented 3), -m a glob of files to add, -f takes the parent from the header's name instead of the locators, -M adds marker= and keyhash=, -c goes on past errors (exit 0)",
  run(a) {
    const { opts, operands } = getopt(a.positional, "m:fcl:pavMh");
    const on = new Set(opts.map(([c]) => c));
    const filter = opts.filter(([c]) => c === "m").pop()?.[1];
    if (on.has("h") || on.has("?") || (!filter && operands.length === 0)) {
      out(SCAN_USAGE);
      return on.has("h") && !on.has("?") ? 0 : EINVAL;
    }
    if (on.has("l")) {
      err("xenlab vhd scan: -l scans an LVM volume group's logical volumes; this host has files only");
      return EINVAL;
    }
    const pretty = on.has("p");
    const fast = on.has("f") && !pretty;
    const nofail = on.has("c");
    const verbose = on.has("v");
    const markers = on.has("M");

    const errorLine = (name: string, e: number, message: string) => out(`vhd=${name} scan-error=-${e} error-message='${message}'`);
    // vhd_util_scan_find_file_targets: the glob's matches, then the names; each must stat
    const targets: Array<{ name: string; size: number }> = [];
    const names = [...(filter ? glob(filter) : []), ...operands];
    // a glob that matches nothing adds nothing (GLOB_NOMATCH leaves errno as it was: no error)
    for (const n of names) {
      try {
        targets.push({ name: n, size: statSync(n).size });
      } catch (e) {
        const no = openErrno(e);
        errorLine(n, no, "failure scanning target");
        if (!nofail) {
          err(`scan failed: -${no}. Check syslog for details`);
          return no;
        }
      }
    }

    const images: ScanImage[] = [];
    const print = (img: ScanImage, tab: number) => {
      const pad = " ".repeat(tab);
      if (img.error) return out(`${pad}vhd=${img.name} scan-error=-${img.error} error-message='${img.message}'`);
      const shown = verbose ? img.name : basename(img.name);
      const parent = img.parent === undefined ? "none" : verbose ? img.parent : basename(img.parent);
      const note = pretty && img.parent !== undefined && !img.parentImage ? " (not found in scan)" : "";
      const mk = markers ? ` marker=${img.marker} keyhash=${img.keyhash}` : "";
      out(`${pad}vhd=${shown} capacity=${img.capacity} size=${img.size} hidden=${img.hidden}${mk} parent=${parent}${note}`);
    };
    let rc = 0;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      const img: ScanImage = { name: t.name, capacity: 0, size: t.size, hidden: 0, marker: 0, keyhash: "", children: [] };
      let d: VhdDisk | undefined;
      let failed = 0;
      try {
        if (pretty) img.name = realpathSync(t.name);
        try {
          d = open(t.name);
        } catch (e) {
          failed = openErrno(e);
          img.message = "opening file";
          throw e;
        }
        img.capacity = d.footer.currentSize;
        img.hidden = hiddenFlag(d);
        if (markers) {
          const m = readMarker(d);
          const k = readKeyHash(d);
          if (m < 0 || typeof k === "number") {
            failed = m < 0 ? -m : -(k as number);
            img.message = "checking markers";
            throw new Error();
          }
          img.marker = m;
          img.keyhash = k;
        }
        if (d.type === DiskType.Differencing) {
          img.parent = fast ? headerParentName(d) : parentPath(d, true);
          if (img.parent === undefined) {
            const loc = scanLocator(d);
            img.parent = loc ? readLocator(d, loc) : undefined;
          }
          if (img.parent === undefined) {
            failed = EINVAL;
            img.message = "getting parent";
            throw new Error();
          }
        }
      } catch {
        failed ||= EINVAL;
        img.message ??= "resolving name";
        img.error = failed;
      } finally {
        d?.close();
      }
      if (img.error || !pretty) print(img, 0);
      else if (!images.some((x) => x.name === img.name)) images.push(img);
      // -a: the parent joins the targets unless a target of that base name is there already
      if (on.has("a") && img.parent !== undefined && !targets.some((x) => basename(x.name) === basename(img.parent!))) {
        try {
          targets.push({ name: img.parent, size: statSync(img.parent).size });
        } catch (e) {
          errorLine(img.parent, openErrno(e), "failure scanning target");
        }
      }
      if (img.error) {
        rc = img.error;
        if (!nofail) break;
      }
    }

    if (pretty) {
      images.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      for (const img of images) {
        if (img.parent === undefined) continue;
        const p = images.find((x) => x.name === img.parent);
        if (!p) continue;
        img.parentImage = p;
        p.children.push(img);
      }
      const tree = (img: ScanImage, depth: number) => {
        print(img, depth * 3);
        img.printed = true;
        for (const c of img.children) if (!c.hidden) tree(c, depth + 1);
        for (const c of img.children) if (c.hidden) tree(c, depth + 1);
      };
      // hidden roots first (the chains' shared bases), then the other roots, then whatever is left
      for (const img of images) if (!img.parentImage && img.hidden && !img.printed) tree(img, 0);
      for (const img of images) if (!img.printed && !img.parentImage) tree(img, 0);
      for (const img of images) if (!img.printed) tree(img, 0);
    }
    return nofail ? 0 : rc;
  },
};
