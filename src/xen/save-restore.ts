/**
 * `xl save` / `xl restore`. The file starts as xl's does (tools/xl/xl_saverestore.c,
 * xl_utils.h struct save_file_header): the 32-byte magic "Xen saved domain, xl format\n \0 \r",
 * byte order 0x01020304, mandatory flags (JSON config | stream v2), optional flags, and the
 * length of the optional data — the domain config as JSON. What follows in place of libxc's
 * migration stream is our own: a JSON header (vCPU registers, HVM params, event channels) and the
 * contents of every touched guest frame. Like Xen, grant mappings of other domains' pages are not saved (they must be
 * unmapped first), and channels to other domUs come back unbound.
 */
import { vcpuId } from "../platform";
import { virq } from "./types";
import { NR_VIRQS } from "./abi";
import { vector as toVector } from "../abi/x86";
import { FrameUse, domId, gfn, PAGE_SIZE, Vcpu } from "../machine";
import type { VcpuState } from "../machine";
import type { Domain } from "./domain";
import { XenError } from "./errors";
import { PORT_STATES } from "./event-channels";
import type { XenHost } from "./host";
import type { DomainConfig } from "./xl-config";
import type { LapicSaveRecord } from "../platform";

export const SAVEFILE_MAGIC = "Xen saved domain, xl format\n \0 \r";
/** xl_utils.h: SAVEFILE_BYTEORDER_VALUE and XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMv2. */
export const SAVEFILE_BYTEORDER_VALUE = 0x01020304;
export const XL_MANDATORY_FLAG_JSON = 1 << 0, XL_MANDATORY_FLAG_STREAMv2 = 1 << 1;

/** The fixed part of xl's save file header (magic, byteorder, flags, optional data length). */
export interface SaveFileHeader {
  mandatoryFlags: number;
  optionalFlags: number;
  optionalDataLen: number;
}

export function readSaveFileHeader(file: Uint8Array): SaveFileHeader & { config: string; headerEnd: number } {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const magic = Buffer.from(SAVEFILE_MAGIC, "latin1");
  if (buf.length < magic.length + 16 || !buf.subarray(0, magic.length).equals(magic)) throw new XenError("EINVAL", "not an xl save file (bad magic)");
  if (buf.readUInt32LE(magic.length) !== SAVEFILE_BYTEORDER_VALUE) throw new XenError("EINVAL", "save file has the wrong byte order");
  const h = { mandatoryFlags: buf.readUInt32LE(magic.length + 4), optionalFlags: buf.readUInt32LE(magic.length + 8), optionalDataLen: buf.readUInt32LE(magic.length + 12) };
  const end = magic.length + 16 + h.optionalDataLen;
  if (end > buf.length) throw new XenError("EINVAL", "save file truncated in its config");
  return { ...h, config: buf.subarray(magic.length + 16, end).toString(), headerEnd: end };
}

interface SavedHeader {
  version: 1;
  name: string;
  uuid: string;
  config: DomainConfig;
  hvmParams: string[];
  hypercallPageGpa?: number;
  sharedInfoGfn?: number;
  grantFrames: number;
  /** gfn → kind for every P2M entry. */
  pages: { gfn: number; kind: "ram" | "shared_info" | "grant"; idx?: number; touched: boolean }[];
  vcpus: {
    runstate: string; down: boolean; initialised?: boolean; vcpuInfoGpa?: number; upcallVector?: number; singleshotIn?: number; periodicNs: number;
    state: string; runstateGva?: string;
    /**
     * HVM context records Xen saves beside the registers: LAPIC + LAPIC_REGS, the PAT (MTRR
     * record). The FPU (hvm_hw_cpu.fpu_regs and XCR0) is in `state` (VcpuState.fpu); `fpu` is
     * the separate record of files written before that, still read.
     */
    lapic?: LapicSaveRecord; pat?: string; fpu?: FpuRecord;
  }[];
  runstateUpdateFlag?: boolean;
  ports: { port: number; state: string; remoteDom: number; virq: number; notifyVcpu: number; label?: string }[];
  storePort: number;
  consolePort: number;
}

/** The FPU record of save files written before VcpuState carried the FPU state. */
interface FpuRecord { fcw: number; fsw: number; ftw: number; fop: number; fip: number; fcs: number; fdp: number; fds: number; fpr: number[]; mxcsr: number; xmm: number[]; xcr0: number }

function loadFpu(c: Vcpu, f: FpuRecord): void {
  if (!Array.isArray(f.fpr) || f.fpr.length !== c.fpr.length || !Array.isArray(f.xmm) || f.xmm.length !== c.xmm.length) throw new XenError("EINVAL", "saved image has a malformed FPU record");
  Object.assign(c, { fcw: f.fcw, fsw: f.fsw, ftw: f.ftw, fop87: f.fop, fip: f.fip, fcs: f.fcs, fdp: f.fdp, fds: f.fds, mxcsr: f.mxcsr, xcr0: f.xcr0 });
  c.fpr.set(f.fpr);
  c.xmm.set(f.xmm);
}

/** The machine's VcpuState as JSON (bigints as "123n" strings). */
function stateJson(cpu: Vcpu): string {
  return JSON.stringify(cpu.getState(), (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
}

function parseState(s: string): VcpuState {
  return JSON.parse(s, (_k, v) => (typeof v === "string" && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)) as VcpuState;
}

/**
 * `pageOf` gives a page's contents from elsewhere than the domain's memory (a live migration's
 * copies sent in earlier rounds); undefined means read it now.
 */
export function saveDomain(host: XenHost, d: Domain, pageOf?: (g: number) => Uint8Array | undefined): Uint8Array {
  if (d.domid === 0) throw new XenError("EINVAL", "cannot save Domain-0");
  if (d.gnttab.mappingCount) throw new XenError("EBUSY", `${d.name} still maps ${d.gnttab.mappingCount} grant(s) of other domains`);
  const p2m = host.machine.p2m(d.domid).entries();
  const grantIdx = new Map(d.gnttab.frames.map((m, i) => [m, i]));
  const pages: SavedHeader["pages"] = [];
  const blobs: Uint8Array[] = [];
  for (const e of p2m) {
    const kind = e.mfn === d.sharedInfoMfn ? "shared_info" : grantIdx.has(e.mfn) ? "grant" : "ram";
    const touched = host.machine.memory.isTouched(e.mfn);
    pages.push({ gfn: e.gfn, kind, idx: grantIdx.get(e.mfn), touched });
    if (touched) blobs.push(pageOf?.(e.gfn) ?? new Uint8Array(host.machine.memory.view(e.mfn).buffer.slice(0)));
  }
  // Grant frames not mapped in the physmap and shared_info if unmapped still hold state.
  const extra: Uint8Array[] = [new Uint8Array(host.machine.memory.view(d.sharedInfoMfn).buffer.slice(0))];
  for (const m of d.gnttab.frames) extra.push(new Uint8Array(host.machine.memory.view(m).buffer.slice(0)));
  const header: SavedHeader = {
    version: 1, name: d.name, uuid: d.uuid, config: d.config, hvmParams: d.hvmParams.map(String),
    hypercallPageGpa: d.hypercallPageGpa, sharedInfoGfn: d.sharedInfoGfn, grantFrames: d.gnttab.frames.length, pages,
    vcpus: d.vcpus.map((v) => ({ runstate: v.runstate, down: v.down, initialised: v.initialised, vcpuInfoGpa: v.vcpuInfoGpa, upcallVector: v.upcallVector,
      singleshotIn: v.singleshot === undefined ? undefined : v.singleshot - host.now, periodicNs: v.periodicNs, state: stateJson(v.cpu!),
      runstateGva: v.runstateGva?.toString(), lapic: host.lapic.save(v.platform), pat: host.pvhMsrs.patOf(v.cpu!).toString() })),
    runstateUpdateFlag: d.runstateUpdateFlag,
    ports: d.evtchn.list().map((e) => ({ port: e.port, state: e.state, remoteDom: e.remoteDom, virq: e.virq, notifyVcpu: e.notifyVcpu, label: e.label })),
    storePort: d.storePort, consolePort: d.consolePort,
  };
  const { config, ...rest } = header;
  const cfg = Buffer.from(JSON.stringify(config));
  const json = Buffer.from(JSON.stringify(rest));
  const fixed = Buffer.alloc(16 + 4);
  fixed.writeUInt32LE(SAVEFILE_BYTEORDER_VALUE, 0);
  fixed.writeUInt32LE(XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMv2, 4);
  fixed.writeUInt32LE(0, 8);
  fixed.writeUInt32LE(cfg.length, 12);
  fixed.writeUInt32LE(json.length, 16);
  return Buffer.concat([Buffer.from(SAVEFILE_MAGIC, "latin1"), fixed.subarray(0, 16), cfg, fixed.subarray(16), json, ...blobs, ...extra]);
}

export function restoreDomain(host: XenHost, file: Uint8Array, opts: { paused?: boolean } = {}): Domain {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const fh = readSaveFileHeader(file);
  if (fh.mandatoryFlags & ~(XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMv2)) throw new XenError("EINVAL", `save file has unknown mandatory flags 0x${fh.mandatoryFlags.toString(16)}`);
  if (fh.headerEnd + 4 > buf.length) throw new XenError("EINVAL", "save file truncated");
  const len = buf.readUInt32LE(fh.headerEnd);
  const header = { ...(JSON.parse(buf.subarray(fh.headerEnd + 4, fh.headerEnd + 4 + len).toString()) as Omit<SavedHeader, "config">), config: JSON.parse(fh.config) as DomainConfig } as SavedHeader;
  let off = fh.headerEnd + 4 + len;
  const next = (): Uint8Array => {
    if (off + PAGE_SIZE > buf.length) throw new XenError("EINVAL", "save file truncated");
    const b = buf.subarray(off, off + PAGE_SIZE);
    off += PAGE_SIZE;
    return b;
  };
  // Build an empty domain of the same shape (paused), then replace its memory and state.
  const d = host.createDomain({ ...header.config, type: "lab" }, { paused: true, uuid: header.uuid, code: new Uint8Array([0xf4]) });
  (d.config as { type: string }).type = header.config.type;
  const p2m = host.machine.p2m(d.domid);
  for (const e of p2m.entries()) {
    const info = host.machine.memory.info(e.mfn);
    if (info.owner === d.domid && info.use === FrameUse.Ram) host.machine.memory.free(e.mfn);
    p2m.remove(e.gfn);
  }
  d.gnttab.grow(header.grantFrames);
  for (const pg of header.pages) {
    if (pg.kind === "shared_info") { d.mapXenPage(pg.gfn, d.sharedInfoMfn); if (pg.touched) next(); continue; }
    if (pg.kind === "grant") { d.mapXenPage(pg.gfn, d.gnttab.frames[pg.idx!]!); if (pg.touched) next(); continue; }
    host.machine.populate(d.domid, gfn(pg.gfn), 1);
    if (pg.touched) d.guest.write(pg.gfn * PAGE_SIZE, next());
  }
  new Uint8Array(host.machine.memory.view(d.sharedInfoMfn).buffer).set(next());
  for (const m of d.gnttab.frames) new Uint8Array(host.machine.memory.view(m).buffer).set(next());
  d.hvmParams.splice(0, d.hvmParams.length, ...header.hvmParams.map((x) => BigInt(x)));
  d.hypercallPageGpa = header.hypercallPageGpa;
  d.sharedInfoGfn = header.sharedInfoGfn;
  // Event channels: the store and console ones were re-created by the builder at the same
  // numbers; others come back as saved (interdomain to domUs → unbound, as after the peer left).
  for (const p of header.ports) {
    if (p.port === header.storePort || p.port === header.consolePort) continue;
    const saved = PORT_STATES.find((k) => k === p.state);
    if (!saved || saved === "closed" || !d.evtchn.valid(p.port)) throw new XenError("EINVAL", `saved image has event channel ${p.port} in state "${p.state}"`);
    const state = saved === "interdomain" ? "unbound" : saved;
    if (!(Number.isInteger(p.virq) && p.virq >= 0 && p.virq < NR_VIRQS)) throw new XenError("EINVAL", `saved image has event channel ${p.port} bound to VIRQ ${p.virq}`);
    if (!(Number.isInteger(p.notifyVcpu) && p.notifyVcpu >= 0 && p.notifyVcpu < d.vcpus.length)) throw new XenError("EINVAL", `saved image has event channel ${p.port} notifying vCPU ${p.notifyVcpu} of ${d.vcpus.length}`);
    d.evtchn.allocAt(p.port, state, { remoteDom: domId(p.remoteDom), virq: virq(p.virq), notifyVcpu: vcpuId(p.notifyVcpu), label: p.label });
  }
  header.vcpus.forEach((s, i) => {
    const v = d.vcpus[i]!;
    const state = parseState(s.state);
    v.cpu!.setState(state);
    v.down = s.down;
    v.initialised = s.initialised ?? !s.down;
    if (s.fpu && !state.fpu) loadFpu(v.cpu!, s.fpu);
    if (s.pat !== undefined && !host.pvhMsrs.setPat(v.cpu!, BigInt(s.pat))) throw new XenError("EINVAL", `saved image has vCPU ${i} PAT 0x${BigInt(s.pat).toString(16)} with a reserved memory type`);
    if (s.lapic) {
      try { host.lapic.load(v.platform, s.lapic); } catch (e) { throw new XenError("EINVAL", `saved image, vCPU ${i}: ${(e as Error).message}`); }
    }
    if (s.runstateGva !== undefined) v.runstateGva = BigInt(s.runstateGva);
    v.upcallVector = s.upcallVector === undefined ? undefined : toVector(s.upcallVector);
    if (s.vcpuInfoGpa !== undefined) {
      const e = p2m.lookup(gfn(Math.floor(s.vcpuInfoGpa / PAGE_SIZE)));
      if (e) { d.sharedInfo.relocate(v.id, host.machine.memory.view(e.mfn), s.vcpuInfoGpa % PAGE_SIZE); v.vcpuInfoGpa = s.vcpuInfoGpa; }
    }
    // Timers continue relative to the restore (virtual time does not pass while saved).
    if (s.singleshotIn !== undefined) v.singleshot = host.now + s.singleshotIn;
    if (s.periodicNs) { v.periodicNs = s.periodicNs; v.periodicNext = host.now + s.periodicNs; }
    v.setRunstate(s.down ? "offline" : "runnable", host.now);
  });
  d.runstateUpdateFlag = header.runstateUpdateFlag ?? false;
  d.restoredFrom = header.name;
  if (!opts.paused) host.unpause(d);
  return d;
}
