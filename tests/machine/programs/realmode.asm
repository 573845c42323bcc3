; A firmware image (64 KiB, mapped at F0000 and below 4 GiB) that walks the modes Linux's AP
; trampoline walks (arch/x86/realmode/rm/trampoline_64.S): real mode at the reset vector, unreal
; mode, 32-bit protected mode with based segments, then long mode. After each phase it writes
; its registers and some memory to the debug port 0xe9 as raw bytes; `out 0xf4` ends the run.
; The same bytes are run by QEMU (qemu-system-x86_64 -accel tcg -bios, isa-debugcon and
; isa-debug-exit) and by XenLab's vCPU, and the two byte streams must be equal
; (tests/machine/realmode.test.ts).
bits 16
org 0
%define LIN(x) (0xF0000 + (x))
%define GDT_AT 0x0800

start:
  cli
  cld
  xor ax, ax
  mov ss, ax
  mov sp, 0x7000
  mov ds, ax
  ; IVT entry 0x42 -> F000:int42, entry 0x43 -> F100:(int43 + 0x1000) (another alias of this ROM)
  mov word [0x42*4], int42
  mov word [0x42*4+2], 0xF000
  mov word [0x43*4], int43 + 0x1000
  mov word [0x43*4+2], 0xEF00

  ; ---- phase 1: real mode ----
  mov ax, 0x0050            ; SS base 0x500: the stack at linear 0x7000 still
  mov ss, ax
  mov sp, 0x6b00
  mov ax, 0x0100            ; DS base 0x1000
  mov ds, ax
  mov ax, 0x0200            ; ES base 0x2000
  mov es, ax
  mov bx, 0x10
  mov si, 0x4
  mov ax, 0xbeef
  mov [bx+si+4], ax         ; DS:0x18
  mov bp, 0x6af0
  mov di, 2
  mov cx, 0x1357
  mov [bp+di-2], cx         ; SS:0x6af0 (BP-based: SS)
  mov dx, [ss:0x6af0]
  mov [es:di], dx           ; ES:2
  mov dword [0x20], 0x12345678
  mov eax, 0x10
  mov ecx, 2
  mov ebx, [eax+ecx*4+8]    ; 0x67: DS:0x20
  o32 add ebx, 0x01010101
  mov [0x24], ebx
  ; string instructions with 16-bit addresses: DS:SI -> ES:DI
  mov si, 0x18
  mov di, 0x40
  mov cx, 16
  rep movsb
  mov si, 0x20
  lodsw
  stosw
  std
  mov di, 0x70
  mov cx, 3
  mov ax, 0xa55a
  rep stosw
  cld
  ; xlat, lea, movzx/movsx, xchg, les/lds
  mov bx, table
  push ds
  push cs
  pop ds
  mov al, 3
  xlatb                     ; CS-relative table through DS = CS
  pop ds
  mov [0x30], al
  lea dx, [bx+si+0x7fff]
  mov [0x32], dx
  mov cx, 0xff80
  movsx edx, cx
  movzx esi, cl
  xchg dx, si
  mov [0x34], edx
  mov [0x38], esi
  mov word [0x3c], 0x1234
  mov word [0x3e], 0x0300
  les di, [0x3c]            ; ES=0x0300, DI=0x1234
  mov [es:di], word 0x4321  ; linear 0x4234
  mov ax, 0x0200
  mov es, ax
  ; near and far calls, loop, jcxz
  call near_fn
  call 0xEF00:far_fn + 0x1000
  call far [cs:far_ptr]
  xor cx, cx
  jcxz .cx_zero
  mov word [0x50], 0xdead
.cx_zero:
  mov cx, 5
  xor ax, ax
.loop:
  add ax, cx
  loop .loop
  mov [0x52], ax            ; 15
  ; pusha/popa, pushf/popf, push/pop of segment registers
  mov ax, 0x1111
  mov bp, 0x2222
  pusha
  xor ax, ax
  xor bp, bp
  popa
  mov [0x54], ax
  mov [0x56], bp
  push es
  pop fs
  mov [fs:0x10], word 0x7777 ; ES/FS base 0x2000
  ; software interrupts through the IVT
  mov ax, 0x1000
  int 0x42                  ; adds 0x1234 to AX, in another segment
  mov [0x58], ax
  int 0x43
  mov [0x5a], ax
  ; 16-bit multiply and divide (flags made defined again by the cmp below)
  mov ax, 1234
  mov cx, 567
  mul cx
  mov [0x5c], ax
  mov [0x5e], dx
  mov ax, 0x8765
  xor dx, dx
  mov cx, 100
  div cx
  mov [0x60], ax
  mov [0x62], dx
  cmp ax, 0x100
  call rdump
  xor si, si
  mov cx, 0x80
  call rmem                 ; DS:0..7f
  push ds
  mov ax, 0x0200
  mov ds, ax
  xor si, si
  mov cx, 0x20
  call rmem                 ; ES area
  pop ds

  ; ---- phase 2: unreal mode ----
  ; Copy the GDT to RAM at GDT_AT (0:0800), load it with a 16-bit lgdt (24-bit base).
  push ds
  push es
  push cs
  pop ds
  xor ax, ax
  mov es, ax
  mov si, gdt
  mov di, GDT_AT
  mov cx, gdt_end - gdt
  rep movsb
  pop es
  pop ds
  lgdt [cs:gdtr16]
  mov eax, cr0
  or al, 1
  mov cr0, eax              ; CS keeps its real-mode cache; DS and ES get 4 GiB limits
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  and al, 0                 ; (keep flags defined)
  mov eax, cr0
  and al, 0xfe
  mov cr0, eax
  jmp 0xF000:.real_again
.real_again:
  mov ax, 0x0100            ; base 0x1000; the limit stays 4 GiB: unreal mode
  mov ds, ax
  mov esi, 0x100000 - 0x1000
  mov dword [esi], 0xcafe1234   ; linear 0x100000 (above 1 MiB)
  mov dword [esi+4], 0x0badf00d
  xor ax, ax
  mov es, ax
  mov edi, 0x100000
  mov ebx, [es:edi+4]
  add ebx, [esi]
  mov edx, cr0
  sub edx, 0
  call rdump
  mov esi, 0x100000 - 0x1000
  mov cx, 8
  call rmem32

  ; ---- phase 3: 32-bit protected mode, based data segment ----
  o32 lgdt [cs:gdtr32]      ; lgdtl, as trampoline_64.S does
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:LIN(pm32)

bits 32
pm32:
  mov ax, 0x10
  mov ss, ax
  mov esp, 0x9000
  mov es, ax
  mov ax, 0x20              ; data segment with base 0x1000
  mov ds, ax
  mov eax, [0x20]           ; linear 0x1020: what phase 1 wrote
  mov ebx, [es:0x1020]
  mov ecx, [0x100000 - 0x1000]  ; 0xcafe1234 from phase 2
  push dword 0x55aa55aa
  pop edx
  call pm_fn
  add eax, ebx
  call pdump

  ; ---- phase 4: long mode (PAE paging, 2 MiB pages identity-mapping the first 4 MiB) ----
  mov ax, 0x10
  mov ds, ax
  mov edi, 0x20000
  mov ecx, 3 * 1024
  xor eax, eax
  rep stosd
  mov dword [0x20000], 0x21000 | 3
  mov dword [0x21000], 0x22000 | 3
  mov dword [0x22000], 0x000000 | 0x83
  mov dword [0x22008], 0x200000 | 0x83
  mov eax, cr4
  or eax, 1 << 5            ; PAE
  mov cr4, eax
  mov eax, 0x20000
  mov cr3, eax
  mov ecx, 0xc0000080       ; EFER
  rdmsr
  or eax, 1 << 8            ; LME
  wrmsr
  mov eax, cr0
  or eax, 1 << 31
  mov cr0, eax
  jmp 0x28:LIN(lm64)

bits 64
lm64:
  mov ax, 0x10
  mov ds, ax
  mov ss, ax
  mov rsp, 0x9000
  mov rax, 0x0123456789abcdef
  mov rbx, [0x100000]
  shl rbx, 32
  add rax, rbx
  mov r8, cr0
  mov r9, cr4
  mov r10, cr3
  mov ecx, 0xc0000080
  rdmsr
  mov r11, rax
  mov r12, rdx
  mov rax, 0x0123456789abcdef
  cmp rax, rbx
  call ldump
  mov al, 0
  out 0xf4, al
  hlt

; ---- 64-bit dump: RAX..R15, RFLAGS ----
ldump:
  pushfq
  push r15
  push r14
  push r13
  push r12
  push r11
  push r10
  push r9
  push r8
  push rdi
  push rsi
  push rbp
  push rsp
  push rbx
  push rdx
  push rcx
  push rax
  xor esi, esi
.l:
  mov al, [rsp+rsi]
  out 0xe9, al
  inc esi
  cmp esi, 17*8
  jne .l
  pop rax
  pop rcx
  pop rdx
  pop rbx
  add rsp, 8
  pop rbp
  pop rsi
  pop rdi
  add rsp, 8*8
  popfq
  ret

bits 32
pm_fn:
  add ebx, 0x11111111
  ret
; ---- 32-bit dump: pushad image, EFLAGS, segment selectors ----
pdump:
  pushfd
  pushad
  xor esi, esi
.l:
  mov al, [ss:esp+esi]
  out 0xe9, al
  inc esi
  cmp esi, 36
  jne .l
  mov ax, ds
  call pout16
  mov ax, es
  call pout16
  mov ax, ss
  call pout16
  mov ax, cs
  call pout16
  popad
  popfd
  ret
pout16:
  out 0xe9, al
  mov al, ah
  out 0xe9, al
  ret

bits 16
near_fn:
  add word [0x52], 3
  ret
far_fn:
  mov ax, cs
  mov [0x64], ax
  retf
far_fn2:
  mov ax, cs
  mov [0x66], ax
  retf 0
int42:
  add ax, 0x1234
  iret
int43:
  mov ax, cs
  iret

; ---- 16-bit dump: pushad image, EFLAGS, segment selectors ----
rdump:
  pushfd
  pushad
  mov bp, sp
  xor si, si
.l:
  mov al, [bp+si]
  out 0xe9, al
  inc si
  cmp si, 36
  jne .l
  mov ax, ds
  call out16
  mov ax, es
  call out16
  mov ax, ss
  call out16
  mov ax, cs
  call out16
  mov ax, fs
  call out16
  popad
  popfd
  ret
out16:
  out 0xe9, al
  mov al, ah
  out 0xe9, al
  ret
; CX bytes at DS:SI
rmem:
  push si
  push cx
.l:
  lodsb
  out 0xe9, al
  loop .l
  pop cx
  pop si
  ret
; CX dwords at DS:ESI (32-bit offsets: unreal mode)
rmem32:
  push esi
  push cx
.l:
  mov al, [esi]
  out 0xe9, al
  inc esi
  loop .l
  pop cx
  pop esi
  ret

table: db 0x10, 0x20, 0x30, 0x40, 0x50
far_ptr: dw far_fn2, 0xF000

align 8
gdt:
  dq 0                                  ; 0x00 null
  dq 0x00cf9a000000ffff                 ; 0x08 code32 flat
  dq 0x00cf92000000ffff                 ; 0x10 data flat 4 GiB
  dq 0x000f9a0f0000ffff                 ; 0x18 code16, base F0000
  dq 0x00cf92001000ffff                 ; 0x20 data, base 0x1000, 4 GiB
  dq 0x00af9a000000ffff                 ; 0x28 code64
gdt_end:
gdtr16: dw gdt_end - gdt - 1
        dd 0xAB000000 + GDT_AT          ; 16-bit lgdt ignores the high byte
gdtr32: dw gdt_end - gdt - 1
        dd GDT_AT

  times 0xFFF0 - ($ - $$) db 0
reset:
  jmp 0xF000:start
  times 0x10000 - ($ - $$) db 0
