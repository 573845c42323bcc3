/**
 * The same Xen-enabled guest binary (nasm) on the Xen host and on the Longhorn host with the
 * hypercall adapter: it scans CPUID in 0x100 steps for "XenVMMXenVMM" (as Mini-OS and Linux do),
 * installs the hypercall page through the MSR the leaves name, writes to the console, asks the
 * version and shuts down. The console transcripts must be byte-identical.
 */
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { LAB } from "../../src/xen/builder";
import { HypervHost, CHILD_LAYOUT, HVCALL } from "../../src/hyperv";
import { ENABLE_HYPERCALLS, nasm } from "./helpers";

const GUEST = `
  mov esi, 0x40000000
scan:
  mov eax, esi
  cpuid
  cmp ebx, 0x566e6558
  jne next
  cmp ecx, 0x65584d4d
  jne next
  cmp edx, 0x4d4d566e
  je found
next:
  add esi, 0x100
  cmp esi, 0x40010000
  jb scan
  hlt
found:
  mov [0x5000], esi          ; where the leaves were
  lea eax, [esi+2]
  cpuid
  mov [0x5004], ebx          ; the hypercall MSR they name
  mov ecx, ebx
  mov eax, 0x4000            ; hypercall page at 0x4000
  xor edx, edx
  wrmsr
  xor edi, edi               ; CONSOLEIO_write
  mov esi, hello_len
  mov rdx, hello
  call 0x4000 + 18*32
  xor edi, edi               ; XENVER_version
  xor esi, esi
  call 0x4000 + 17*32
  mov [0x5008], eax
  mov ebx, eax               ; print "xen N.M\\n" (one digit each side of the dot is enough here)
  shr ebx, 16
  add bl, '0'
  mov [ver+4], bl
  movzx ebx, ax
  mov ecx, 10
  mov eax, ebx
  xor edx, edx
  div ecx
  add al, '0'
  add dl, '0'
  mov [ver+6], al
  mov [ver+7], dl
  xor edi, edi
  mov esi, ver_len
  mov rdx, ver
  call 0x4000 + 18*32
  ; XenStore: read "name" through the ring the HVM params name (STORE_PFN, STORE_EVTCHN)
  mov word [0x5500], 0x7ff0
  mov dword [0x5504], 1
  mov edi, 1                 ; HVMOP_get_param
  mov rsi, 0x5500
  call 0x4000 + 34*32
  mov rbx, [0x5508]
  shl rbx, 12
  mov dword [0x5504], 2
  mov edi, 1
  mov rsi, 0x5500
  call 0x4000 + 34*32
  mov eax, [0x5508]
  mov [0x5600], eax
  mov dword [rbx], 2         ; xsd_sockmsg { XS_READ, req_id 7, tx_id 0, len 5 } "name"
  mov dword [rbx+4], 7
  mov dword [rbx+8], 0
  mov dword [rbx+12], 5
  mov dword [rbx+16], 'name'
  mov byte [rbx+20], 0
  mov dword [rbx+2052], 21   ; req_prod
  mov edi, 4                 ; EVTCHNOP_send on the store port
  mov rsi, 0x5600
  call 0x4000 + 32*32
xswait:
  cmp dword [rbx+2060], 0    ; rsp_prod
  jne xsgot
  pause
  jmp xswait
xsgot:
  mov ecx, [rbx+1024+12]     ; reply length, payload after the 16-byte header
  mov [0x500c], ecx
  lea rsi, [rbx+1024+16]
  mov rdi, xsval
  rep movsb
  mov byte [rdi], 10
  xor edi, edi
  mov esi, [0x500c]
  add esi, xsval - xsline + 1
  mov rdx, xsline
  call 0x4000 + 18*32
  mov edi, 2                 ; SCHEDOP_shutdown
  mov rsi, reason
  call 0x4000 + 29*32
  cli
  hlt
hello: db "Hello from a Xen-enabled guest", 10
hello_len equ $ - hello
ver: db "xen ?.??", 10
ver_len equ $ - ver
reason: dd 0                 ; SHUTDOWN_poweroff
xsline: db "xenstore name="
xsval: times 64 db 0
`;

describe("Xen hypercall adapter on the Longhorn host", () => {
  it("the same binary prints the same console on both hosts; the calls are translated", () => {
    const code = nasm(GUEST);
    expect(LAB.code).toBe(CHILD_LAYOUT.image); // one binary, one load address

    const xen = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = xen.createLabDomain("xen-guest", code, { extra: `on_poweroff = "preserve"` });
    xen.run({ until: () => d.consoleLog.includes("xenstore"), maxInstructions: 1_000_000 });

    const hv = new HypervHost();
    const p = hv.createChild({ name: "xen-guest", memoryMiB: 2, code, xenAdapter: true });
    hv.run({ maxInstructions: 1_000_000 });

    expect(d.consoleLog).toBe("Hello from a Xen-enabled guest\nxen 4.17\nxenstore name=xen-guest\n");
    expect(p.console).toBe(d.consoleLog);
    // Where the guest found Xen: 0x40000000 on Xen, behind Hyper-V at 0x40000100 on Longhorn.
    expect(p.memory.u32(0x5000)).toBe(0x40000100);
    expect(p.memory.u32(0x5004)).toBe(0x40000200);
    expect(d.guest.u32(0x5000)).toBe(0x40000000);
    // Shutdown suspended the VP with the reason.
    expect(p.shutdownReason).toBe(0);
    expect(p.vp(0).state).toBe("suspended");
    // Each console_io became an HvPostMessage, seen in the host's hypercall trace.
    const a = p.xenAdapter!;
    expect(a.counts.get("console_io")).toEqual({ calls: 3, hv: 3 });
    expect(a.xenstoreRequests).toBe(1);
    expect(a.counts.get("xen_version")).toEqual({ calls: 1, hv: 0 });
    expect(hv.trace.filter((t) => t.partition === p.id && t.code === HVCALL.POST_MESSAGE && t.status === 0)).toHaveLength(3);
    expect(hv.trace.filter((t) => t.partition === p.id && t.code === HVCALL.SIGNAL_EVENT && t.status === 0)).toHaveLength(1);
    expect(a.toMimeBundle()["text/plain"]).toContain("HvPostMessage");
  });

  it("Hyper-V calls still work next to Xen ones (the page tags them with EAX bit 31)", () => {
    const hv = new HypervHost();
    const p = hv.createChild({ name: "both", memoryMiB: 2, xenAdapter: true, code: nasm(`${ENABLE_HYPERCALLS}
      mov ecx, 0x46
      xor edx, edx
      mov r8d, 0x6000
      call 0x3000
      mov [0x5000], rax
      mov eax, 0x40000000
      cpuid
      mov [0x5008], ebx
      cli
      hlt`) });
    hv.run({ maxInstructions: 100_000 });
    expect(p.memory.u64(0x5000)).toBe(0n);
    expect(p.memory.u64(0x6000)).toBe(BigInt(p.id));
    expect(p.memory.u32(0x5008)).toBe(0x7263694d); // "Micr": Hyper-V still owns 0x40000000
    expect([...p.memory.read(0x3000, 9)]).toEqual([0x0d, 0, 0, 0, 0x80, 0x0f, 0x01, 0xc1, 0xc3]);
  });
});

describe("Xen event channels over SynIC connections", () => {
  const PRELUDE = `
    mov esi, 0x40000000
  scan:
    mov eax, esi
    cpuid
    cmp ebx, 0x566e6558
    je found
    add esi, 0x100
    jmp scan
  found:
    lea eax, [esi+2]
    cpuid
    mov ecx, ebx
    mov eax, 0x4000
    xor edx, edx
    wrmsr
    mov word [0x5200], 0x7ff0    ; xen_add_to_physmap: DOMID_SELF, space shared_info, idx 0, gpfn 9
    mov dword [0x5204], 0
    mov qword [0x5208], 0
    mov qword [0x5210], 9
    mov edi, 7                   ; XENMEM_add_to_physmap
    mov rsi, 0x5200
    call 0x4000 + 12*32
  `;
  // Waits until the pending bit of the port in [addr] is set in shared_info, then clears it.
  const WAIT = (addr: string) => `
  .w:
    mov ecx, [${addr}]
    mov al, 1
    shl al, cl
    test [0x9000 + 2048], al
    jnz .got
    pause
    jmp .w
  .got:
    not al
    and [0x9000 + 2048], al`;
  const SAY = (label: string, text: string) => `
    xor edi, edi
    mov esi, ${label}_len
    mov rdx, ${label}
    call 0x4000 + 18*32
    jmp ${label}_end
  ${label}: db "${text}", 10
  ${label}_len equ $ - ${label}
  ${label}_end:`;

  it("alloc_unbound / bind_interdomain / send become ports, connections and HvSignalEvent; events land in shared_info", () => {
    const ping = nasm(`${PRELUDE}
      mov word [0x5500], 0x7ff0    ; xen_hvm_param { domid self, index CALLBACK_IRQ (0), value 2 << 56 | 0xf3 }
      mov dword [0x5504], 0
      mov qword [0x5508], 0xf3
      mov byte [0x550f], 2
      mov edi, 0                   ; HVMOP_set_param
      mov rsi, 0x5500
      call 0x4000 + 34*32
      mov word [0x5300], 0x7ff0    ; alloc_unbound { dom = self, remote_dom = [0x5ff0] }
      mov ax, [0x5ff0]
      mov [0x5302], ax
      mov edi, 6
      mov rsi, 0x5300
      call 0x4000 + 32*32
      mov eax, [0x5304]
      mov [0x5100], eax
      ${WAIT("0x5100")}
      mov eax, [0x5100]            ; send back on the same port
      mov [0x5400], eax
      mov edi, 4
      mov rsi, 0x5400
      call 0x4000 + 32*32
      ${SAY("m1", "ping: got an event, sent one back")}
      cli
    .h: hlt
      jmp .h`);
    const pong = nasm(`${PRELUDE}
      mov ax, [0x5ff0]             ; bind_interdomain { remote_dom = [0x5ff0], remote_port = [0x5ff4] }
      mov [0x5300], ax
      mov eax, [0x5ff4]
      mov [0x5304], eax
      mov edi, 0
      mov rsi, 0x5300
      call 0x4000 + 32*32
      mov eax, [0x5308]
      mov [0x5108], eax
      mov ecx, eax                 ; Xen marks a fresh binding pending: clear it (as Mini-OS does)
      mov dl, 1
      shl dl, cl
      not dl
      and [0x9000 + 2048], dl
      mov [0x5400], eax            ; send on the local port
      mov edi, 4
      mov rsi, 0x5400
      call 0x4000 + 32*32
      ${WAIT("0x5108")}
      ${SAY("m2", "pong: got the reply")}
      cli
    .h: hlt
      jmp .h`);
    const h = new HypervHost();
    const a = h.createChild({ name: "ping", memoryMiB: 2, code: ping, xenAdapter: true, paused: true });
    const b = h.createChild({ name: "pong", memoryMiB: 2, code: pong, xenAdapter: true, paused: true });
    // Peers by Xen domain id (the root is domain 0).
    a.memory.setU16(0x5ff0, b.xenAdapter!.domid);
    b.memory.setU16(0x5ff0, a.xenAdapter!.domid);
    expect([a.xenAdapter!.domid, b.xenAdapter!.domid]).toEqual([a.id - h.root.id, b.id - h.root.id]);
    h.setVpRegisters(a.id, 0, [[0, 0n, 0n]]);
    h.run({ until: () => a.memory.u32(0x5100) !== 0, maxInstructions: 1_000_000 });
    const port = a.memory.u32(0x5100);
    expect(port).toBe(2); // port 1 is the XenStore connection, as xl sets it up
    b.memory.setU32(0x5ff4, port);
    h.setVpRegisters(b.id, 0, [[0, 0n, 0n]]);
    h.run({ until: () => b.console.includes("reply") && a.console.includes("back"), maxInstructions: 5_000_000 });
    expect(a.console).toBe("ping: got an event, sent one back\n");
    expect(b.console).toBe("pong: got the reply\n");
    // Both directions went through HvSignalEvent on the peer's connection.
    const signals = h.trace.filter((t) => t.code === HVCALL.SIGNAL_EVENT && t.status === 0);
    expect(signals.map((t) => t.partition)).toEqual([b.id, a.id]);
    expect(a.xenAdapter!.counts.get("event_channel_op")).toEqual({ calls: 2, hv: 1 }); // alloc_unbound is the root's work; send is HvSignalEvent
    expect(b.xenAdapter!.counts.get("event_channel_op")).toEqual({ calls: 2, hv: 1 });
    // shared_info is a root page mapped over gfn 9; the pending bits were cleared by the guests.
    expect(a.memory.u8(0x9000 + 2048)).toBe(0);
    expect(a.xenAdapter!.eventsDelivered).toBe(1);
    expect(a.vp(0).cpu.pendingInterrupts).toContain(0xf3); // the upcall vector, raised (interrupts off)
    expect(a.xenAdapter!.toMimeBundle()["text/plain"]).toMatch(/event_channel_op\(send\) = 0 -> HvSignalEvent/);
  });
});
