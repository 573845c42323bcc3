; A firmware image (64 KiB at F0000) for compatibility mode under long mode (SDM Vol. 3A §5.8.8
; and §6.14, Vol. 2A CALL/RET/IRET): far calls, returns and jumps between 64-bit and 32-bit code
; segments, interrupts and a page fault taken in compatibility mode (always a 64-bit frame through
; 64-bit IDT gates, RSP aligned to 16 first), iretd executed in compatibility mode (to 32-bit and
; to 64-bit code, same level: no SS:ESP popped), and ring-3 compatibility code trapping to ring 0
; through the TSS's RSP0. Records on the debug port 0xe9 as in paging.asm ('M' id, 'F' vector ec
; cr2 rip, 'V' 32-bit value) plus 'Q' (a 64-bit value). The same bytes run as QEMU's BIOS (TCG)
; and on XenLab's vCPU (tests/machine/compat-mode.test.ts).
bits 16
org 0
%define LIN(x) (0xF0000 + (x))
%define GDT_AT 0x0800
%define IDT_AT 0x1000
%define TSS_AT 0x3000
%define RECOVER_AT 0x0600
%define PML4 0x20000
%define CODE32 0x08
%define DATA 0x10
%define CODE64 0x18
%define UCODE32 0x23
%define UDATA 0x2b

%include "pm32-records.mac"      ; MARK, VAL: 32-bit code (here: compatibility mode)
%include "pm32-enter.mac"
%macro MARK64 1                  ; 64-bit code: 'M' id (keeps RAX)
  push rax
  mov al, 'M'
  out 0xe9, al
  mov al, %1
  out 0xe9, al
  pop rax
%endmacro
%macro Q64 1                     ; 64-bit code: 'Q' value
  mov rax, %1
  call out_q64
%endmacro

start:
  PM32_ENTER CODE32, pm32

bits 32
pm32:
  mov ax, DATA
  mov ss, ax
  mov esp, 0x9000
  mov ax, UDATA                  ; DPL-3 data in DS/ES: still usable after a return to ring 3
  mov ds, ax
  mov es, ax
  ; 64-bit IDT gates (16 bytes): #GP, #PF, int 0x40 (DPL 0), int 0x41 (DPL 3)
  mov edi, IDT_AT
  mov ecx, 1024
  xor eax, eax
  rep stosd
  mov eax, LIN(h13)
  mov ebx, 13
  mov edx, 0x8e00
  call set_gate64
  mov eax, LIN(h14)
  mov ebx, 14
  call set_gate64
  mov eax, LIN(h40)
  mov ebx, 0x40
  call set_gate64
  mov eax, LIN(h41)
  mov ebx, 0x41
  mov edx, 0xee00
  call set_gate64
  mov eax, LIN(h42)
  mov ebx, 0x42
  call set_gate64
  mov dword [TSS_AT + 4], 0x8800 ; RSP0
  ; identity map: 2 MiB pages, user-accessible; 2-4 MiB not present
  mov edi, PML4
  mov ecx, 0x3000 / 4
  xor eax, eax
  rep stosd
  mov dword [PML4], (PML4 + 0x1000) | 7
  mov dword [PML4 + 0x1000], (PML4 + 0x2000) | 7
  mov dword [PML4 + 0x2000 + 0*8], 0x000087
  mov dword [PML4 + 0x2000 + 2*8], 0x400087
  mov dword [PML4 + 0x2000 + 3*8], 0x600087     ; 0x600000: bit 40 (above MAXPHYADDR) set
  mov dword [PML4 + 0x2000 + 3*8 + 4], 0x100
  mov eax, cr4
  or eax, 1 << 5
  mov cr4, eax
  mov eax, PML4
  mov cr3, eax
  mov ecx, 0xc0000080
  rdmsr
  or eax, 1 << 8
  wrmsr
  mov eax, cr0
  or eax, (1 << 31) | (1 << 16)
  mov cr0, eax
  jmp CODE64:LIN(lm64)

bits 64
lm64:
  lidt [LIN(idtr)]
  mov ax, 0x30
  ltr ax
  mov rsp, 0x9000
  ; ---- 1: far call from 64-bit code into a 32-bit code segment, far return ----
  MARK64 0x01
  call far dword [LIN(ptr_c1)]   ; FF /3, m16:32
  Q64 rsp                        ; 0x9000 again
  ; ---- 10: REX.W far call (m16:64) to 64-bit code, retfq ----
  MARK64 0x0a
  call far qword [LIN(ptr_l10)]
  Q64 rsp
  ; ---- 2: far jump into compatibility mode (m16:32) ----
  MARK64 0x02
  jmp far dword [LIN(ptr_c2)]
back64:
  Q64 rsp
  ; ---- 7: ring 3 in compatibility mode ----
  MARK64 0x07
  push qword UDATA
  push qword 0x7000
  push qword 0x3002              ; IOPL 3: `out` works at CPL 3
  push qword UCODE32
  push qword LIN(u32)
  iretq
final:
  MARK64 0x0f
  mov al, 0
  out 0xf4, al
  hlt

; 64-bit code reached from compatibility mode by a far call: returns by a 32-bit far return
l2:
  mov eax, [rsp]
  call out_val64
  movzx eax, word [rsp+4]
  call out_val64
  Q64 rsp
  retf                           ; CB: 32-bit operand size (pops EIP, CS)
l6:
  Q64 rsp
  jmp back64
l10:
  Q64 rsp                        ; 0x9000 - 16: CS and RIP as 8 bytes each
  Q64 [rsp]
  movzx eax, word [rsp+8]
  Q64 rax
  o64 retf

; 64-bit handlers: the frame is RIP, CS, RFLAGS, RSP, SS (each 8 bytes) [after an error code]
h40:
  Q64 rsp
  Q64 [rsp]
  Q64 [rsp+8]
  Q64 [rsp+16]
  Q64 [rsp+24]
  Q64 [rsp+32]
  iretq
h41:
  Q64 rsp                        ; RSP0 - 40
  Q64 [rsp]
  Q64 [rsp+8]
  Q64 [rsp+16]
  Q64 [rsp+24]
  Q64 [rsp+32]
  jmp sysenter_tests
h42:
  mov rsp, 0x9000
  jmp final
h13:
  push rax
  mov al, 13
  jmp fault64
h14:
  push rax
  mov al, 14
fault64:
  push rax
  mov al, 'F'
  out 0xe9, al
  pop rax
  out 0xe9, al
  mov eax, [rsp+8]               ; error code
  call out32_64
  mov rax, cr2
  call out32_64
  mov eax, [rsp+16]              ; RIP
  call out32_64
  mov eax, [RECOVER_AT]
  mov [rsp+16], rax
  pop rax
  add rsp, 8
  iretq

out_q64:
  push rax
  mov al, 'Q'
  out 0xe9, al
  pop rax
  push rcx
  mov ecx, 8
.l:
  out 0xe9, al
  ror rax, 8
  loop .l
  pop rcx
  ret
out_val64:
  push rax
  mov al, 'V'
  out 0xe9, al
  pop rax
out32_64:
  push rcx
  mov ecx, 4
.l:
  out 0xe9, al
  ror eax, 8
  loop .l
  pop rcx
  ret

; ---- SYSENTER/SYSEXIT in IA-32e mode (SDM Vol. 2B): fixed flat caches, selectors from IA32_SYSENTER_CS ----
sysenter_tests:
  MARK64 0x10
  mov dword [RECOVER_AT], LIN(.after_gp)
  sysenter                       ; IA32_SYSENTER_CS = 0: #GP(0)
.after_gp:
  mov ecx, 0x174
  mov eax, CODE32
  xor edx, edx
  wrmsr
  mov ecx, 0x175
  mov eax, 0x8400
  wrmsr
  mov ecx, 0x176
  mov eax, LIN(se_entry)
  wrmsr
  mov ecx, 0x176
  rdmsr
  call out_val64
  mov edx, LIN(se_user32)
  mov ecx, 0x6800
  sysexit                        ; 32-bit form: compatibility mode, CPL 3, CS 0x08+16 | 3
se_entry:
  MARK64 0x12
  mov ax, cs
  movzx eax, ax
  call out_val64
  mov ax, ss
  movzx eax, ax
  call out_val64
  Q64 rsp
  mov rdx, LIN(se_user64)
  mov rcx, 0x6000
  o64 sysexit                    ; REX.W: 64-bit code, CPL 3, CS 0x08+32 | 3
se_user64:
  MARK64 0x13
  mov ax, cs
  movzx eax, ax
  call out_val64
  mov ax, ss
  movzx eax, ax
  call out_val64
  Q64 rsp
  int 0x42

bits 32
se_user32:
  MARK 0x11
  mov ax, cs
  movzx eax, ax
  call out_val
  mov ax, ss
  movzx eax, ax
  call out_val
  VAL esp
  sysenter                       ; from compatibility mode to 64-bit code

; ---- compatibility-mode code (CS = 0x08: a 32-bit segment while EFER.LMA = 1) ----
c1:
  VAL esp                      ; 0x9000 - 8: CS and EIP as 4 bytes each
  VAL [esp]
  movzx eax, word [esp+4]
  call out_val
  retf                           ; 32-bit far return to the 64-bit caller
c2:
  ; ---- 3: compatibility mode -> 64-bit code by a direct far call, back by retf ----
  MARK 0x03
  call CODE64:LIN(l2)            ; 9A ptr16:32
  VAL esp
  ; ---- 4: int from compatibility mode: a 64-bit frame, RSP aligned to 16 first ----
  MARK 0x04
  mov ebp, esp
  sub esp, 4                     ; ESP = ...c: not 16-byte aligned
  int 0x40
  VAL esp
  mov esp, ebp
  ; ---- 5: #PF in compatibility mode ----
  MARK 0x05
  mov dword [RECOVER_AT], LIN(.after_pf)
  mov eax, [0x200010]
.after_pf:
  VAL esp
  ; ---- 11: a reserved bit in a 4-level entry ----
  MARK 0x0b
  mov dword [RECOVER_AT], LIN(.after_rsvd)
  mov dword [0x600010], 1
.after_rsvd:
  ; ---- 6: iretd in compatibility mode, same level: EIP, CS, EFLAGS only ----
  MARK 0x06
  pushfd
  push dword CODE32
  push dword LIN(.after_iret)
  iretd
.after_iret:
  VAL esp                      ; the three dwords are gone, nothing more
  pushfd
  push dword CODE64
  push dword LIN(l6)
  iretd                          ; ...and into 64-bit code
u32:
  ; CPL 3, compatibility mode
  MARK 0x08
  mov dword [RECOVER_AT], LIN(.after_upf)
  mov eax, [0x200010]            ; #PF: U/S = 1
.after_upf:
  VAL esp
  MARK 0x09
  sub ebx, ebx                   ; every arithmetic flag defined in the frame's EFLAGS
  int 0x41
%include "pm32-out.asm"
; 64-bit IDT gate EBX -> 64-bit handler EAX (below 4 GiB), type/DPL EDX
set_gate64:
  push ebx
  shl ebx, 4
  mov ecx, eax
  and ecx, 0xffff
  or ecx, CODE64 << 16
  mov [IDT_AT + ebx], ecx
  mov ecx, eax
  and ecx, 0xffff0000
  or ecx, edx
  mov [IDT_AT + ebx + 4], ecx
  mov dword [IDT_AT + ebx + 8], 0
  pop ebx
  ret

align 8
ptr_c1: dd LIN(c1)
        dw CODE32
ptr_c2: dd LIN(c2)
        dw CODE32
ptr_l10: dq LIN(l10)
         dw CODE64
align 8
gdt:
  dq 0                                  ; 0x00
  dq 0x00cf9a000000ffff                 ; 0x08 code32, DPL 0
  dq 0x00cf92000000ffff                 ; 0x10 data, DPL 0
  dq 0x00af9a000000ffff                 ; 0x18 code64, DPL 0
  dq 0x00cffa000000ffff                 ; 0x20 code32, DPL 3
  dq 0x00cff2000000ffff                 ; 0x28 data, DPL 3
  dq 0x0000890000000067 | (TSS_AT << 16) ; 0x30 64-bit TSS (16 bytes)
  dq 0
gdt_end:
gdtr: dw gdt_end - gdt - 1
      dd GDT_AT
idtr: dw 256 * 16 - 1
      dq IDT_AT
bits 16
