; A firmware image (64 KiB at F0000) that walks the paging modes of SDM Vol. 3A chapter 4 and
; takes page faults in each: 32-bit paging (4 KiB and 4 MiB pages, CR4.PSE off and on, CR0.WP,
; user and supervisor pages at CPL 0 and 3), PAE paging (2 MiB pages, reserved bits, XD with
; EFER.NXE off and on), then long mode, and back to PAE paging through compatibility mode with
; paging off in between (SDM Vol. 3A §9.8.5.4). Every fault handler writes the vector, error code,
; CR2 and faulting EIP; probes write the values they read and the page-table entries afterwards
; (A/D bits). Records on the debug port 0xe9: 'M' id (a probe starts), 'F' vector ec cr2 eip
; (a fault), 'V' value; 32-bit values little-endian. `out 0xf4` ends the run.
; The same bytes run as QEMU's BIOS (TCG) and on XenLab's vCPU (tests/machine/paging-modes.test.ts).
bits 16
org 0
%define LIN(x) (0xF0000 + (x))
%define GDT_AT 0x0800
%define IDT_AT 0x1000
%define TSS_AT 0x3000
%define RECOVER_AT 0x0600          ; where the fault handler resumes
%define PD32 0x10000               ; 32-bit paging: page directory, PT0 (identity 0-4 MiB), PT1, PT2
%define PT0 0x11000
%define PT1 0x12000
%define PT2 0x13000
%define PDPT 0x14000               ; PAE: PDPT, PD, PT0 (identity 0-2 MiB), PT1 (0x600000-)
%define PAE_PD 0x15000
%define PAE_PT0 0x16000
%define PAE_PT1 0x17000
%define PML4 0x20000               ; long mode: PML4, PDPT, PD (2 MiB identity 0-8 MiB)

%include "pm32-records.mac"
%include "pm32-enter.mac"

start:
  PM32_ENTER 0x08, pm32

bits 32
pm32:
  mov ax, 0x10
  mov ss, ax
  mov esp, 0x9000
  mov ax, 0x23                     ; DPL-3 flat data: stays valid when the CPU returns to ring 3
  mov ds, ax
  mov es, ax
  ; IDT: #GP, #PF (interrupt gates, DPL 0) and int 0x80 (DPL 3) back to ring 0
  mov edi, IDT_AT
  mov ecx, 512
  xor eax, eax
  rep stosd
  mov eax, LIN(gp_handler)
  mov ebx, 13
  mov edx, 0x8e00
  call set_gate
  mov eax, LIN(pf_handler)
  mov ebx, 14
  call set_gate
  mov eax, LIN(ring0_again)
  mov ebx, 0x80
  mov edx, 0xee00
  call set_gate
  lidt [LIN(idtr)]
  mov dword [TSS_AT + 4], 0x8800   ; ESP0
  mov dword [TSS_AT + 8], 0x10     ; SS0
  mov ax, 0x30
  ltr ax

  ; ---- 32-bit paging ----
  mov edi, PD32
  mov ecx, 0x4000 / 4
  xor eax, eax
  rep stosd
  mov edi, PT0
  mov eax, 7                       ; P | RW | US
  mov ecx, 1024
.id32:
  stosd
  add eax, 0x1000
  loop .id32
  mov dword [PD32 + 0*4], PT0 | 7
  mov dword [PD32 + 1*4], PT1 | 7  ; 0x400000: test PTEs
  mov dword [PT1 + 1*4], 0x201001  ; 0x401000: read-only, supervisor
  mov dword [PT1 + 2*4], 0x202007  ; 0x402000: user, writable
  mov dword [PT1 + 3*4], 0x203005  ; 0x403000: user, read-only
  mov dword [PD32 + 3*4], 0x400083 ; 0xC00000: 4 MiB page at 0x400000 (supervisor, writable)
  mov dword [PD32 + 4*4], 0x600083 ; 0x1000000: 4 MiB page with bit 21 (reserved) set
  mov dword [PD32 + 5*4], PT2 | 3  ; 0x1400000: supervisor PDE over a user PTE
  mov dword [PT2], 0x205007
  mov dword [0x205000], 0xfeedface
  mov eax, cr4
  or eax, 1 << 4                   ; PSE
  mov cr4, eax
  mov eax, PD32
  mov cr3, eax
  mov eax, cr0
  or eax, 1 << 31
  mov cr0, eax
  PROBE 0x10, mov eax, [0x400000]          ; not present (PTE)
  PROBE 0x11, mov dword [0x800010], 1      ; not present (PDE), write
  PROBE 0x12, mov dword [0x401008], 0x12   ; read-only page, CPL 0, CR0.WP = 0: allowed
  VAL [PT1 + 1*4]                          ; A and D set
  PROBE 0x13, mov eax, [0x402000]          ; read: A only
  VAL [PT1 + 2*4]
  VAL [PD32 + 1*4]
  mov eax, cr0
  or eax, 1 << 16                  ; WP
  mov cr0, eax
  PROBE 0x14, mov dword [0x401010], 0x14   ; read-only, CPL 0, CR0.WP = 1: P|W
  PROBE 0x15, mov dword [0x403000], 0x15   ; user read-only page, CPL 0, WP: P|W
  PROBE 0x16, mov dword [0xC01234], 0x11223344 ; 4 MiB page
  PROBE 0x17, mov eax, [0xC01234]
  VAL eax
  VAL [PD32 + 3*4]                         ; A, D on the PDE
  PROBE 0x18, mov eax, [0x1000000]         ; reserved bit 21: P|RSVD
  VAL [PD32 + 4*4]                         ; no A
  mov ebx, 0x800000
  PROBE 0x1a, jmp ebx                      ; fetch from a not-present page: no I/D in 32-bit paging
  mov dword [0xC00000], 0x205003           ; through the 4 MiB page: phys 0x400000
  mov eax, cr4
  and eax, ~(1 << 4)               ; PSE off: PS is ignored, PD[3] is a page-table pointer
  mov cr4, eax
  PROBE 0x1b, mov eax, [0xC00000]          ; -> PTE at phys 0x400000 -> phys 0x205000
  VAL eax
  mov eax, cr4
  or eax, 1 << 4
  mov cr4, eax
  PROBE 0x1c, mov eax, [0xC00000]          ; the PTE that was used, with A set
  VAL eax
  ; ring 3 (IOPL 3, so `out` works there)
  push dword 0x23                  ; SS: the DPL-3 data segment
  push dword 0x7000
  push dword 0x3002
  push dword 0x1b
  push dword LIN(ring3)
  iretd
ring3:
  PROBE 0x20, mov eax, [0x401000]          ; supervisor page: P|U
  PROBE 0x21, mov dword [0x403000], 0x21   ; user read-only: P|W|U
  PROBE 0x22, mov eax, [0x400000]          ; not present: U
  PROBE 0x23, mov eax, [0x1400000]         ; supervisor PDE, user PTE: P|U
  PROBE 0x24, mov dword [0x402004], 0x24   ; user writable: D set
  int 0x80
ring0_again:
  mov ax, 0x10
  mov ss, ax
  mov esp, 0x9000
  VAL [PT1 + 2*4]
  MARK 0x2f

  ; ---- PAE paging (paging off to change the tables' format) ----
  mov eax, cr0
  and eax, ~(1 << 31)
  mov cr0, eax
  mov edi, PDPT
  mov ecx, 0x4000 / 4
  xor eax, eax
  rep stosd
  mov edi, PAE_PT0
  mov eax, 7
  mov ecx, 512
.idpae:
  mov [edi], eax
  add edi, 8
  add eax, 0x1000
  loop .idpae
  mov dword [PDPT], PAE_PD | 1
  mov dword [PAE_PD + 0*8], PAE_PT0 | 7
  mov dword [PAE_PD + 1*8], 0x200087           ; 2 MiB identity, user, writable
  mov dword [PAE_PD + 2*8], 0x400083           ; 2 MiB identity, supervisor
  mov dword [PAE_PD + 3*8], PAE_PT1 | 7        ; 0x600000: test PTEs
  mov dword [PAE_PD + 4*8], 0x800083 | (1 << 13) ; 2 MiB page with reserved bit 13
  mov dword [PAE_PD + 5*8], 0x000083           ; 0xA00000: 2 MiB, XD
  mov dword [PAE_PD + 5*8 + 4], 0x80000000
  mov dword [PAE_PT1 + 0*8], 0x201003          ; 0x600000: XD
  mov dword [PAE_PT1 + 0*8 + 4], 0x80000000
  mov dword [PAE_PT1 + 1*8], 0x202003          ; 0x601000: bit 51 (above MAXPHYADDR) set
  mov dword [PAE_PT1 + 1*8 + 4], 0x00080000
  mov dword [PAE_PT1 + 2*8], 0x203003          ; 0x602000: XD
  mov dword [PAE_PT1 + 2*8 + 4], 0x80000000
  mov dword [PAE_PT1 + 4*8], 0x204001          ; 0x604000: read-only supervisor
  mov eax, cr4
  or eax, 1 << 5                   ; PAE
  mov cr4, eax
  mov eax, PDPT
  mov cr3, eax
  mov eax, cr0
  or eax, 1 << 31
  mov cr0, eax
  PROBE 0x30, mov eax, [0x401234]          ; what the 4 MiB page wrote, through a 2 MiB page
  VAL eax
  PROBE 0x31, mov eax, [0x600000]          ; XD with EFER.NXE = 0 is reserved: P|RSVD
  PROBE 0x32, mov dword [0x601000], 0x32   ; bit 51: P|W|RSVD
  PROBE 0x33, mov eax, [0x800000]          ; 2 MiB page, bit 13: P|RSVD
  PROBE 0x34, mov eax, [0x40000000]        ; PDPTE 1 not present
  PROBE 0x35, mov dword [0x604000], 0x35   ; read-only, WP: P|W
  PROBE 0x36, mov eax, [0x201008]
  VAL eax                                  ; 0x12 from probe 0x12
  VAL [PAE_PD + 1*8]                       ; A on the 2 MiB PDE
  VAL [PAE_PD + 3*8]                       ; A on the PDE, not used yet: none
  mov ecx, 0xc0000080
  rdmsr
  or eax, 1 << 11                  ; NXE
  wrmsr
  PROBE 0x37, mov eax, [0x602000]          ; XD page: reads are allowed
  VAL [PAE_PT1 + 2*8]
  VAL [PAE_PT1 + 2*8 + 4]
  mov ebx, 0x602000
  PROBE 0x39, jmp ebx                      ; fetch from XD: P|I
  mov ebx, 0x603000
  PROBE 0x3b, jmp ebx                      ; fetch, not present: I
  mov ebx, 0xA00010
  PROBE 0x3d, jmp ebx                      ; fetch from an XD 2 MiB page: P|I
  PROBE 0x3e, mov eax, [0x600000]          ; XD now legal: read allowed
  VAL [PAE_PT1 + 0*8]
  VAL [PAE_PD + 3*8]

  ; ---- long mode: paging off, LME, PG on; then 64-bit code ----
  mov eax, cr0
  and eax, ~(1 << 31)
  mov cr0, eax
  mov edi, PML4
  mov ecx, 0x3000 / 4
  xor eax, eax
  rep stosd
  mov dword [PML4], (PML4 + 0x1000) | 3
  mov dword [PML4 + 0x1000], (PML4 + 0x2000) | 3
  mov dword [PML4 + 0x2000 + 0*8], 0x000083
  mov dword [PML4 + 0x2000 + 1*8], 0x200083
  mov dword [PML4 + 0x2000 + 2*8], 0x400083
  mov dword [PML4 + 0x2000 + 3*8], 0x600083
  mov eax, PML4
  mov cr3, eax
  mov ecx, 0xc0000080
  rdmsr
  or eax, 1 << 8                   ; LME
  wrmsr
  mov eax, cr0
  or eax, 1 << 31
  mov cr0, eax
  MARK 0x40
  jmp 0x28:LIN(lm64)

bits 64
lm64:
  mov eax, [0x401234]
  call out_val64
  mov eax, [0x603000]              ; not present under PAE; mapped by the 2 MiB page here
  call out_val64
  mov eax, [PML4 + 0x2000 + 2*8]   ; A on the 2 MiB PDE
  call out_val64
  ; back to compatibility mode by a far return into the 32-bit code segment
  push qword 0x08
  push qword LIN(compat32)
  o64 retf

bits 32
compat32:
  MARK 0x41
  mov eax, cr0
  and eax, ~(1 << 31)              ; paging off leaves IA-32e mode (LMA = 0)
  mov cr0, eax
  mov ecx, 0xc0000080
  rdmsr
  and eax, ~(1 << 8)               ; LME off
  wrmsr
  mov eax, PDPT
  mov cr3, eax
  mov eax, cr0
  or eax, 1 << 31                  ; PAE paging again (PDPTEs loaded here)
  mov cr0, eax
  PROBE 0x42, mov eax, [0x401234]
  VAL eax
  PROBE 0x43, mov eax, [0x603000]          ; not present again: 0
  mov ebx, 0x602000
  PROBE 0x45, jmp ebx                      ; NXE survived: P|I
  mov ecx, 0xc0000080
  rdmsr
  call out_val                             ; EFER: NXE, no LME/LMA
  MARK 0x4f
  mov al, 0
  out 0xf4, al
  hlt

; ---- helpers ----
; IDT gate EBX -> handler EAX, type/DPL word EDX (0x8e00 / 0xee00)
set_gate:
  mov ecx, eax
  and ecx, 0xffff
  or ecx, 0x08 << 16
  mov [IDT_AT + ebx*8], ecx
  mov ecx, eax
  and ecx, 0xffff0000
  or ecx, edx
  mov [IDT_AT + ebx*8 + 4], ecx
  ret
%include "pm32-faults.asm"
bits 64
out_val64:
  push rax
  mov al, 'V'
  out 0xe9, al
  pop rax
  mov ecx, 4
.l:
  out 0xe9, al
  ror eax, 8
  loop .l
  ret

align 8
gdt:
  dq 0                                  ; 0x00 null
  dq 0x00cf9a000000ffff                 ; 0x08 code32, DPL 0
  dq 0x00cf92000000ffff                 ; 0x10 data, DPL 0
  dq 0x00cffa000000ffff                 ; 0x18 code32, DPL 3
  dq 0x00cff2000000ffff                 ; 0x20 data, DPL 3
  dq 0x00af9a000000ffff                 ; 0x28 code64
  dq 0x0000890000000067 | (TSS_AT << 16) ; 0x30 32-bit TSS, available
gdt_end:
gdtr: dw gdt_end - gdt - 1
      dd GDT_AT
idtr: dw 256 * 8 - 1
      dd IDT_AT
bits 16                                 ; the reset vector after this file is real-mode code
