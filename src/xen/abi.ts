/**
 * Numbers from Xen's public ABI, as Debian's libxen-dev 4.17 headers define them
 * (/usr/include/xen/...). Each group names its header; tests/xen/layout.test.ts compiles the
 * headers with gcc and checks the numbers and struct offsets used by the model.
 */
import { FLAT_KERNEL_CS64, FLAT_KERNEL_DS64, FLAT_KERNEL_SS64, MAX_GUEST_CMDLINE, MMUEXT, MMU_MACHPHYS_UPDATE, MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_NO_TRANSLATE, MMU_PT_UPDATE_PRESERVE_AD, SIF_INITDOMAIN, SIF_PRIVILEGED, UVMF_ALL, UVMF_FLUSHTYPE_MASK, UVMF_INVLPG, UVMF_LOCAL, UVMF_NONE, UVMF_TLB_FLUSH } from "./pv/abi";
import type { Virq } from "./types";
import { grantRef } from "./types";

/** Hypercall numbers (xen.h __HYPERVISOR_*). */
export const HYPERVISOR = {
  set_trap_table: 0, mmu_update: 1, set_gdt: 2, stack_switch: 3, set_callbacks: 4, fpu_taskswitch: 5,
  sched_op_compat: 6, platform_op: 7, set_debugreg: 8, get_debugreg: 9, update_descriptor: 10,
  memory_op: 12, multicall: 13, update_va_mapping: 14, set_timer_op: 15, event_channel_op_compat: 16,
  xen_version: 17, console_io: 18, physdev_op_compat: 19, grant_table_op: 20, vm_assist: 21,
  update_va_mapping_otherdomain: 22, iret: 23, vcpu_op: 24, set_segment_base: 25, mmuext_op: 26,
  xsm_op: 27, nmi_op: 28, sched_op: 29, callback_op: 30, xenoprof_op: 31, event_channel_op: 32,
  physdev_op: 33, hvm_op: 34, sysctl: 35, domctl: 36, kexec_op: 37, tmem_op: 38, argo_op: 39,
  xenpmu_op: 40, dm_op: 41, hypfs_op: 42,
} as const;
export const HYPERCALL_NAMES: Record<number, string> = Object.fromEntries(Object.entries(HYPERVISOR).map(([k, v]) => [v, k]));

/** Xen errno values (xen/errno.h; equal to Linux's). Hypercalls return their negation. */
export const XEN_ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EIO: 5, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13,
  EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, EISDIR: 21, EINVAL: 22, ENOSPC: 28, EROFS: 30, ENOSYS: 38,
  ENOTEMPTY: 39, EOPNOTSUPP: 95, EISCONN: 106,
} as const;
export type XenErrnoName = keyof typeof XEN_ERRNO;

/** Domain ids (xen.h). */
export const DOMID_SELF = 0x7ff0, DOMID_IO = 0x7ff1, DOMID_XEN = 0x7ff2, DOMID_COW = 0x7ff3;
export const DOMID_INVALID = 0x7ff4, DOMID_ANY = 0x7ff5, DOMID_IDLE = 0x7fff, DOMID_FIRST_RESERVED = 0x7ff0;

const VIRQ_NUMBERS = {
  TIMER: 0, DEBUG: 1, CONSOLE: 2, DOM_EXC: 3, TBUF: 4, DEBUGGER: 6, XENOPROF: 7, CON_RING: 8, PCPU_STATE: 9, MEM_EVENT: 10,
  ARGO: 11, ENOMEM: 12, XENPMU: 13,
} as const;
/** VIRQs (xen.h VIRQ_*), typed as VIRQ numbers. */
export const VIRQ = VIRQ_NUMBERS as { readonly [K in keyof typeof VIRQ_NUMBERS]: Virq };
export const NR_VIRQS = 24;

/** console_io commands (xen.h CONSOLEIO_*). */
export const CONSOLEIO_write = 0, CONSOLEIO_read = 1;

/** xen_version commands (version.h XENVER_*). */
export const XENVER = {
  version: 0, extraversion: 1, compile_info: 2, capabilities: 3, changeset: 4, platform_parameters: 5,
  get_features: 6, pagesize: 7, guest_handle: 8, commandline: 9, build_id: 10,
} as const;
/** XENFEAT_* bits (features.h). */
export const XENFEAT = { writable_page_tables: 0, auto_translated_physmap: 2, supervisor_mode_kernel: 3, hvm_callback_vector: 8, hvm_safe_pvclock: 9, dom0: 11 } as const;

/** The version we emulate (what libxen-dev 4.17 describes). */
export const XEN_MAJOR = 4, XEN_MINOR = 17, XEN_EXTRA = ".0-xenlab";

/** memory_op commands (memory.h XENMEM_*). */
export const XENMEM = {
  increase_reservation: 0, decrease_reservation: 1, maximum_ram_page: 2, current_reservation: 3,
  maximum_reservation: 4, machphys_mfn_list: 5, populate_physmap: 6, add_to_physmap: 7, memory_map: 9,
  machine_memory_map: 10, exchange: 11, maximum_gpfn: 14, remove_from_physmap: 15,
} as const;
/** xen_add_to_physmap spaces (memory.h XENMAPSPACE_*). */
export const XENMAPSPACE_shared_info = 0, XENMAPSPACE_grant_table = 1, XENMAPSPACE_gmfn = 2;
/** memory.h: grant_table idx with this bit names a status frame (v2 only). */
export const XENMAPIDX_grant_table_status = 0x80000000;

/** sched_op commands and shutdown reasons (sched.h). */
export const SCHEDOP = { yield: 0, block: 1, shutdown: 2, poll: 3, remote_shutdown: 4, shutdown_code: 5, watchdog: 6 } as const;
export const SHUTDOWN = { poweroff: 0, reboot: 1, suspend: 2, crash: 3, watchdog: 4, soft_reset: 5 } as const;
export type ShutdownReason = keyof typeof SHUTDOWN;
export const SHUTDOWN_NAMES = ["poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"] as const;

/** event_channel_op commands and status values (event_channel.h). */
export const EVTCHNOP = {
  bind_interdomain: 0, bind_virq: 1, bind_pirq: 2, close: 3, send: 4, status: 5, alloc_unbound: 6,
  bind_ipi: 7, bind_vcpu: 8, unmask: 9, reset: 10, init_control: 11, expand_array: 12, set_priority: 13,
} as const;
export const EVTCHNSTAT = { closed: 0, unbound: 1, interdomain: 2, pirq: 3, virq: 4, ipi: 5 } as const;
/** 2-level ABI: 64 words of 64 bits (xen.h EVTCHN_2L_NR_CHANNELS = sizeof(xen_ulong_t)^2 * 64). */
export const EVTCHN_2L_NR_CHANNELS = 4096;

/** grant_table_op commands, flags and status codes (grant_table.h). */
export const GNTTABOP = {
  map_grant_ref: 0, unmap_grant_ref: 1, setup_table: 2, dump_table: 3, transfer: 4, copy: 5,
  query_size: 6, unmap_and_replace: 7, set_version: 8, get_status_frames: 9, get_version: 10,
} as const;
export const GTF_invalid = 0, GTF_permit_access = 1, GTF_accept_transfer = 2, GTF_transitive = 3, GTF_type_mask = 3;
export const GTF_readonly = 1 << 2, GTF_reading = 1 << 3, GTF_writing = 1 << 4, GTF_sub_page = 1 << 8;
export const GNTMAP_device_map = 1, GNTMAP_host_map = 2, GNTMAP_readonly = 4, GNTMAP_application_map = 8, GNTMAP_contains_pte = 16;
export const GNTCOPY_source_gref = 1, GNTCOPY_dest_gref = 2;
export const GNTST = {
  okay: 0, general_error: -1, bad_domain: -2, bad_gntref: -3, bad_handle: -4, bad_virt_addr: -5,
  bad_dev_addr: -6, no_device_space: -7, permission_denied: -8, bad_page: -9, bad_copy_arg: -10,
  address_too_big: -11, eagain: -12, no_space: -13,
} as const;
/** grant_table.h: the builder fills these for the toolstack's backends. */
export const GNTTAB_RESERVED_CONSOLE = grantRef(0), GNTTAB_RESERVED_XENSTORE = grantRef(1), GNTTAB_NR_RESERVED_ENTRIES = 8;
/** grant_entry_v1 is 8 bytes: 512 per 4 KiB frame. */
export const GRANT_ENTRY_V1_SIZE = 8;
/** Xen's default grant table size for domUs (xen/common/grant_table.c opt_max_grant_frames = 64). */
export const DEFAULT_MAX_GRANT_FRAMES = 64;

/** vcpu_op commands and runstates (vcpu.h). */
export const VCPUOP = {
  initialise: 0, up: 1, down: 2, is_up: 3, get_runstate_info: 4, register_runstate_memory_area: 5,
  set_periodic_timer: 6, stop_periodic_timer: 7, set_singleshot_timer: 8, stop_singleshot_timer: 9,
  register_vcpu_info: 10, send_nmi: 11, get_physid: 12,
} as const;
export const RUNSTATE = { running: 0, runnable: 1, blocked: 2, offline: 3 } as const;
/** vcpu.h XEN_RUNSTATE_UPDATE: state_entry_time bit 63 while Xen rewrites a registered area. */
export const XEN_RUNSTATE_UPDATE = 1n << 63n;
/** xen.h VMASST_CMD_* and VMASST_TYPE_runstate_update_flag (the one assist an HVM guest may enable). */
export const VMASST_CMD_enable = 0, VMASST_CMD_disable = 1, VMASST_TYPE_runstate_update_flag = 5;
export type Runstate = keyof typeof RUNSTATE;
/** vcpu.h VCPU_SSHOTTMR_future: fail with -ETIME if the deadline is past. */
export const VCPU_SSHOTTMR_future = 1;
export const ETIME = 62;

/** hvm_op commands and HVM params (hvm/hvm_op.h, hvm/params.h). */
export const HVMOP_set_param = 0, HVMOP_get_param = 1, HVMOP_set_evtchn_upcall_vector = 23;
export const HVM_PARAM = {
  CALLBACK_IRQ: 0, STORE_PFN: 1, STORE_EVTCHN: 2, PAE_ENABLED: 4, IOREQ_PFN: 5, BUFIOREQ_PFN: 6,
  TIMER_MODE: 10, HPET_ENABLED: 11, CONSOLE_PFN: 17, CONSOLE_EVTCHN: 18,
} as const;
export const HVM_NR_PARAMS = 39;
/** params.h: CALLBACK_IRQ bits 63:56 give the delivery type; 2 = vector, in bits 7:0. */
export const HVM_PARAM_CALLBACK_TYPE_VECTOR = 2;
/** params.h: the delivery type's position in CALLBACK_IRQ (Linux's HVM_CALLBACK_VIA_TYPE_SHIFT). */
export const HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT = 56n;

/** ELF notes (elfnote.h, note name "Xen"). */
export const XEN_ELFNOTE = {
  INFO: 0, ENTRY: 1, HYPERCALL_PAGE: 2, VIRT_BASE: 3, PADDR_OFFSET: 4, XEN_VERSION: 5, GUEST_OS: 6,
  GUEST_VERSION: 7, LOADER: 8, PAE_MODE: 9, FEATURES: 10, BSD_SYMTAB: 11, HV_START_LOW: 12,
  L1_MFN_VALID: 13, SUSPEND_CANCEL: 14, INIT_P2M: 15, MOD_START_PFN: 16, SUPPORTED_FEATURES: 17,
  PHYS32_ENTRY: 18,
} as const;

/** hvm_start_info (arch-x86/hvm/start_info.h). */
export const XEN_HVM_START_MAGIC_VALUE = 0x336ec578;
/** E820 types (hvm/e820.h / start_info.h XEN_HVM_MEMMAP_TYPE_*). */
export const E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3;

/** Xen CPUID leaves (arch-x86/cpuid.h). */
export const XEN_CPUID_FIRST_LEAF = 0x40000000;
export const XEN_CPUID_SIGNATURE_EBX = 0x566e6558, XEN_CPUID_SIGNATURE_ECX = 0x65584d4d, XEN_CPUID_SIGNATURE_EDX = 0x4d4d566e;
/** The MSR the guest writes its hypercall page address to (Xen's own choice, reported in leaf 2 EBX). */
export const XEN_HYPERCALL_MSR = 0x40000000;
/**
 * With Viridian on, Hyper-V's leaves and MSRs come first and Xen's move up: its CPUID leaves by
 * 0x100, its hypercall MSR by 0x200 (xen/arch/x86/cpuid.c, msr.c; Linux arch/x86/xen/enlighten_hvm.c).
 */
export const XEN_VIRIDIAN_LEAF_OFFSET = 0x100;
export const XEN_VIRIDIAN_MSR_OFFSET = 0x200;
/** The hypercall MSR's bits 11:0 name the page index; Xen has one hypercall page, index 0. */
export const XEN_HYPERCALL_MSR_PAGE_INDEX = 0xfffn;
/** Port 0xe9, the "port E9 hack": each byte written is printed on Xen's console (arch-x86/xen.h). */
export const XEN_HVM_DEBUGCONS_IOPORT = 0xe9;

/** XenStore message types (io/xs_wire.h enum xsd_sockmsg_type). */
export const XS = {
  CONTROL: 0, DIRECTORY: 1, READ: 2, GET_PERMS: 3, WATCH: 4, UNWATCH: 5, TRANSACTION_START: 6,
  TRANSACTION_END: 7, INTRODUCE: 8, RELEASE: 9, GET_DOMAIN_PATH: 10, WRITE: 11, MKDIR: 12, RM: 13,
  SET_PERMS: 14, WATCH_EVENT: 15, ERROR: 16, IS_DOMAIN_INTRODUCED: 17, RESUME: 18, SET_TARGET: 19,
  RESET_WATCHES: 21, DIRECTORY_PART: 22, INVALID: 0xffff,
} as const;
export const XS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(XS).map(([k, v]) => [v, k]));
/** io/xs_wire.h */
export const XENSTORE_PAYLOAD_MAX = 4096, XENSTORE_RING_SIZE = 1024;
export const XENSTORE_ABS_PATH_MAX = 3072, XENSTORE_REL_PATH_MAX = 2048;

/** Console ring sizes (io/console.h: in[1024], out[2048]). */
export const XENCONS_IN_SIZE = 1024, XENCONS_OUT_SIZE = 2048;

/** domctl/sysctl (domctl.h, sysctl.h) — the ABI version our headers define. */
export const XEN_DOMCTL_INTERFACE_VERSION = 0x15, XEN_SYSCTL_INTERFACE_VERSION = 0x15;
export const XEN_DOMCTL = { createdomain: 1, destroydomain: 2, pausedomain: 3, unpausedomain: 4, getdomaininfo: 5, max_mem: 11, max_vcpus: 15, scheduler_op: 16 } as const;
export const XEN_DOMCTL_SCHEDOP_putinfo = 0, XEN_DOMCTL_SCHEDOP_getinfo = 1;
export const XEN_SYSCTL = { readconsole: 1, physinfo: 3, sched_id: 4, getdomaininfolist: 6 } as const;
/** domctl.h XEN_DOMINF_* bit numbers. */
export const DOMINF = { dying: 0, hvm_guest: 1, shutdown: 2, paused: 3, blocked: 4, running: 5, debugged: 6, xs_domain: 7, hap: 8 } as const;
export const XEN_DOMINF_shutdownshift = 16;
/** sysctl.h XEN_SCHEDULER_CREDIT. */
export const XEN_SCHEDULER_CREDIT = 5;

/**
 * Struct layouts (x86-64) the model reads or writes in guest memory: byte offsets of fields and the
 * struct size, keyed by the C name. tests/xen/layout.test.ts checks every entry with offsetof/sizeof.
 */
export const LAYOUT = {
  vcpu_time_info: { size: 32, header: "xen/xen.h", f: { version: 0, tsc_timestamp: 8, system_time: 16, tsc_to_system_mul: 24, tsc_shift: 28, flags: 29 } },
  vcpu_info: { size: 64, header: "xen/xen.h", f: { evtchn_upcall_pending: 0, evtchn_upcall_mask: 1, evtchn_pending_sel: 8, arch: 16, time: 32 } },
  shared_info: { size: 3136, header: "xen/xen.h", f: { vcpu_info: 0, evtchn_pending: 2048, evtchn_mask: 2560, wc_version: 3072, wc_sec: 3076, wc_nsec: 3080, wc_sec_hi: 3084, arch: 3088 } },
  hvm_start_info: { size: 56, header: "xen/arch-x86/hvm/start_info.h", f: { magic: 0, version: 4, flags: 8, nr_modules: 12, modlist_paddr: 16, cmdline_paddr: 24, rsdp_paddr: 32, memmap_paddr: 40, memmap_entries: 48 } },
  hvm_modlist_entry: { size: 32, header: "xen/arch-x86/hvm/start_info.h", f: { paddr: 0, size: 8, cmdline_paddr: 16, reserved: 24 } },
  hvm_memmap_table_entry: { size: 24, header: "xen/arch-x86/hvm/start_info.h", f: { addr: 0, size: 8, type: 16, reserved: 20 } },
  xen_memory_reservation: { size: 32, header: "xen/memory.h", f: { extent_start: 0, nr_extents: 8, extent_order: 16, mem_flags: 20, domid: 24 } },
  xen_add_to_physmap: { size: 24, header: "xen/memory.h", f: { domid: 0, size: 2, space: 4, idx: 8, gpfn: 16 } },
  xen_memory_map: { size: 16, header: "xen/memory.h", f: { nr_entries: 0, buffer: 8 } },
  sched_shutdown: { size: 4, header: "xen/sched.h", f: { reason: 0 } },
  sched_poll: { size: 24, header: "xen/sched.h", f: { ports: 0, nr_ports: 8, timeout: 16 } },
  evtchn_alloc_unbound: { size: 8, header: "xen/event_channel.h", f: { dom: 0, remote_dom: 2, port: 4 } },
  evtchn_bind_interdomain: { size: 12, header: "xen/event_channel.h", f: { remote_dom: 0, remote_port: 4, local_port: 8 } },
  evtchn_bind_virq: { size: 12, header: "xen/event_channel.h", f: { virq: 0, vcpu: 4, port: 8 } },
  evtchn_bind_ipi: { size: 8, header: "xen/event_channel.h", f: { vcpu: 0, port: 4 } },
  evtchn_close: { size: 4, header: "xen/event_channel.h", f: { port: 0 } },
  evtchn_send: { size: 4, header: "xen/event_channel.h", f: { port: 0 } },
  evtchn_unmask: { size: 4, header: "xen/event_channel.h", f: { port: 0 } },
  evtchn_status: { size: 24, header: "xen/event_channel.h", f: { dom: 0, port: 4, status: 8, vcpu: 12, u: 16 } },
  grant_entry_v1: { size: 8, header: "xen/grant_table.h", f: { flags: 0, domid: 2, frame: 4 } },
  gnttab_setup_table: { size: 24, header: "xen/grant_table.h", f: { dom: 0, nr_frames: 4, status: 8, frame_list: 16 } },
  gnttab_query_size: { size: 16, header: "xen/grant_table.h", f: { dom: 0, nr_frames: 4, max_nr_frames: 8, status: 12 } },
  gnttab_map_grant_ref: { size: 32, header: "xen/grant_table.h", f: { host_addr: 0, flags: 8, ref: 12, dom: 16, status: 18, handle: 20, dev_bus_addr: 24 } },
  gnttab_unmap_grant_ref: { size: 24, header: "xen/grant_table.h", f: { host_addr: 0, dev_bus_addr: 8, handle: 16, status: 20 } },
  gnttab_copy: { size: 40, header: "xen/grant_table.h", f: { "source.u": 0, "source.domid": 8, "source.offset": 10, "dest.u": 16, "dest.domid": 24, "dest.offset": 26, len: 32, flags: 34, status: 36 } },
  vcpu_runstate_info: { size: 48, header: "xen/vcpu.h", f: { state: 0, state_entry_time: 8, time: 16 } },
  vcpu_set_singleshot_timer: { size: 16, header: "xen/vcpu.h", f: { timeout_abs_ns: 0, flags: 8 } },
  vcpu_set_periodic_timer: { size: 8, header: "xen/vcpu.h", f: { period_ns: 0 } },
  xen_hvm_param: { size: 16, header: "xen/hvm/hvm_op.h", f: { domid: 0, index: 4, value: 8 } },
  multicall_entry: { size: 64, header: "xen/xen.h", f: { op: 0, result: 8, args: 16 } },
  xencons_interface: { size: 3088, header: "xen/io/console.h", f: { in: 0, out: 1024, in_cons: 3072, in_prod: 3076, out_cons: 3080, out_prod: 3084 } },
  xenstore_domain_interface: { size: 2076, header: "xen/io/xs_wire.h", f: { req: 0, rsp: 1024, req_cons: 2048, req_prod: 2052, rsp_cons: 2056, rsp_prod: 2060, server_features: 2064, connection: 2068, error: 2072 } },
  xsd_sockmsg: { size: 16, header: "xen/io/xs_wire.h", f: { type: 0, req_id: 4, tx_id: 8, len: 12 } },
  vcpu_hvm_context: { size: 128, header: "xen/hvm/hvm_vcpu.h", f: { mode: 0, "cpu_regs.x86_64.rax": 8, "cpu_regs.x86_64.rsp": 40, "cpu_regs.x86_64.rsi": 56, "cpu_regs.x86_64.rdi": 64, "cpu_regs.x86_64.rip": 72, "cpu_regs.x86_64.rflags": 80, "cpu_regs.x86_64.cr0": 88, "cpu_regs.x86_64.cr3": 96, "cpu_regs.x86_64.cr4": 104, "cpu_regs.x86_64.efer": 112 } },
  xen_domctl: { size: 144, header: "xen/domctl.h", f: { cmd: 0, interface_version: 4, domain: 8, u: 16 } },
  xen_domctl_getdomaininfo: { size: 112, header: "xen/domctl.h", f: { domain: 0, flags: 4, tot_pages: 8, max_pages: 16, outstanding_pages: 24, shr_pages: 32, paged_pages: 40, shared_info_frame: 48, cpu_time: 56, nr_online_vcpus: 64, max_vcpu_id: 68, ssidref: 72, handle: 76, cpupool: 92 } },
  xen_domctl_scheduler_op: { size: 24, header: "xen/domctl.h", f: { sched_id: 0, cmd: 4, "u.credit.weight": 8, "u.credit.cap": 10 } },
  xen_sysctl: { size: 136, header: "xen/sysctl.h", f: { cmd: 0, interface_version: 4, u: 8 } },
  xen_sysctl_physinfo: { size: 112, header: "xen/sysctl.h", f: { threads_per_core: 0, cores_per_socket: 4, nr_cpus: 8, max_cpu_id: 12, nr_nodes: 16, max_node_id: 20, cpu_khz: 24, capabilities: 28, total_pages: 40, free_pages: 48, scrub_pages: 56, outstanding_pages: 64, max_mfn: 72, hw_cap: 80 } },
  xen_remove_from_physmap: { size: 16, header: "xen/memory.h", f: { domid: 0, gpfn: 8 } },
  sched_remote_shutdown: { size: 8, header: "xen/sched.h", f: { domain_id: 0, reason: 4 } },
  evtchn_bind_vcpu: { size: 8, header: "xen/event_channel.h", f: { port: 0, vcpu: 4 } },
  gnttab_get_version: { size: 8, header: "xen/grant_table.h", f: { dom: 0, version: 4 } },
  gnttab_set_version: { size: 4, header: "xen/grant_table.h", f: { version: 0 } },
  xen_sysctl_readconsole: { size: 24, header: "xen/sysctl.h", f: { clear: 0, incremental: 1, index: 4, buffer: 8, count: 16 } },
  xen_compile_info: { size: 144, header: "xen/version.h", f: { compiler: 0, compile_by: 64, compile_domain: 80, compile_date: 112 } },
  vcpu_register_vcpu_info: { size: 16, header: "xen/vcpu.h", f: { mfn: 0, offset: 8, rsvd: 12 } },
  xen_hvm_evtchn_upcall_vector: { size: 8, header: "xen/hvm/hvm_op.h", f: { vcpu: 0, vector: 4 } },
  xen_feature_info: { size: 8, header: "xen/version.h", f: { submap_idx: 0, submap: 4 } },
  mmu_update: { size: 16, header: "xen/xen.h", f: { ptr: 0, val: 8 } },
  mmuext_op: { size: 24, header: "xen/xen.h", f: { cmd: 0, arg1: 8, arg2: 16 } },
  start_info: { size: 1168, header: "xen/xen.h", f: { magic: 0, nr_pages: 32, shared_info: 40, flags: 48, store_mfn: 56, store_evtchn: 64, "console.domU.mfn": 72, "console.domU.evtchn": 80, pt_base: 88, nr_pt_frames: 96, mfn_list: 104, mod_start: 112, mod_len: 120, cmd_line: 128, first_p2m_pfn: 1152, nr_p2m_frames: 1160 } },
} as const;
export type LayoutName = keyof typeof LAYOUT;
/** Offset of a field, e.g. off("gnttab_map_grant_ref", "status"). */
export function off<S extends LayoutName>(s: S, field: keyof (typeof LAYOUT)[S]["f"]): number {
  return (LAYOUT[s].f as Record<string, number>)[field as string]!;
}

/**
 * Numeric constants checked against the headers by the layout test: C macro/enum name → value.
 */
export const CHECKED_CONSTANTS: Record<string, number> = {
  ...Object.fromEntries(Object.entries(HYPERVISOR).map(([k, v]) => [`__HYPERVISOR_${k}`, v])),
  ...Object.fromEntries(Object.entries(XENMEM).filter(([k]) => k !== "machphys_mfn_list").map(([k, v]) => [`XENMEM_${k}`, v])),
  ...Object.fromEntries(Object.entries(SCHEDOP).map(([k, v]) => [`SCHEDOP_${k}`, v])),
  ...Object.fromEntries(Object.entries(SHUTDOWN).map(([k, v]) => [`SHUTDOWN_${k}`, v])),
  ...Object.fromEntries(Object.entries(EVTCHNOP).map(([k, v]) => [`EVTCHNOP_${k}`, v])),
  ...Object.fromEntries(Object.entries(EVTCHNSTAT).map(([k, v]) => [`EVTCHNSTAT_${k}`, v])),
  ...Object.fromEntries(Object.entries(GNTTABOP).map(([k, v]) => [`GNTTABOP_${k}`, v])),
  ...Object.fromEntries(Object.entries(GNTST).map(([k, v]) => [`GNTST_${k}`, v])),
  ...Object.fromEntries(Object.entries(VCPUOP).map(([k, v]) => [`VCPUOP_${k}`, v])),
  ...Object.fromEntries(Object.entries(RUNSTATE).map(([k, v]) => [`RUNSTATE_${k}`, v])),
  ...Object.fromEntries(Object.entries(HVM_PARAM).map(([k, v]) => [`HVM_PARAM_${k}`, v])),
  ...Object.fromEntries(Object.entries(XEN_ELFNOTE).map(([k, v]) => [`XEN_ELFNOTE_${k}`, v])),
  ...Object.fromEntries(Object.entries(XENVER).map(([k, v]) => [`XENVER_${k}`, v])),
  ...Object.fromEntries(Object.entries(XENFEAT).map(([k, v]) => [`XENFEAT_${k}`, v])),
  ...Object.fromEntries(Object.entries(VIRQ).map(([k, v]) => [`VIRQ_${k}`, v])),
  ...Object.fromEntries(Object.entries(XS).filter(([k]) => k !== "INVALID").map(([k, v]) => [`XS_${k}`, v])),
  ...Object.fromEntries(Object.entries(XEN_ERRNO).map(([k, v]) => [`XEN_${k}`, v])),
  ...Object.fromEntries(Object.entries(XEN_DOMCTL).map(([k, v]) => [`XEN_DOMCTL_${k}`, v])),
  ...Object.fromEntries(Object.entries(XEN_SYSCTL).map(([k, v]) => [`XEN_SYSCTL_${k}`, v])),
  ...Object.fromEntries(Object.entries(DOMINF).map(([k, v]) => [`_XEN_DOMINF_${k}`, v])),
  DOMID_SELF, DOMID_IO, DOMID_XEN, DOMID_COW, DOMID_INVALID, DOMID_IDLE,
  CONSOLEIO_write, CONSOLEIO_read, XENMAPSPACE_shared_info, XENMAPSPACE_grant_table, XENMAPSPACE_gmfn,
  GTF_permit_access, GTF_readonly, GTF_reading, GTF_writing, GTF_sub_page, GNTMAP_host_map, GNTMAP_readonly,
  GNTMAP_device_map, GNTCOPY_source_gref, GNTCOPY_dest_gref, HVMOP_set_param, HVMOP_get_param, HVMOP_set_evtchn_upcall_vector,
  XEN_HVM_START_MAGIC_VALUE, XEN_HVM_DEBUGCONS_IOPORT, XEN_CPUID_FIRST_LEAF, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX,
  XEN_CPUID_SIGNATURE_EDX, XEN_DOMCTL_INTERFACE_VERSION, XEN_SYSCTL_INTERFACE_VERSION,
  XEN_SCHEDULER_CREDIT, XEN_DOMINF_shutdownshift, XEN_DOMCTL_SCHEDOP_putinfo, XEN_DOMCTL_SCHEDOP_getinfo, NR_VIRQS, VCPU_SSHOTTMR_future,
  GNTTAB_RESERVED_CONSOLE, GNTTAB_RESERVED_XENSTORE, GNTTAB_NR_RESERVED_ENTRIES,
  ...Object.fromEntries(Object.entries(MMUEXT).map(([k, v]) => [`MMUEXT_${k}`, v])),
  MMU_NORMAL_PT_UPDATE, MMU_MACHPHYS_UPDATE, MMU_PT_UPDATE_PRESERVE_AD, MMU_PT_UPDATE_NO_TRANSLATE,
  UVMF_NONE, UVMF_TLB_FLUSH, UVMF_INVLPG, UVMF_FLUSHTYPE_MASK, UVMF_LOCAL, UVMF_ALL, SIF_PRIVILEGED, SIF_INITDOMAIN,
  FLAT_KERNEL_CS64, FLAT_KERNEL_SS64, FLAT_KERNEL_DS64, MAX_GUEST_CMDLINE,
};
