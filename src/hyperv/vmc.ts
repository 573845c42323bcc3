/**
 * Virtual Server 2005 (R2) virtual machine configuration (.vmc) import: the XenEnterprise scenario.
 * A .vmc is XML under <preferences>, written by Virtual Server as UTF-16 with a byte-order mark
 * (Virtual PC too; hand-made ones are often UTF-8): hardware/memory/ram_size (MiB),
 * hardware/pci_bus/ide_adapter/ide_controller[id]/location[id] and scsi_adapter/scsi_controller
 * with drive_type (1 hard disk, 2 CD/DVD) and pathname/{absolute,relative} (relative to the .vmc,
 * ".\disk.vhd"), ethernet_adapter/ethernet_controller[id] with ethernet_card_address (bytes) and
 * virtual_network/name, and undo_drives/enabled.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { readFileSync } from "node:fs";
import { VhdDisk } from "../vhd/vhd-disk";
import { parseXml, kid, kids, XmlElement, XmlError } from "./xml";

export class VmcError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "VmcError";
  }
}

export interface VmcDisk {
  bus: "ide" | "scsi";
  controller: number;
  location: number;
  kind: "disk" | "cdrom";
  absolute?: string;
  relative?: string;
}
export interface VmcNic { index: number; mac?: string; network?: string }
export interface VmcConfig {
  name: string;
  memoryMiB: number;
  disks: VmcDisk[];
  nics: VmcNic[];
  undoDrives: boolean;
  encoding: "utf-16le" | "utf-16be" | "utf-8";
}

/** Decodes a .vmc's bytes: BOM first (FF FE, FE FF, EF BB BF), else UTF-16 by its NUL pattern, else UTF-8. */
export function decodeVmc(bytes: Uint8Array): { text: string; encoding: VmcConfig["encoding"] } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b[0] === 0xff && b[1] === 0xfe) return { text: b.subarray(2).toString("utf16le"), encoding: "utf-16le" };
  if (b[0] === 0xfe && b[1] === 0xff) { const s = Buffer.from(b.subarray(2)); s.swap16(); return { text: s.toString("utf16le"), encoding: "utf-16be" }; }
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { text: b.subarray(3).toString("utf8"), encoding: "utf-8" };
  if (b.length >= 2 && b[0] === 0x3c && b[1] === 0x00) return { text: b.toString("utf16le"), encoding: "utf-16le" };
  const text = b.toString("utf8");
  if (text.includes("\ufffd")) throw new RangeError("not UTF-8 and no byte-order mark");
  return { text, encoding: "utf-8" };
}

const str = (e: XmlElement | undefined) => e?.text.trim() || undefined;
function int(file: string, e: XmlElement | undefined, what: string): number | undefined {
  const s = str(e);
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s)) throw new VmcError(file, `${what} (line ${e!.line}) is ${JSON.stringify(s)}, not an integer`);
  return Number(s);
}

export function parseVmc(bytes: Uint8Array, file = "<vmc>", name?: string): VmcConfig {
  let text: string, encoding: VmcConfig["encoding"];
  try { ({ text, encoding } = decodeVmc(bytes)); } catch (e) { throw new VmcError(file, (e as Error).message); }
  let root: XmlElement;
  try { root = parseXml(text); } catch (e) { throw new VmcError(file, e instanceof XmlError ? `not well-formed XML: ${e.message}` : String(e)); }
  if (root.name !== "preferences") throw new VmcError(file, `root element is <${root.name}>, not <preferences>: not a Virtual Server/Virtual PC configuration`);
  const hw = kid(root, "hardware");
  const mem = int(file, kid(hw, "memory", "ram_size"), "hardware/memory/ram_size");
  if (mem !== undefined && (mem < 4 || mem > 65536)) throw new VmcError(file, `ram_size ${mem} MiB is out of range (4..65536)`);
  const disks: VmcDisk[] = [];
  const bus = kid(hw, "pci_bus");
  for (const [busName, adapter, ctl] of [["ide", "ide_adapter", "ide_controller"], ["scsi", "scsi_adapter", "scsi_controller"]] as const) {
    for (const c of kids(kid(bus, adapter), ctl)) {
      const cid = Number(c.attrs.id ?? NaN);
      if (!Number.isInteger(cid)) throw new VmcError(file, `<${ctl}> (line ${c.line}) has no numeric id`);
      for (const l of kids(c, "location")) {
        const lid = Number(l.attrs.id ?? NaN);
        if (!Number.isInteger(lid)) throw new VmcError(file, `<location> (line ${l.line}) has no numeric id`);
        const type = int(file, kid(l, "drive_type"), "drive_type") ?? 0;
        const absolute = str(kid(l, "pathname", "absolute")), relative = str(kid(l, "pathname", "relative"));
        if (type === 0 || (type === 2 && !absolute && !relative)) continue; // empty slot / empty CD drive
        if (type !== 1 && type !== 2) throw new VmcError(file, `${busName} ${cid}:${lid} drive_type ${type} is not 1 (hard disk) or 2 (CD/DVD)`);
        disks.push({ bus: busName, controller: cid, location: lid, kind: type === 1 ? "disk" : "cdrom", absolute, relative });
      }
    }
  }
  disks.sort((a, b) => (a.bus === b.bus ? 0 : a.bus === "ide" ? -1 : 1) || a.controller - b.controller || a.location - b.location);
  const nics: VmcNic[] = kids(kid(bus, "ethernet_adapter"), "ethernet_controller").map((e) => {
    const raw = str(kid(e, "ethernet_card_address"));
    if (raw !== undefined && !/^[0-9a-fA-F]{12}$/.test(raw)) throw new VmcError(file, `ethernet_card_address ${JSON.stringify(raw)} (line ${e.line}) is not 6 bytes of hex`);
    return { index: Number(e.attrs.id ?? 0), mac: raw?.toLowerCase().match(/../g)!.join(":"), network: str(kid(e, "virtual_network", "name")) };
  });
  const undo = str(kid(root, "undo_drives", "enabled"));
  const base = file.replace(/^.*[\\/]/, "").replace(/\.vmc$/i, "");
  return { name: name ?? base, memoryMiB: mem ?? 128, disks, nics, undoDrives: undo === "true", encoding };
}

export interface ResolvedDisk extends VmcDisk {
  path: string;
  foundBy: "absolute" | "relative";
  vdev: string;
  /** The VHD and its parents (differencing chain), outermost first. */
  chain: { path: string; type: string }[];
}

/** Windows path -> this machine: "C:\VMs\a.vhd" only exists here if the same string does. */
function relativePath(vmcDir: string, rel: string): string {
  const p = rel.replace(/\\/g, "/").replace(/^\.\//, "");
  if (/^[A-Za-z]:/.test(p) || isAbsolute(p)) return p;
  return resolve(vmcDir, p);
}

/** IDE: primary master/slave = hda/hdb, secondary = hdc/hdd; SCSI: sda... by controller*7+location. */
function vdevOf(d: VmcDisk): string {
  if (d.bus === "ide") return "hd" + "abcd"[d.controller * 2 + d.location]!;
  return "sd" + String.fromCharCode(97 + d.controller * 7 + d.location);
}

export function resolveVmcDisks(cfg: VmcConfig, vmcPath: string): ResolvedDisk[] {
  const dir = dirname(resolve(vmcPath));
  return cfg.disks.map((d) => {
    const where = `${d.bus.toUpperCase()} ${d.controller}:${d.location} ${d.kind === "disk" ? "hard disk" : "CD/DVD"}`;
    const tried: string[] = [];
    let path: string | undefined, foundBy: ResolvedDisk["foundBy"] = "absolute";
    if (d.absolute) { tried.push(`${d.absolute} (absolute)`); if (existsSync(d.absolute)) path = d.absolute; }
    if (!path && d.relative) {
      const r = relativePath(dir, d.relative);
      tried.push(`${r} (relative ${d.relative} from ${dir})`);
      if (existsSync(r)) { path = r; foundBy = "relative"; }
    }
    if (!path) throw new VmcError(vmcPath, tried.length ? `${where}: not found; tried ${tried.join(" and ")}` : `${where} has no pathname`);
    const chain: ResolvedDisk["chain"] = [];
    if (d.kind === "disk" && /\.vhd$/i.test(path)) {
      let disk: VhdDisk | undefined = VhdDisk.open(path, { readOnly: true });
      try { for (let x: VhdDisk | undefined = disk; x; x = x.parent) chain.push({ path: x.path, type: x.diskTypeName }); }
      finally { disk.close(); disk = undefined; }
    }
    return { ...d, path, foundBy, vdev: vdevOf(d), chain };
  });
}

/** The equivalent xl.cfg (xl.cfg(5)): an HVM guest with the VHDs as IDE/SCSI disks, the NICs as vifs. */
export function vmcToXlConfig(cfg: VmcConfig, disks: ResolvedDisk[]): string {
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const lines = [
    `# Imported from a Virtual Server 2005 configuration (${cfg.encoding})`,
    `name = "${cfg.name.replace(/"/g, "")}"`,
    `type = "hvm"`,
    `memory = ${cfg.memoryMiB}`,
    `vcpus = 1`,
    `disk = [ ${disks.map((d) => q(`format=${/\.vhd$/i.test(d.path) ? "vhd" : "raw"},vdev=${d.vdev},access=${d.kind === "cdrom" ? "ro" : "rw"}${d.kind === "cdrom" ? ",devtype=cdrom" : ""},target=${d.path}`)).join(", ")} ]`,
  ];
  if (cfg.nics.length) lines.push(`vif = [ ${cfg.nics.map((n) => q([n.mac ? `mac=${n.mac}` : "", n.network ? `bridge=${n.network.replace(/[^A-Za-z0-9_.-]/g, "_")}` : ""].filter(Boolean).join(","))).join(", ")} ]`);
  if (cfg.undoDrives) lines.push(`# Virtual Server undo disks were enabled: changes went to .vud files next to the .vmc`);
  return lines.join("\n") + "\n";
}

export interface VmcImport { config: VmcConfig; disks: ResolvedDisk[]; xlcfg: string }

export function readVmc(path: string, name?: string): VmcImport {
  if (!existsSync(path)) throw new VmcError(path, "no such file");
  const config = parseVmc(new Uint8Array(readFileSync(path)), path, name);
  const disks = resolveVmcDisks(config, path);
  return { config, disks, xlcfg: vmcToXlConfig(config, disks) };
}
