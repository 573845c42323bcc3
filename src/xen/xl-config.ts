/**
 * xl.cfg(5) parser: `KEY = VALUE` settings separated by newlines or `;`, `#` comments, values that
 * are strings ('…' or "…"), numbers (decimal, 0octal, 0xhex), or lists `[ v, v ]` (nested and
 * heterogeneous). The grammar is libxlu's (tools/libs/util/libxlu_cfg_y.y); the keys and their
 * meanings are xl.cfg.5.pod.in's. Unknown keys are kept and reported as warnings; bad values throw
 * XlConfigError naming the key.
 */
import { XlConfigError } from "./errors";

export type XlValue = string | number | XlValue[];

export interface XlSetting {
  key: string;
  value: XlValue;
  line: number;
}

/** xl.cfg on_* actions (xl.cfg.5 "Event Actions"). */
export const XL_ACTIONS = ["destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart", "soft-reset"] as const;
export type XlAction = (typeof XL_ACTIONS)[number];

export interface DiskSpec {
  target: string;
  format: string;
  vdev: string;
  access: "rw" | "ro";
  devtype?: "cdrom" | "disk";
  backendtype?: string;
  raw: string;
}

/** A parsed domain configuration with the defaults xl applies. */
export interface DomainConfig {
  name: string;
  type: "pv" | "pvh" | "hvm" | "lab";
  memory: number; // MiB
  maxmem: number; // MiB
  vcpus: number;
  maxvcpus: number;
  /** Hard affinity: pCPU numbers, or undefined for all. */
  cpus?: number[];
  cpuWeight: number;
  cap: number;
  kernel?: string;
  ramdisk?: string;
  cmdline: string;
  disks: DiskSpec[];
  onPoweroff: XlAction;
  onReboot: XlAction;
  onCrash: XlAction;
  onWatchdog: XlAction;
  viridian: string[];
  uuid?: string;
  maxGrantFrames: number;
  /** Every setting as written (for `xl list -l`). */
  settings: XlSetting[];
  warnings: string[];
}

class Lexer {
  pos = 0;
  line = 1;
  constructor(readonly text: string) {}
  skipSpace(newlines: boolean): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === "#") { while (this.pos < this.text.length && this.text[this.pos] !== "\n") this.pos++; continue; }
      if (c === " " || c === "\t" || c === "\r" || (newlines && c === "\n")) { if (c === "\n") this.line++; this.pos++; continue; }
      return;
    }
  }
  peek(): string | undefined { return this.text[this.pos]; }
}

function parseValue(lx: Lexer, key: string): XlValue {
  lx.skipSpace(false);
  const c = lx.peek();
  if (c === undefined || c === "\n" || c === ";") throw new XlConfigError(key, lx.line, "missing value");
  if (c === "'" || c === '"') {
    lx.pos++;
    let s = "";
    for (;;) {
      const d = lx.text[lx.pos];
      if (d === undefined || d === "\n") throw new XlConfigError(key, lx.line, `unterminated ${c}string`);
      lx.pos++;
      if (d === c) break;
      if (d === "\\" && c === '"') {
        const e = lx.text[lx.pos++];
        s += e === "n" ? "\n" : e === "t" ? "\t" : e === "x" ? String.fromCharCode(parseInt(lx.text.slice(lx.pos, (lx.pos += 2)), 16)) : e;
      } else s += d;
    }
    return s;
  }
  if (c === "[") {
    lx.pos++;
    const items: XlValue[] = [];
    for (;;) {
      lx.skipSpace(true);
      if (lx.peek() === "]") { lx.pos++; return items; }
      items.push(parseValue(lx, key));
      lx.skipSpace(true);
      const d = lx.peek();
      if (d === ",") { lx.pos++; continue; }
      if (d === "]") { lx.pos++; return items; }
      throw new XlConfigError(key, lx.line, `expected , or ] in list, found ${d === undefined ? "end of file" : JSON.stringify(d)}`);
    }
  }
  const m = /^(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?)/.exec(lx.text.slice(lx.pos));
  if (m) {
    lx.pos += m[0].length;
    const t = m[0];
    if (t.startsWith("0x")) return parseInt(t.slice(2), 16);
    if (t.length > 1 && t.startsWith("0") && !t.includes(".")) {
      if (!/^[0-7]+$/.test(t)) throw new XlConfigError(key, lx.line, `${t} is not a valid octal number`);
      return parseInt(t, 8);
    }
    return Number(t);
  }
  const word = /^[^\s;,\]#]+/.exec(lx.text.slice(lx.pos))?.[0] ?? c;
  throw new XlConfigError(key, lx.line, `value ${word} must be a number, a quoted string or a [list]`);
}

/** Parses xl.cfg text into settings (syntax only). Later settings of the same key win, as in libxlu. */
export function parseXlSettings(text: string): XlSetting[] {
  const lx = new Lexer(text);
  const out: XlSetting[] = [];
  for (;;) {
    lx.skipSpace(true);
    while (lx.peek() === ";") { lx.pos++; lx.skipSpace(true); }
    if (lx.pos >= text.length) return out;
    const km = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(text.slice(lx.pos));
    if (!km) throw new XlConfigError(undefined, lx.line, `expected a setting name, found ${JSON.stringify(text.slice(lx.pos, lx.pos + 10))}`);
    const key = km[0];
    lx.pos += key.length;
    lx.skipSpace(false);
    let append = false;
    if (text.startsWith("+=", lx.pos)) { append = true; lx.pos += 2; }
    else if (lx.peek() === "=") lx.pos++;
    else throw new XlConfigError(key, lx.line, "expected = after the name");
    const line = lx.line;
    const value = parseValue(lx, key);
    lx.skipSpace(false);
    const d = lx.peek();
    if (d !== undefined && d !== "\n" && d !== ";") throw new XlConfigError(key, lx.line, `unexpected ${JSON.stringify(d)} after the value`);
    if (append) {
      const prev = [...out].reverse().find((s) => s.key === key);
      if (prev && Array.isArray(prev.value) && Array.isArray(value)) { prev.value = [...prev.value, ...value]; continue; }
    }
    out.push({ key, value, line });
  }
}

const KNOWN = new Set([
  "name", "type", "builder", "memory", "maxmem", "vcpus", "maxvcpus", "cpus", "cpus_soft", "cpu_weight", "cap",
  "kernel", "ramdisk", "cmdline", "root", "extra", "disk", "vif", "on_poweroff", "on_reboot", "on_crash",
  "on_watchdog", "on_soft_reset", "viridian", "uuid", "max_grant_frames", "max_maptrack_frames", "serial",
  "boot", "vnc", "sdl", "pae", "acpi", "apic", "hap", "localtime", "device_model_version",
]);

/** Parses a CPU list "all" | "0-3,5" | "^1" | [0, 2] (xl.cfg.5 "cpus") against nrCpus. */
export function parseCpuList(v: XlValue, key: string, line: number, nrCpus?: number): number[] | undefined {
  const items: string[] = Array.isArray(v) ? v.map((x) => String(x)) : typeof v === "number" ? [String(v)] : v.split(",");
  if (items.length === 1 && items[0]!.trim() === "all") return undefined;
  const set = new Set<number>();
  for (let it of items) {
    it = it.trim();
    let neg = false;
    if (it.startsWith("^")) { neg = true; it = it.slice(1); }
    if (it.startsWith("node:") || it.startsWith("nodes:")) throw new XlConfigError(key, line, "NUMA node lists are not supported (the host has one node)");
    const m = /^(\d+)(?:-(\d+))?$/.exec(it);
    if (!m) throw new XlConfigError(key, line, `${JSON.stringify(it)} is not a CPU number or range`);
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new XlConfigError(key, line, `range ${it} is backwards`);
    if (nrCpus !== undefined && b >= nrCpus) throw new XlConfigError(key, line, `CPU ${b} does not exist (the host has ${nrCpus})`);
    for (let i = a; i <= b; i++) { if (neg) set.delete(i); else set.add(i); }
    if (neg && set.size === 0 && nrCpus !== undefined) { for (let i = 0; i < nrCpus; i++) if (i < a || i > b) set.add(i); }
  }
  return [...set].sort((x, y) => x - y);
}

/** Parses one disk spec string (xl-disk-configuration.5). */
export function parseDiskSpec(spec: string, line = 0): DiskSpec {
  const d: Partial<DiskSpec> & { raw: string } = { raw: spec };
  const positional: string[] = [];
  const parts = spec.split(",");
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!.trim();
    const eq = p.indexOf("=");
    const k = eq > 0 ? p.slice(0, eq) : "";
    if (k === "target") { d.target = parts.slice(i).join(",").slice(parts[i]!.indexOf("=") + 1).trim(); break; }
    if (eq > 0 && ["format", "vdev", "access", "devtype", "backendtype", "backend", "script"].includes(k)) {
      const v = p.slice(eq + 1);
      if (k === "format") d.format = v;
      else if (k === "vdev") d.vdev = v;
      else if (k === "access") d.access = accessOf(v, line);
      else if (k === "devtype") { if (v !== "cdrom" && v !== "disk") throw new XlConfigError("disk", line, `devtype=${v} must be cdrom or disk`); d.devtype = v; }
      else if (k === "backendtype") d.backendtype = v;
      continue;
    }
    if (p === "cdrom") { d.devtype = "cdrom"; continue; }
    positional.push(p);
  }
  // Deprecated "prefix:target,vdev,access" form and the positional [target, format, vdev, access].
  if (positional.length && d.target === undefined) {
    let target = positional[0]!;
    for (;;) {
      const m = /^(raw|qcow|qcow2|vhd|qed|tap|tap2|aio|file|phy):/.exec(target);
      if (!m) break;
      if (["raw", "qcow", "qcow2", "vhd", "qed"].includes(m[1]!)) d.format = m[1];
      target = target.slice(m[0].length);
    }
    d.target = target;
    const rest = positional.slice(1);
    if (rest.length === 3 || (rest.length >= 1 && ["raw", "qcow", "qcow2", "vhd", "qed", ""].includes(rest[0]!) && rest.length > 1)) {
      if (rest[0]) d.format = rest[0];
      rest.shift();
    }
    if (rest[0] !== undefined && rest[0] !== "") d.vdev = rest[0].replace(/:cdrom$/, () => { d.devtype = "cdrom"; return ""; });
    if (rest[1] !== undefined && rest[1] !== "") d.access = accessOf(rest[1], line);
  }
  if (!d.vdev) throw new XlConfigError("disk", line, `${JSON.stringify(spec)} has no vdev (e.g. xvda)`);
  if (d.format && !["raw", "qcow", "qcow2", "vhd", "qed", "empty"].includes(d.format)) throw new XlConfigError("disk", line, `format ${d.format} is not raw, qcow, qcow2, vhd or qed`);
  return { target: d.target ?? "", format: d.format ?? "raw", vdev: d.vdev, access: d.access ?? "rw", devtype: d.devtype, backendtype: d.backendtype, raw: spec };
}

function accessOf(v: string, line: number): "rw" | "ro" {
  if (v === "rw" || v === "w") return "rw";
  if (v === "ro" || v === "r") return "ro";
  throw new XlConfigError("disk", line, `access ${v} must be r, ro, w or rw`);
}

/** Parses and validates a domain configuration, applying xl's defaults. */
export function parseXlConfig(text: string, opts: { nrCpus?: number } = {}): DomainConfig {
  const settings = parseXlSettings(text);
  const map = new Map<string, XlSetting>();
  const warnings: string[] = [];
  for (const s of settings) {
    if (!KNOWN.has(s.key)) warnings.push(`Warning: ignoring unknown key "${s.key}" (line ${s.line})`);
    map.set(s.key, s);
  }
  const str = (k: string): string | undefined => {
    const s = map.get(k);
    if (!s) return undefined;
    if (typeof s.value !== "string") throw new XlConfigError(k, s.line, `must be a quoted string, got ${fmt(s.value)}`);
    return s.value;
  };
  const num = (k: string, min: number, max: number): number | undefined => {
    const s = map.get(k);
    if (!s) return undefined;
    if (typeof s.value !== "number" || !Number.isInteger(s.value)) throw new XlConfigError(k, s.line, `must be an integer, got ${fmt(s.value)}`);
    if (s.value < min || s.value > max) throw new XlConfigError(k, s.line, `${s.value} is out of range ${min}..${max}`);
    return s.value;
  };
  const action = (k: string, dflt: XlAction): XlAction => {
    const v = str(k);
    if (v === undefined) return dflt;
    if (!(XL_ACTIONS as readonly string[]).includes(v)) throw new XlConfigError(k, map.get(k)!.line, `${JSON.stringify(v)} is not one of ${XL_ACTIONS.join(", ")}`);
    return v as XlAction;
  };
  const name = str("name");
  if (name === undefined) throw new XlConfigError("name", 0, "is mandatory (e.g. name = \"guest\")");
  if (!/^[A-Za-z0-9_.:-]+$/.test(name) || /^\d+$/.test(name)) throw new XlConfigError("name", map.get("name")!.line, `${JSON.stringify(name)} is not a valid domain name (letters, digits, _ . : -; not all digits)`);
  let type = str("type");
  if (type === undefined) {
    const b = str("builder");
    type = b === "hvm" ? "hvm" : "pv";
  }
  if (!["pv", "pvh", "hvm", "lab"].includes(type)) throw new XlConfigError("type", map.get("type")!.line, `${JSON.stringify(type)} must be "pv", "pvh" or "hvm"`);
  const memory = num("memory", 1, 1 << 24) ?? 128;
  const maxmem = num("maxmem", 1, 1 << 24) ?? memory;
  if (maxmem < memory) throw new XlConfigError("maxmem", map.get("maxmem")!.line, `${maxmem} is below memory (${memory})`);
  const vcpus = num("vcpus", 1, 128) ?? 1;
  const maxvcpus = num("maxvcpus", 1, 128) ?? vcpus;
  if (maxvcpus < vcpus) throw new XlConfigError("maxvcpus", map.get("maxvcpus")!.line, `${maxvcpus} is below vcpus (${vcpus})`);
  const cpusS = map.get("cpus");
  const cpus = cpusS ? parseCpuList(cpusS.value, "cpus", cpusS.line, opts.nrCpus) : undefined;
  if (cpus && cpus.length === 0) throw new XlConfigError("cpus", cpusS!.line, "leaves no CPU to run on");
  const cpuWeight = num("cpu_weight", 1, 65535) ?? 256;
  const cap = num("cap", 0, 100 * 128) ?? 0;
  const diskS = map.get("disk");
  const disks: DiskSpec[] = [];
  if (diskS) {
    if (!Array.isArray(diskS.value)) throw new XlConfigError("disk", diskS.line, "must be a list of strings, e.g. ['file:/img,xvda,w']");
    for (const d of diskS.value) {
      if (typeof d !== "string") throw new XlConfigError("disk", diskS.line, `entry ${fmt(d)} must be a string`);
      disks.push(parseDiskSpec(d, diskS.line));
    }
  }
  let viridian: string[] = [];
  const vir = map.get("viridian");
  if (vir) {
    if (typeof vir.value === "number") viridian = vir.value ? ["defaults"] : [];
    else if (Array.isArray(vir.value)) viridian = vir.value.map(String);
    else throw new XlConfigError("viridian", vir.line, "must be 0/1 or a list of groups");
  }
  const uuid = str("uuid");
  if (uuid !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)) throw new XlConfigError("uuid", map.get("uuid")!.line, `${JSON.stringify(uuid)} is not a UUID`);
  let cmdline = str("cmdline");
  if (cmdline === undefined) {
    const root = str("root"), extra = str("extra");
    cmdline = [root ? `root=${root}` : undefined, extra].filter((x) => x !== undefined).join(" ");
  }
  const kernel = str("kernel");
  if ((type === "pvh" || type === "pv") && kernel === undefined) throw new XlConfigError("kernel", 0, `is required for type "${type}"`);
  return {
    name, type: type as DomainConfig["type"], memory, maxmem, vcpus, maxvcpus, cpus, cpuWeight, cap, kernel,
    ramdisk: str("ramdisk"), cmdline, disks,
    onPoweroff: action("on_poweroff", "destroy"), onReboot: action("on_reboot", "restart"),
    onCrash: action("on_crash", "destroy"), onWatchdog: action("on_watchdog", "destroy"),
    viridian, uuid, maxGrantFrames: num("max_grant_frames", 1, 4096) ?? 64, settings, warnings,
  };
}

function fmt(v: XlValue): string {
  return typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(fmt).join(", ")}]` : String(v);
}
