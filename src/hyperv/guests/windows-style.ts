/**
 * A Windows-style child partition's first steps, as guest code (NASM syntax, 64-bit, loaded at
 * CHILD_LAYOUT.image by createChild): what Windows Server 2008's hvboot/winload and vmbus.sys do
 * first on Hyper-V, in their order:
 *   1. CPUID 0x40000000 ("Microsoft Hv"), 0x40000001 ("Hv#1"), 0x40000003 (privileges);
 *   2. HV_X64_MSR_GUEST_OS_ID with Microsoft's vendor id (TLFS §2.6: Windows NT 6.0 SP1 build 6001);
 *   3. HV_X64_MSR_HYPERCALL: the hypercall page, then HvGetPartitionId through it (TLFS §3.13);
 *   4. HV_X64_MSR_VP_INDEX; HV_X64_MSR_TIME_REF_COUNT; HV_X64_MSR_REFERENCE_TSC and the page's
 *      ReferenceTime = ((tsc * TscScale) >> 64) + TscOffset, read with the TscSequence retry
 *      loop (TLFS §12.7.2), between two counter reads;
 *   5. the SynIC: SIMP, SIEFP, SINT0 (synthetic timer, vector 0x31), SINT2 (VMBus, vector 0x30),
 *      SCONTROL (TLFS §11.8), with an IDT whose handlers copy the message, free the slot
 *      (MessageType = HvMessageTypeNone) and write EOM when MessagePending is set (TLFS §11.10.3);
 *   6. synthetic timer 0, one-shot, 100 µs ahead, to SINT0 (TLFS §12.4);
 *   7. vmbus.sys: HvPostMessage CHANNELMSG_INITIATE_CONTACT (VMBus 0.13, Windows Server 2008) and
 *      CHANNELMSG_REQUESTOFFERS on connection 1, receiving VERSION_RESPONSE, the offers and
 *      ALLOFFERS_DELIVERED in SINT2's slot;
 *   8. waits (sti; hlt) until both the offers and the timer arrived, then halts with IF clear.
 * Everything it learned is stored at WINDOWS_GUEST.results (layout WINDOWS_RESULTS) so a test or
 * a notebook reads what the guest saw, not what the host meant to give it.
 */
import { WINDOWS_SERVER_2008_GUEST_OS_ID } from "../guest-os-id";

/** Fixed guest-physical pages (identity mapped by createChild; below the image, above the stack). */
export const WINDOWS_GUEST = {
  hypercallPage: 0x81000,
  simp: 0x82000,
  siefp: 0x83000,
  input: 0x84000,
  output: 0x85000,
  tscPage: 0x86000,
  idt: 0x87000,
  results: 0x88000,
  vmbusVector: 0x30,
  timerVector: 0x31,
  /** Synthetic timer 0's one-shot deadline, in 100 ns units after the counter read before arming. */
  timerDelay: 1000,
  done: 0x600d,
} as const;

/** Byte offsets in the results block (u32 fields at 4-byte, u64 at 8-byte offsets). */
export const WINDOWS_RESULTS = {
  vendorEbx: 0, vendorEcx: 4, vendorEdx: 8, interfaceEax: 12, privilegesLow: 16, privilegesHigh: 20,
  guestOsId: 24, hypercallMsr: 32, getPartitionIdStatus: 40, partitionId: 48, vpIndex: 56,
  refCount0: 64, tscSequence: 72, tscTime1: 80, refCount1: 88, tscTime2: 96,
  versionSupported: 104, vmbusInterrupts: 108, eoms: 112, lastChannelMessage: 116, offers: 120, allOffersDelivered: 124,
  postInitiateStatus: 128, postRequestOffersStatus: 136,
  timerExpiration: 144, timerDelivery: 152, refCountInTimerIsr: 160, timerInterrupts: 168, timerCount: 176,
  done: 184, maxLeaf: 188,
  size: 192,
} as const;

const R = (f: keyof typeof WINDOWS_RESULTS) => `${WINDOWS_GUEST.results} + ${WINDOWS_RESULTS[f]}`;
const hex = (n: number | bigint) => `0x${n.toString(16)}`;
const G = WINDOWS_GUEST;

/** HVCALL_* codes and MSRs used below are the TLFS' (src/abi/hyperv-tlfs.ts names them). */
export const WINDOWS_STYLE_GUEST_ASM = `
; ---- a Windows-style child: discovery, identity, hypercalls, time, SynIC, VMBus contact ----
start:
    lgdt [rel gdtr]                 ; our own GDT: interrupt delivery loads CS 0x08 from it
    lea rax, [rel isr_vmbus]
    mov rdi, ${hex(G.idt)} + ${G.vmbusVector}*16
    call set_gate
    lea rax, [rel isr_timer]
    mov rdi, ${hex(G.idt)} + ${G.timerVector}*16
    call set_gate
    lidt [rel idtr]

    mov eax, 0x40000000             ; HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS: "Microsoft Hv"
    cpuid
    mov [${R("maxLeaf")}], eax
    mov [${R("vendorEbx")}], ebx
    mov [${R("vendorEcx")}], ecx
    mov [${R("vendorEdx")}], edx
    mov eax, 0x40000001             ; HYPERV_CPUID_INTERFACE: "Hv#1"
    cpuid
    mov [${R("interfaceEax")}], eax
    mov eax, 0x40000003             ; HYPERV_CPUID_FEATURES: the partition privilege mask
    cpuid
    mov [${R("privilegesLow")}], eax
    mov [${R("privilegesHigh")}], ebx

    mov ecx, 0x40000000             ; HV_X64_MSR_GUEST_OS_ID: Microsoft, Windows NT 6.0 SP1 build 6001
    mov eax, ${hex(WINDOWS_SERVER_2008_GUEST_OS_ID & 0xffffffffn)}
    mov edx, ${hex(WINDOWS_SERVER_2008_GUEST_OS_ID >> 32n)}
    wrmsr
    rdmsr
    mov [${R("guestOsId")}], eax
    mov [${R("guestOsId")} + 4], edx

    mov ecx, 0x40000001             ; HV_X64_MSR_HYPERCALL: enable (bit 0), GPFN in 63:12
    mov eax, ${hex(G.hypercallPage)} + 1
    xor edx, edx
    wrmsr
    rdmsr
    mov [${R("hypercallMsr")}], eax
    mov [${R("hypercallMsr")} + 4], edx

    mov ecx, 0x0046                 ; HvGetPartitionId (HVCALL_GET_PARTITION_ID): output = partition id
    xor edx, edx
    mov r8d, ${hex(G.output)}
    mov rax, ${hex(G.hypercallPage)}
    call rax
    mov [${R("getPartitionIdStatus")}], rax
    mov rax, [${hex(G.output)}]
    mov [${R("partitionId")}], rax

    mov ecx, 0x40000002             ; HV_X64_MSR_VP_INDEX
    rdmsr
    mov [${R("vpIndex")}], eax

    mov ecx, 0x40000020             ; HV_X64_MSR_TIME_REF_COUNT (100 ns units)
    rdmsr
    mov [${R("refCount0")}], eax
    mov [${R("refCount0")} + 4], edx

    mov ecx, 0x40000021             ; HV_X64_MSR_REFERENCE_TSC: enable (bit 0), GPFN in 63:12
    mov eax, ${hex(G.tscPage)} + 1
    xor edx, edx
    wrmsr
    call read_tsc_page
    mov [${R("tscTime1")}], rax
    mov ecx, 0x40000020
    rdmsr
    mov [${R("refCount1")}], eax
    mov [${R("refCount1")} + 4], edx
    call read_tsc_page
    mov [${R("tscTime2")}], rax
    mov eax, [${hex(G.tscPage)}]
    mov [${R("tscSequence")}], eax

    mov ecx, 0x40000083             ; HV_X64_MSR_SIMP: the message page
    mov eax, ${hex(G.simp)} + 1
    xor edx, edx
    wrmsr
    mov ecx, 0x40000082             ; HV_X64_MSR_SIEFP: the event flags page
    mov eax, ${hex(G.siefp)} + 1
    wrmsr
    mov ecx, 0x40000090             ; HV_X64_MSR_SINT0: synthetic timer messages, unmasked
    mov eax, ${G.timerVector}
    wrmsr
    mov ecx, 0x40000092             ; HV_X64_MSR_SINT2: VMBus messages (VMBUS_MESSAGE_SINT), unmasked
    mov eax, ${G.vmbusVector}
    wrmsr
    mov ecx, 0x40000080             ; HV_X64_MSR_SCONTROL: enable the SynIC
    mov eax, 1
    wrmsr
    sti

    mov ecx, 0x40000020             ; arm synthetic timer 0: one shot at now + timerDelay
    rdmsr
    shl rdx, 32
    or rax, rdx
    add rax, ${G.timerDelay}
    mov [${R("timerCount")}], rax
    mov rdx, rax
    shr rdx, 32
    mov ecx, 0x400000b1             ; HV_X64_MSR_STIMER0_COUNT (an absolute reference time)
    wrmsr
    mov ecx, 0x400000b0             ; HV_X64_MSR_STIMER0_CONFIG: enable, one-shot, SINTx = 0
    mov eax, 1
    xor edx, edx
    wrmsr

    ; vmbus.sys: CHANNELMSG_INITIATE_CONTACT (hyperv.h vmbus_channel_initiate_contact)
    mov rdi, ${hex(G.input)}
    mov dword [rdi], 1              ; hv_input_post_message.connectionid: VMBUS_MESSAGE_CONNECTION_ID
    mov dword [rdi + 4], 0
    mov dword [rdi + 8], 1          ; message_type 1 (what vmbus_post_msg passes)
    mov dword [rdi + 12], 40        ; payload_size = sizeof(vmbus_channel_initiate_contact)
    mov dword [rdi + 16], 14        ; CHANNELMSG_INITIATE_CONTACT
    mov dword [rdi + 20], 0
    mov dword [rdi + 24], 13        ; vmbus_version_requested: VERSION_WS2008 (0 << 16 | 13)
    mov dword [rdi + 28], 0         ; target_vcpu
    mov qword [rdi + 32], 0         ; interrupt_page
    mov qword [rdi + 40], 0         ; monitor_page1
    mov qword [rdi + 48], 0         ; monitor_page2
    call post_message
    mov [${R("postInitiateStatus")}], rax

    mov rdi, ${hex(G.input)}        ; CHANNELMSG_REQUESTOFFERS
    mov dword [rdi + 12], 8
    mov dword [rdi + 16], 3
    call post_message
    mov [${R("postRequestOffersStatus")}], rax

idle:
    sti
    hlt
    cmp dword [${R("allOffersDelivered")}], 0
    je idle
    cmp dword [${R("timerInterrupts")}], 0
    je idle
    cli
    mov dword [${R("done")}], ${hex(G.done)}
    hlt
    jmp idle

; HvPostMessage (HVCALL_POST_MESSAGE 0x5c) with the input page at G.input; RAX = hv_status
post_message:
    mov ecx, 0x005c
    mov edx, ${hex(G.input)}
    xor r8d, r8d
    mov rax, ${hex(G.hypercallPage)}
    call rax
    ret

; ReferenceTime from the reference TSC page (TLFS 12.7.2): retry while TscSequence changes
read_tsc_page:
    push rbx
.retry:
    mov ebx, [${hex(G.tscPage)}]    ; TscSequence (0: the page is not valid; use the MSR)
    test ebx, ebx
    jz .fallback
    rdtsc
    shl rdx, 32
    or rax, rdx
    mul qword [${hex(G.tscPage)} + 8]   ; TscScale: rdx = (tsc * scale) >> 64
    mov rax, rdx
    add rax, [${hex(G.tscPage)} + 16]   ; + TscOffset
    cmp ebx, [${hex(G.tscPage)}]
    jne .retry
    pop rbx
    ret
.fallback:
    mov ecx, 0x40000020
    rdmsr
    shl rdx, 32
    or rax, rdx
    pop rbx
    ret

; an interrupt gate (type 0xe, present, DPL 0) to RAX at descriptor RDI
set_gate:
    mov [rdi], ax
    mov word [rdi + 2], 0x08
    mov word [rdi + 4], 0x8e00
    shr rax, 16
    mov [rdi + 6], ax
    shr rax, 16
    mov [rdi + 8], eax
    mov dword [rdi + 12], 0
    ret

; SINT2: a VMBus channel message in slot 2 of the SIMP (hv_message at +2*256)
isr_vmbus:
    push rax
    push rcx
    push rdx
    push rsi
    mov rsi, ${hex(G.simp)} + 2*256
    cmp dword [rsi], 0              ; HvMessageTypeNone: nothing (a spurious edge)
    je .out
    inc dword [${R("vmbusInterrupts")}]
    mov eax, [rsi + 16]             ; vmbus_channel_message_header.msgtype
    mov [${R("lastChannelMessage")}], eax
    cmp eax, 15                     ; CHANNELMSG_VERSION_RESPONSE
    jne .not_version
    movzx ecx, byte [rsi + 16 + 8]  ; version_supported
    mov [${R("versionSupported")}], ecx
.not_version:
    cmp eax, 1                      ; CHANNELMSG_OFFERCHANNEL
    jne .not_offer
    inc dword [${R("offers")}]
.not_offer:
    cmp eax, 4                      ; CHANNELMSG_ALLOFFERS_DELIVERED
    jne .free
    mov dword [${R("allOffersDelivered")}], 1
.free:
    call free_slot
.out:
    pop rsi
    pop rdx
    pop rcx
    pop rax
    iretq

; SINT0: HVMSG_TIMER_EXPIRED (hv_timer_message_payload: timer_index, expiration_time, delivery_time)
isr_timer:
    push rax
    push rcx
    push rdx
    push rsi
    mov rsi, ${hex(G.simp)}
    cmp dword [rsi], 0x80000010     ; HVMSG_TIMER_EXPIRED
    jne .out
    inc dword [${R("timerInterrupts")}]
    mov rax, [rsi + 16 + 8]
    mov [${R("timerExpiration")}], rax
    mov rax, [rsi + 16 + 16]
    mov [${R("timerDelivery")}], rax
    mov ecx, 0x40000020
    rdmsr
    mov [${R("refCountInTimerIsr")}], eax
    mov [${R("refCountInTimerIsr")} + 4], edx
    call free_slot
.out:
    pop rsi
    pop rdx
    pop rcx
    pop rax
    iretq

; frees the slot at RSI (MessageType = None) and writes EOM if MessagePending was set
free_slot:
    mov dl, [rsi + 5]               ; hv_message_header.message_flags
    mov dword [rsi], 0
    test dl, 1                      ; msg_pending
    jz .done
    mov ecx, 0x40000084             ; HV_X64_MSR_EOM
    xor eax, eax
    xor edx, edx
    wrmsr
    inc dword [${R("eoms")}]
.done:
    ret

gdt: dq 0, 0x00af9b000000ffff, 0x00cf93000000ffff
gdtr: dw 3*8 - 1
    dq gdt
idtr: dw 256*16 - 1
    dq ${hex(G.idt)}
`;
