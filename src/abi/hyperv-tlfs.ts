/**
 * Numbers from Microsoft's Hypervisor Top-Level Functional Specification (TLFS 6.0, the
 * "Longhorn"/Windows Server 2008 interface), cross-checked with Linux's include/hyperv/hvgdk_mini.h
 * and arch/x86/include/asm/hyperv-tlfs.h (see /work/shared/reference/xen-hyperv.md §5).
 */

/** CPUID leaves (TLFS "Feature Discovery"; hvgdk_mini.h HYPERV_CPUID_*). */
export const HV_CPUID = {
  VENDOR_AND_MAX_FUNCTIONS: 0x40000000,
  INTERFACE: 0x40000001,
  VERSION: 0x40000002,
  FEATURES: 0x40000003,
  ENLIGHTMENT_INFO: 0x40000004,
  IMPLEMENT_LIMITS: 0x40000005,
  HARDWARE_FEATURES: 0x40000006,
} as const;
/** "Microsoft Hv" as EBX, ECX, EDX of leaf 0x40000000. */
export const HV_VENDOR = [0x7263694d, 0x666f736f, 0x76482074] as const;
/** "Hv#1" (leaf 0x40000001 EAX): the Microsoft hypervisor interface. */
export const HV_INTERFACE_SIGNATURE = 0x31237648;

/** Partition privilege mask, low 32 bits (CPUID 0x40000003 EAX; hvgdk_mini.h HV_MSR_*_AVAILABLE). */
export const HV_PRIV = {
  VpRuntimeAccess: 1n << 0n,
  PartitionReferenceCounter: 1n << 1n,
  SynicAccess: 1n << 2n,
  SyntheticTimerAccess: 1n << 3n,
  ApicAccess: 1n << 4n,
  HypercallAccess: 1n << 5n,
  VpIndexAccess: 1n << 6n,
  ResetAccess: 1n << 7n,
  StatisticsAccess: 1n << 8n,
  ReferenceTscAccess: 1n << 9n,
  GuestIdleAccess: 1n << 10n,
  FrequencyAccess: 1n << 11n,
  // high 32 bits (CPUID 0x40000003 EBX; hvgdk_mini.h HV_CREATE_PARTITIONS ...)
  CreatePartitions: 1n << 32n,
  AccessPartitionId: 1n << 33n,
  AccessMemoryPool: 1n << 34n,
  PostMessages: 1n << 36n,
  SignalEvents: 1n << 37n,
  CreatePort: 1n << 38n,
  ConnectPort: 1n << 39n,
  AccessStats: 1n << 40n,
  Debugging: 1n << 43n,
  CpuManagement: 1n << 44n,
} as const;
export type HvPrivilegeName = keyof typeof HV_PRIV;

/** What a child partition gets (the access a WS2008 child sees: MSRs, SynIC, messages, events). */
export const CHILD_PRIVILEGES =
  HV_PRIV.VpRuntimeAccess | HV_PRIV.PartitionReferenceCounter | HV_PRIV.SynicAccess | HV_PRIV.SyntheticTimerAccess |
  HV_PRIV.ApicAccess | HV_PRIV.HypercallAccess | HV_PRIV.VpIndexAccess | HV_PRIV.ReferenceTscAccess |
  HV_PRIV.FrequencyAccess | HV_PRIV.AccessPartitionId | HV_PRIV.PostMessages | HV_PRIV.SignalEvents;
/** The root adds partition management, the memory pool, ports and CPU management. */
export const ROOT_PRIVILEGES =
  CHILD_PRIVILEGES | HV_PRIV.ResetAccess | HV_PRIV.StatisticsAccess | HV_PRIV.GuestIdleAccess | HV_PRIV.CreatePartitions |
  HV_PRIV.AccessMemoryPool | HV_PRIV.CreatePort | HV_PRIV.ConnectPort | HV_PRIV.AccessStats | HV_PRIV.Debugging |
  HV_PRIV.CpuManagement;

/** CPUID 0x40000003 EDX feature bits (Linux's hyperv-tlfs.h): the TSC/APIC frequency MSRs answer. */
export const HV_FEATURE = { FREQUENCY_MSRS_AVAILABLE: 1 << 8 } as const;

/** CPUID 0x40000004 EAX recommendations (hvgdk_mini.h HV_X64_*_RECOMMENDED). */
export const HV_RECOMMEND = {
  AS_SWITCH: 1 << 0,
  LOCAL_TLB_FLUSH: 1 << 1,
  REMOTE_TLB_FLUSH: 1 << 2,
  APIC_ACCESS: 1 << 3,
  SYSTEM_RESET: 1 << 4,
  RELAXED_TIMING: 1 << 5,
} as const;
/** CPUID 0x40000003 EDX: bit 3 guest debugging, bit 8 guest crash MSRs... we report none but
 *  HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE is not offered either (inputs come through memory). */

/** Synthetic MSRs (TLFS appendix; hvgdk_mini.h HV_X64_MSR_*). */
export const HV_MSR = {
  GUEST_OS_ID: 0x40000000,
  HYPERCALL: 0x40000001,
  VP_INDEX: 0x40000002,
  RESET: 0x40000003,
  VP_RUNTIME: 0x40000010,
  TIME_REF_COUNT: 0x40000020,
  REFERENCE_TSC: 0x40000021,
  TSC_FREQUENCY: 0x40000022,
  APIC_FREQUENCY: 0x40000023,
  /** The APIC MSRs under ApicRegisterAccess (Linux's hyperv-tlfs.h HV_X64_MSR_EOI/ICR/TPR/VP_ASSIST_PAGE). */
  EOI: 0x40000070,
  ICR: 0x40000071,
  TPR: 0x40000072,
  VP_ASSIST_PAGE: 0x40000073,
  SCONTROL: 0x40000080,
  SVERSION: 0x40000081,
  SIEFP: 0x40000082,
  SIMP: 0x40000083,
  EOM: 0x40000084,
  SINT0: 0x40000090,
  SINT15: 0x4000009f,
  STIMER0_CONFIG: 0x400000b0,
  STIMER0_COUNT: 0x400000b1,
  STIMER3_COUNT: 0x400000b7,
  GUEST_IDLE: 0x400000f0,
} as const;

/** SINTx MSR bits (TLFS 11.8.4): vector 7:0, masked 16, auto-EOI 17, polling 18. */
export const SINT_MASKED = 1n << 16n;
export const SINT_AUTO_EOI = 1n << 17n;
export const SINT_POLLING = 1n << 18n;
/** Synthetic timer config (TLFS 12.4.1). */
export const STIMER = { ENABLE: 1n, PERIODIC: 2n, LAZY: 4n, AUTO_ENABLE: 8n, DIRECT_MODE: 1n << 12n } as const;
export const HV_SYNIC_SINT_COUNT = 16;
export const HV_SYNIC_STIMER_COUNT = 4;
/** SVERSION reads 1 (TLFS: "HV_SYNIC_VERSION_1"). */
export const HV_SYNIC_VERSION_1 = 1n;

/** Hypercall input value fields (TLFS 3.7; hvgdk_mini.h HV_HYPERCALL_*). */
export const HC = {
  CODE_MASK: 0xffffn,
  FAST_BIT: 1n << 16n,
  VARHEAD_OFFSET: 17n,
  NESTED: 1n << 31n,
  REP_COMP_OFFSET: 32n,
  REP_START_OFFSET: 48n,
  /** Bits that must be zero: 30:27, 47:44, 63:60 (TLFS "RsvdZ"). */
  RSVD_MASK: (0xfn << 27n) | (0xfn << 44n) | (0xfn << 60n),
} as const;
export const HV_HYPERCALL_REP_MAX = 0xfff;

/** HV_STATUS (TLFS appendix B; hvgdk_mini.h). */
export const HV_STATUS = {
  SUCCESS: 0,
  INVALID_HYPERCALL_CODE: 2,
  INVALID_HYPERCALL_INPUT: 3,
  INVALID_ALIGNMENT: 4,
  INVALID_PARAMETER: 5,
  ACCESS_DENIED: 6,
  INVALID_PARTITION_STATE: 7,
  OPERATION_DENIED: 8,
  UNKNOWN_PROPERTY: 9,
  PROPERTY_VALUE_OUT_OF_RANGE: 0xa,
  INSUFFICIENT_MEMORY: 0xb,
  PARTITION_TOO_DEEP: 0xc,
  INVALID_PARTITION_ID: 0xd,
  INVALID_VP_INDEX: 0xe,
  NOT_FOUND: 0x10,
  INVALID_PORT_ID: 0x11,
  INVALID_CONNECTION_ID: 0x12,
  INSUFFICIENT_BUFFERS: 0x13,
  NOT_ACKNOWLEDGED: 0x14,
  INVALID_VP_STATE: 0x15,
  NO_RESOURCES: 0x1d,
} as const;
export type HvStatusName = keyof typeof HV_STATUS;
export function hvStatusName(s: number): string {
  for (const [k, v] of Object.entries(HV_STATUS)) if (v === s) return `HV_STATUS_${k}`;
  return `HV_STATUS_0x${s.toString(16)}`;
}

/** Call codes (TLFS 6.0 appendix A; hvgdk_mini.h HVCALL_*). */
export const HVCALL = {
  SWITCH_VIRTUAL_ADDRESS_SPACE: 0x0001,
  FLUSH_VIRTUAL_ADDRESS_SPACE: 0x0002,
  FLUSH_VIRTUAL_ADDRESS_LIST: 0x0003,
  NOTIFY_LONG_SPIN_WAIT: 0x0008,
  CREATE_PARTITION: 0x0040,
  INITIALIZE_PARTITION: 0x0041,
  FINALIZE_PARTITION: 0x0042,
  DELETE_PARTITION: 0x0043,
  GET_PARTITION_ID: 0x0046,
  GET_NEXT_CHILD_PARTITION: 0x0047,
  DEPOSIT_MEMORY: 0x0048,
  WITHDRAW_MEMORY: 0x0049,
  GET_MEMORY_BALANCE: 0x004a,
  MAP_GPA_PAGES: 0x004b,
  UNMAP_GPA_PAGES: 0x004c,
  CREATE_VP: 0x004e,
  GET_VP_REGISTERS: 0x0050,
  SET_VP_REGISTERS: 0x0051,
  POST_MESSAGE: 0x005c,
  SIGNAL_EVENT: 0x005d,
} as const;
export type HvCallName = keyof typeof HVCALL;

/** HV_PARTITION_ID_SELF / HV_VP_INDEX_SELF (hvgdk_mini.h). */
export const HV_PARTITION_ID_SELF = 0xffffffffffffffffn;
export const HV_VP_INDEX_SELF = 0xfffffffe;

/** HvMapGpaPages flags (hvgdk_mini.h HV_MAP_GPA_*). */
export const HV_MAP_GPA = { READABLE: 1, WRITABLE: 2, KERNEL_EXECUTABLE: 4, USER_EXECUTABLE: 8 } as const;

/** Register names for Get/SetVpRegisters (hvgdk_mini.h enum hv_register_name). */
export const HV_REG = {
  EXPLICIT_SUSPEND: 0x00000000,
  RAX: 0x00020000, RCX: 0x00020001, RDX: 0x00020002, RBX: 0x00020003, RSP: 0x00020004, RBP: 0x00020005,
  RSI: 0x00020006, RDI: 0x00020007, R8: 0x00020008, R9: 0x00020009, R10: 0x0002000a, R11: 0x0002000b,
  R12: 0x0002000c, R13: 0x0002000d, R14: 0x0002000e, R15: 0x0002000f, RIP: 0x00020010, RFLAGS: 0x00020011,
  // Floating-point and vector registers (TLFS "Virtual Processor Register Names": HvX64RegisterXmm0..15,
  // HvX64RegisterFpMmx0..7, HvX64RegisterFpControlStatus, HvX64RegisterXmmControlStatus).
  XMM0: 0x00030000, XMM15: 0x0003000f, FP_MMX0: 0x00030010, FP_MMX7: 0x00030017,
  FP_CONTROL_STATUS: 0x00030018, XMM_CONTROL_STATUS: 0x00030019,
  CR0: 0x00040000, CR2: 0x00040001, CR3: 0x00040002, CR4: 0x00040003,
  CS: 0x00060001,
  EFER: 0x00080001,
} as const;

/** SynIC message page (TLFS 11.9; hvgdk_mini.h struct hv_message): 16 slots of 256 bytes. */
export const HV_MESSAGE_SIZE = 256;
export const HV_MESSAGE_PAYLOAD_BYTE_COUNT = 240;
export const HV_MESSAGE = {
  /** u32 message_type */ type: 0,
  /** u8 payload_size */ payloadSize: 4,
  /** u8 message_flags (bit 0: msg_pending) */ flags: 5,
  /** u16 reserved */ reserved: 6,
  /** u64 sender (port id or partition id) */ origin: 8,
  /** u8 payload[240] */ payload: 16,
} as const;
export const HV_MESSAGE_FLAG_PENDING = 1;
/** hv_message_type (hvgdk_mini.h): guest types have the high bit clear. */
export const HVMSG = { NONE: 0, TIMER_EXPIRED: 0x80000010 } as const;
/** SynIC event flags page: 16 × 256 bytes = 2048 flags per SINT. */
export const HV_EVENT_FLAGS_COUNT = 2048;

/** PostMessage input (hvgdk_mini.h struct hv_input_post_message). */
export const POST_MESSAGE = { connectionId: 0, reserved: 4, messageType: 8, payloadSize: 12, payload: 16, size: 256 } as const;
/** SignalEvent input (struct hv_input_signal_event): connection id u32, flag number u16, rsvd u16. */
export const SIGNAL_EVENT = { connectionId: 0, flagNumber: 4 } as const;

/** Reference TSC page (TLFS 12.7.2; hvgdk_mini.h struct ms_hyperv_tsc_page). */
export const TSC_PAGE = { sequence: 0, scale: 8, offset: 16 } as const;
