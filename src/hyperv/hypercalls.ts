/**
 * The hypercall table (TLFS appendix A) and the handlers. A call reads its input block from the
 * caller's guest-physical memory (RDX) or, for fast calls, from RDX and R8; rep calls process
 * elements from the rep start index and may stop early: the host then rewinds the caller's RIP with
 * RCX's rep start advanced, so the guest re-executes the call (TLFS 3.7.4 "continuation").
 */
import { connectionId, partitionId } from "./ids";
import { gfn, Mfn, PAGE_SIZE } from "../machine";
import type { HypervHost } from "./host";
import type { Partition, VirtualProcessor } from "./partition";
import {
  HV_MAP_GPA, HV_PARTITION_ID_SELF, HV_STATUS, HV_VP_INDEX_SELF, HVCALL, HvPrivilegeName,
  HV_MESSAGE_PAYLOAD_BYTE_COUNT, POST_MESSAGE, SIGNAL_EVENT,
} from "./tlfs";
import { getRegister, setRegister } from "./registers";

/** Reps one hypercall entry processes before it continues (our stand-in for the TLFS' ~50 µs). */
export const REPS_PER_ENTRY = 16;
/** Pool pages a partition needs before HvInitializePartition succeeds, and per VP (our model). */
export const INIT_POOL_PAGES = 4;
export const VP_POOL_PAGES = 1;

export interface CallContext {
  host: HypervHost;
  caller: Partition;
  vp: VirtualProcessor | undefined;
  /** Input block: header then rep elements. */
  input: DataView;
  /** Output block to fill (written back to R8's GPA when the call succeeds). */
  output: DataView;
}

export interface CallDef {
  code: number;
  name: string;
  priv?: HvPrivilegeName;
  rep?: { header: number; element: number; outElement: number };
  /** Fixed input/output sizes of simple calls. */
  inSize?: number;
  outSize?: number;
  fastAllowed: boolean;
  /** Simple call: status. */
  run?: (c: CallContext) => number;
  /** Rep call: status of element i (absolute index). */
  runRep?: (c: CallContext, i: number) => number;
}

const u64 = (dv: DataView, o: number) => dv.getBigUint64(o, true);
const u32 = (dv: DataView, o: number) => dv.getUint32(o, true);

function targetPartition(c: CallContext, id: bigint): Partition | undefined {
  if (id === HV_PARTITION_ID_SELF) return c.caller;
  // HV_PARTITION_ID is a UINT64; ids we hand out are small, so one past 2^53 names nobody.
  if (id > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const p = c.host.partitions.get(partitionId(Number(id)));
  if (!p || p.state === "deleted") return undefined;
  // Only a partition's parent (or itself) may manage it.
  if (p !== c.caller && p.parent !== c.caller) return undefined;
  return p;
}

function child(c: CallContext, id: bigint): Partition | number {
  const p = targetPartition(c, id);
  if (!p || p === c.caller) return HV_STATUS.INVALID_PARTITION_ID;
  return p;
}

/** Root memory page -> machine frame, for deposit and map (the caller's own GPA space). */
function callerMfn(c: CallContext, page: bigint): Mfn | undefined {
  if (page > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return c.caller.memory.p2m.lookup(gfn(Number(page)))?.mfn;
}

const FLUSH_HEADER = 24; // HV_INPUT_FLUSH_VIRTUAL_ADDRESS_{SPACE,LIST}: AddressSpace, Flags, ProcessorMask
const HV_FLUSH_ALL_PROCESSORS = 1n; // hvgdk_mini.h HV_FLUSH_ALL_PROCESSORS BIT(0)

function flushTargets(c: CallContext): VirtualProcessor[] {
  const flags = u64(c.input, 8), mask = u64(c.input, 16);
  return c.caller.vps.filter((v) => (flags & HV_FLUSH_ALL_PROCESSORS) !== 0n || (v.index < 64 && ((mask >> BigInt(v.index)) & 1n) !== 0n));
}

export const CALLS: CallDef[] = [
  {
    code: HVCALL.FLUSH_VIRTUAL_ADDRESS_SPACE, name: "HvFlushVirtualAddressSpace", inSize: FLUSH_HEADER, fastAllowed: false,
    run: (c) => { for (const v of flushTargets(c)) { v.cpu.flushTlb(); } c.host.stats.tlbFlushes++; return HV_STATUS.SUCCESS; },
  },
  {
    code: HVCALL.FLUSH_VIRTUAL_ADDRESS_LIST, name: "HvFlushVirtualAddressList", fastAllowed: false,
    rep: { header: FLUSH_HEADER, element: 8, outElement: 0 },
    runRep: (c, i) => {
      // Each element: GVA page (63:12) and additional pages (11:0).
      const e = u64(c.input, FLUSH_HEADER + i * 8);
      const va = Number(e & ~0xfffn), extra = Number(e & 0xfffn);
      for (const v of flushTargets(c)) for (let k = 0; k <= extra; k++) v.cpu.invlpg(va + k * PAGE_SIZE);
      c.host.stats.tlbFlushes++;
      return HV_STATUS.SUCCESS;
    },
  },
  {
    code: HVCALL.NOTIFY_LONG_SPIN_WAIT, name: "HvNotifyLongSpinWait", inSize: 8, fastAllowed: true,
    run: (c) => { if (c.vp) c.vp.yieldRequested = true; c.host.stats.spinWaits++; return HV_STATUS.SUCCESS; },
  },
  {
    code: HVCALL.GET_PARTITION_ID, name: "HvGetPartitionId", priv: "AccessPartitionId", inSize: 0, outSize: 8, fastAllowed: false,
    run: (c) => { c.output.setBigUint64(0, BigInt(c.caller.id), true); return HV_STATUS.SUCCESS; },
  },
  {
    // in: Flags u64, ProximityDomainInfo u64, CompatibilityVersion u32 (hv_input_create_partition); out: PartitionId
    code: HVCALL.CREATE_PARTITION, name: "HvCreatePartition", priv: "CreatePartitions", inSize: 24, outSize: 8, fastAllowed: false,
    run: (c) => {
      const p = c.host.newPartition(c.caller, u64(c.input, 0), u32(c.input, 16));
      c.output.setBigUint64(0, BigInt(p.id), true);
      return HV_STATUS.SUCCESS;
    },
  },
  {
    code: HVCALL.INITIALIZE_PARTITION, name: "HvInitializePartition", priv: "CreatePartitions", inSize: 8, fastAllowed: true,
    run: (c) => {
      const p = child(c, u64(c.input, 0));
      if (typeof p === "number") return p;
      if (p.state !== "created") return HV_STATUS.INVALID_PARTITION_STATE;
      if (p.pool.length - p.poolInUse < INIT_POOL_PAGES) return HV_STATUS.INSUFFICIENT_MEMORY;
      p.poolInUse += INIT_POOL_PAGES;
      p.state = "initialized";
      return HV_STATUS.SUCCESS;
    },
  },
  {
    code: HVCALL.DELETE_PARTITION, name: "HvDeletePartition", priv: "CreatePartitions", inSize: 8, fastAllowed: true,
    run: (c) => {
      const p = child(c, u64(c.input, 0));
      if (typeof p === "number") return p;
      c.host.destroyPartition(p);
      return HV_STATUS.SUCCESS;
    },
  },
  {
    // hv_deposit_memory: PartitionId, then GPA page numbers of the caller's pages.
    code: HVCALL.DEPOSIT_MEMORY, name: "HvDepositMemory", priv: "AccessMemoryPool", fastAllowed: false,
    rep: { header: 8, element: 8, outElement: 0 },
    runRep: (c, i) => {
      const p = child(c, u64(c.input, 0));
      if (typeof p === "number") return p;
      const page = u64(c.input, 8 + i * 8);
      if (c.caller.reservedGfns.has(Number(page))) return HV_STATUS.OPERATION_DENIED;
      const m = callerMfn(c, page);
      if (m === undefined) return HV_STATUS.INVALID_PARAMETER;
      // The page leaves the depositor's address space: it now belongs to the hypervisor's pool.
      c.caller.memory.p2m.remove(gfn(Number(page)));
      p.pool.push(m);
      p.poolOrigin.set(m, Number(page));
      return HV_STATUS.SUCCESS;
    },
  },
  {
    // in: PartitionId, ProximityDomainInfo; out: the depositor's GPA page numbers, one per rep.
    code: HVCALL.WITHDRAW_MEMORY, name: "HvWithdrawMemory", priv: "AccessMemoryPool", fastAllowed: false,
    rep: { header: 16, element: 0, outElement: 8 },
    runRep: (c, i) => {
      const p = child(c, u64(c.input, 0));
      if (typeof p === "number") return p;
      if (p.pool.length <= p.poolInUse) return HV_STATUS.INSUFFICIENT_MEMORY; // nothing free to give back
      const m = p.pool.pop()!;
      const g = p.poolOrigin.get(m)!;
      p.poolOrigin.delete(m);
      c.caller.memory.p2m.set(gfn(g), m, true);
      c.output.setBigUint64(i * 8, BigInt(g), true);
      return HV_STATUS.SUCCESS;
    },
  },
  {
    // in: ParentId, PreviousChildId (0 = first); out: NextChildId (0 = no more).
    code: HVCALL.GET_NEXT_CHILD_PARTITION, name: "HvGetNextChildPartition", priv: "CreatePartitions", inSize: 16, outSize: 8, fastAllowed: false,
    run: (c) => {
      const parent = targetPartition(c, u64(c.input, 0));
      if (!parent) return HV_STATUS.INVALID_PARTITION_ID;
      const prev = Number(u64(c.input, 8));
      const kids = [...c.host.partitions.values()].filter((p) => p.parent === parent && p.state !== "deleted").map((p) => p.id).sort((a, b) => a - b);
      c.output.setBigUint64(0, BigInt(kids.find((id) => id > prev) ?? 0), true);
      return HV_STATUS.SUCCESS;
    },
  },
  {
    // The root stops a partition's VPs for good before deleting it.
    code: HVCALL.FINALIZE_PARTITION, name: "HvFinalizePartition", priv: "CreatePartitions", inSize: 8, fastAllowed: true,
    run: (c) => {
      const p = child(c, u64(c.input, 0));
      if (typeof p === "number") return p;
      if (p.state === "finalized") return HV_STATUS.INVALID_PARTITION_STATE;
      for (const v of p.vps) v.state = "suspended";
      p.state = "finalized";
      return HV_STATUS.SUCCESS;
    },
  },
  {
    code: HVCALL.GET_MEMORY_BALANCE, name: "HvGetMemoryBalance", priv: "AccessMemoryPool", inSize: 8, outSize: 16, fastAllowed: false,
    run: (c) => {
      const p = targetPartition(c, u64(c.input, 0));
      if (!p) return HV_STATUS.INVALID_PARTITION_ID;
      c.output.setBigUint64(0, BigInt(p.pool.length - p.poolInUse), true);
      c.output.setBigUint64(8, BigInt(p.poolInUse), true);
      return HV_STATUS.SUCCESS;
    },
  },
  {
    // hv_input_map_gpa_pages: TargetPartitionId, TargetGpaBase (page), MapFlags u32, pad; source pages.
    code: HVCALL.MAP_GPA_PAGES, name: "HvMapGpaPages", priv: "CreatePartitions", fastAllowed: false,
    rep: { header: 24, element: 8, outElement: 0 },
    runRep: (c, i) => {
      const p = child(c, u64(c.input, 0));
      if (typeof p === "number") return p;
      if (p.state !== "initialized") return HV_STATUS.INVALID_PARTITION_STATE;
      const base = u64(c.input, 8), flags = u32(c.input, 16);
      if (!(flags & HV_MAP_GPA.READABLE)) return HV_STATUS.INVALID_PARAMETER;
      const m = callerMfn(c, u64(c.input, 24 + i * 8));
      if (m === undefined) return HV_STATUS.INVALID_PARAMETER;
      const target = Number(base) + i;
      if (!p.memory.p2m.lookup(gfn(target))) p.mappedPages++;
      p.memory.p2m.set(gfn(target), m, (flags & HV_MAP_GPA.WRITABLE) !== 0);
      return HV_STATUS.SUCCESS;
    },
  },
  {
    code: HVCALL.UNMAP_GPA_PAGES, name: "HvUnmapGpaPages", priv: "CreatePartitions", fastAllowed: false,
    rep: { header: 24, element: 0, outElement: 0 },
    runRep: (c, i) => {
      const p = child(c, u64(c.input, 0));
      if (typeof p === "number") return p;
      if (p.memory.p2m.remove(gfn(Number(u64(c.input, 8)) + i))) p.mappedPages--;
      return HV_STATUS.SUCCESS;
    },
  },
  {
    // hv_input_create_vp: PartitionId, VpIndex u32 ...
    code: HVCALL.CREATE_VP, name: "HvCreateVp", priv: "CreatePartitions", inSize: 16, fastAllowed: true,
    run: (c) => {
      const p = child(c, u64(c.input, 0));
      if (typeof p === "number") return p;
      if (p.state !== "initialized") return HV_STATUS.INVALID_PARTITION_STATE;
      const idx = u32(c.input, 8);
      if (idx !== p.vps.length || idx >= c.host.maxVpsPerPartition) return HV_STATUS.INVALID_VP_INDEX;
      if (p.pool.length - p.poolInUse < VP_POOL_PAGES) return HV_STATUS.INSUFFICIENT_MEMORY;
      p.poolInUse += VP_POOL_PAGES;
      c.host.newVp(p);
      return HV_STATUS.SUCCESS;
    },
  },
  {
    // hv_input_get_vp_registers: PartitionId, VpIndex u32, InputVtl u8, pad[3]; names u32[]; out u128[]
    code: HVCALL.GET_VP_REGISTERS, name: "HvGetVpRegisters", fastAllowed: false,
    rep: { header: 16, element: 4, outElement: 16 },
    runRep: (c, i) => {
      const vp = targetVp(c);
      if (typeof vp === "number") return vp;
      const v = getRegister(vp, u32(c.input, 16 + i * 4));
      if (v === undefined) return HV_STATUS.INVALID_PARAMETER;
      c.output.setBigUint64(i * 16, v.low, true);
      c.output.setBigUint64(i * 16 + 8, v.high, true);
      return HV_STATUS.SUCCESS;
    },
  },
  {
    // hv_input_set_vp_registers: header as above; elements hv_register_assoc {name u32, rsvd u32, rsvd u64, value u128}
    code: HVCALL.SET_VP_REGISTERS, name: "HvSetVpRegisters", fastAllowed: false,
    rep: { header: 16, element: 32, outElement: 0 },
    runRep: (c, i) => {
      const vp = targetVp(c);
      if (typeof vp === "number") return vp;
      const e = 16 + i * 32;
      return setRegister(vp, u32(c.input, e), u64(c.input, e + 16), u64(c.input, e + 24)) ? HV_STATUS.SUCCESS : HV_STATUS.INVALID_PARAMETER;
    },
  },
  {
    code: HVCALL.POST_MESSAGE, name: "HvPostMessage", priv: "PostMessages", inSize: POST_MESSAGE.size, fastAllowed: false,
    run: (c) => {
      const type = u32(c.input, POST_MESSAGE.messageType), size = u32(c.input, POST_MESSAGE.payloadSize);
      // Guest message types have the high bit clear and are not HvMessageTypeNone (TLFS 11.10.2).
      if (type === 0 || type & 0x80000000) return HV_STATUS.INVALID_PARAMETER;
      if (size > HV_MESSAGE_PAYLOAD_BYTE_COUNT) return HV_STATUS.INVALID_PARAMETER;
      const payload = new Uint8Array(c.input.buffer, c.input.byteOffset + POST_MESSAGE.payload, size).slice();
      return c.host.postMessage(c.caller, connectionId(u32(c.input, POST_MESSAGE.connectionId)), type, payload);
    },
  },
  {
    code: HVCALL.SIGNAL_EVENT, name: "HvSignalEvent", priv: "SignalEvents", inSize: 8, fastAllowed: true,
    run: (c) => c.host.signalEvent(c.caller, connectionId(u32(c.input, SIGNAL_EVENT.connectionId)), c.input.getUint16(SIGNAL_EVENT.flagNumber, true)),
  },
];

function targetVp(c: CallContext): VirtualProcessor | number {
  const p = targetPartition(c, u64(c.input, 0));
  if (!p) return HV_STATUS.INVALID_PARTITION_ID;
  // Reading or writing another partition's registers is the parent's business (CpuManagement / VID).
  if (p !== c.caller && !c.caller.has("CreatePartitions")) return HV_STATUS.ACCESS_DENIED;
  let idx = u32(c.input, 8);
  if (idx === HV_VP_INDEX_SELF) idx = c.vp?.index ?? 0;
  return p.vps[idx] ?? HV_STATUS.INVALID_VP_INDEX;
}

export const CALL_BY_CODE = new Map(CALLS.map((d) => [d.code, d]));
export const CALL_NAMES = new Map(CALLS.map((d) => [d.code, d.name]));
