; A 64-bit PV guest kernel that drives Xen's PV MMU (xen/arch/x86/mm.c) the way a PV kernel
; does: it builds page tables in its own free pages, makes them read-only, pins them, switches to
; them, maps and unmaps pages, and asks for the mappings Xen must refuse. Each hypercall's result
; goes into results[] for the test to read. The numbers (MMUEXT_*, __HYPERVISOR_*, start_info
; offsets) come from xen-abi.inc, which the test writes from libxen-dev's headers; FOREIGN_MFN
; (a frame dom0 owns) and MMIO_MFN (no RAM) are given on nasm's command line.
bits 64
default rel
%include "xen-abi.inc"

%define VIRT_BASE 0xffffffff80000000
%define P   0x001
%define RW  0x002
%define A   0x020
%define PCD 0x010
%define PS  0x080
%define MAGIC 0x5eedf00dcafe1234

section .note.Xen note noalloc noexec nowrite align=4
%macro xennote 3
  dd 4, %%de - %%ds, %1
  db "Xen", 0
%%ds: %2 %3
%%de: align 4, db 0
%endmacro
  xennote XEN_ELFNOTE_GUEST_OS, db, "linux"
  xennote XEN_ELFNOTE_XEN_VERSION, db, {"xen-3.0", 0}
  xennote XEN_ELFNOTE_LOADER, db, {"generic", 0}
  xennote XEN_ELFNOTE_VIRT_BASE, dq, VIRT_BASE
  xennote XEN_ELFNOTE_ENTRY, dq, _start
  xennote XEN_ELFNOTE_HYPERCALL_PAGE, dq, hypercall_page

section .text
global _start, results, nresults, s0pfn, l4mfn
%define HC(name) hypercall_page + __HYPERVISOR_ %+ name * 32
%macro RESULT 1
  mov [results + (%1) * 8], rax
%endmacro

align 4096
hypercall_page: times 4096 db 0xcc

_start:
  mov r15, rsi                           ; start_info (vcpu_x86_64: RSI)
  mov r13, VIRT_BASE
  mov r14, [r15 + SI_mfn_list]           ; the phys-to-machine list
  ; say hello with start_info's magic
  mov edi, CONSOLEIO_write
  mov esi, 14
  mov rdx, r15
  call HC(console_io)
  ; the scratch pages: after the initial tables and the boot stack (xc_dom_build_image's order)
  mov rax, [r15 + SI_pt_base]
  sub rax, r13
  shr rax, 12
  mov rbx, [r14 + rax * 8]
  mov [l4mfn], rbx
  add rax, [r15 + SI_nr_pt_frames]
  inc rax
  mov [s0pfn], rax

  ; 0: S0 is mapped writable (an ordinary page): it cannot become an L1
  mov ecx, 0
  call smfn
  mov rdx, rax
  mov eax, MMUEXT_PIN_L1_TABLE
  call ext1
  RESULT 0
  ; S0 becomes an L1 whose entry 0 maps S1 writable
  mov ecx, 1
  call smfn
  shl rax, 12
  or rax, P | RW | A
  mov rbx, rax
  mov ecx, 0
  call sva
  mov [rax], rbx
  ; 1: remap S0 read-only (update_va_mapping, invlpg)
  mov ecx, 0
  mov ebx, P | A
  call remap
  RESULT 1
  ; 2: now it pins as an L1
  mov ecx, 0
  call smfn
  mov rdx, rax
  mov eax, MMUEXT_PIN_L1_TABLE
  call ext1
  RESULT 2
  ; 3: and a writable mapping of it is refused
  mov ecx, 0
  mov ebx, P | RW | A
  call remap
  RESULT 3
  ; 4: S0[1] -> a frame dom0 owns
  mov ecx, 0
  mov esi, 1
  mov rdx, FOREIGN_MFN << 12 | P | RW | A
  call setpte
  RESULT 4
  ; 5: S0[1] -> a frame beyond RAM (MMIO)
  mov ecx, 0
  mov esi, 1
  mov rdx, MMIO_MFN << 12 | P | RW | A
  call setpte
  RESULT 5
  ; 6: S0[1] -> S2 uncached (cache attributes are not a PV guest's to set)
  mov ecx, 2
  call smfn
  shl rax, 12
  or rax, P | RW | A | PCD
  mov rdx, rax
  mov ecx, 0
  mov esi, 1
  call setpte
  RESULT 6
  ; 7: an mmu_update into an ordinary page is an ordinary write; 8: read it back
  mov ecx, 2
  mov esi, 2
  mov rdx, 0xfeedface
  call setpte
  RESULT 7
  mov ecx, 2
  call sva
  mov rax, [rax + 16]
  RESULT 8
  ; 9: an update of a frame that is not the caller's
  mov rax, FOREIGN_MFN << 12
  mov rdx, 0
  call mmu1
  RESULT 9

  ; S3 = L2 -> S0, S4 = L3 -> S3, S5 = L4 -> S4 at slot 0, plus the kernel's slot 511
  mov ecx, 3
  mov edx, 0
  call link
  mov ecx, 4
  mov edx, 3
  call link
  mov ecx, 5
  mov edx, 4
  call link
  mov rbx, [r15 + SI_pt_base]
  mov rbx, [rbx + 511 * 8]
  mov ecx, 5
  call sva
  mov [rax + 511 * 8], rbx
  ; 10-12: the three become read-only
  mov ecx, 3
  mov ebx, P | A
  call remap
  RESULT 10
  mov ecx, 4
  mov ebx, P | A
  call remap
  RESULT 11
  mov ecx, 5
  mov ebx, P | A
  call remap
  RESULT 12
  ; 13: pin the L4 (validates S4, S3 and the L1 S0 below it); 14: run on it
  mov ecx, 5
  call smfn
  mov rdx, rax
  mov eax, MMUEXT_PIN_L4_TABLE
  call ext1
  RESULT 13
%ifdef STRAY_WRITE
  ; a store into a page table the guest sees read-only: a page fault, with no trap table a crash
  mov ecx, 5
  call sva
  mov qword [rax + 8], 0
%endif
  mov ecx, 5
  call smfn
  mov rdx, rax
  mov eax, MMUEXT_NEW_BASEPTR
  call ext1
  RESULT 14
  ; VA 0 is S1 now: 15 reads the value back through S1's own mapping
  mov rax, MAGIC
  xor edi, edi
  mov [rdi], rax
  mov ecx, 1
  call sva
  mov rax, [rax]
  RESULT 15
  ; 16: S0[2] -> the L2 S3 writable; 17: read-only
  mov ecx, 3
  call smfn
  shl rax, 12
  or rax, P | RW | A
  mov rdx, rax
  mov ecx, 0
  mov esi, 2
  call setpte
  RESULT 16
  mov ecx, 3
  call smfn
  shl rax, 12
  or rax, P | A
  mov rdx, rax
  mov ecx, 0
  mov esi, 2
  call setpte
  RESULT 17
  ; 18: a 2 MiB superpage in the L2
  mov ecx, 2
  call smfn
  shl rax, 12
  or rax, P | RW | A | PS
  mov rdx, rax
  mov ecx, 3
  mov esi, 1
  call setpte
  RESULT 18
  ; 19: L4 slot 256 is Xen's
  mov ecx, 4
  call smfn
  shl rax, 12
  or rax, P | RW | A
  mov rdx, rax
  mov ecx, 5
  mov esi, 256
  call setpte
  RESULT 19
  ; 20: unpin S0 (S3 still uses it); 21: unpin it again; 22: unpin a page never pinned
  mov ecx, 0
  call smfn
  mov rdx, rax
  mov eax, MMUEXT_UNPIN_TABLE
  call ext1
  RESULT 20
  mov ecx, 0
  call smfn
  mov rdx, rax
  mov eax, MMUEXT_UNPIN_TABLE
  call ext1
  RESULT 21
  mov ecx, 2
  call smfn
  mov rdx, rax
  mov eax, MMUEXT_UNPIN_TABLE
  call ext1
  RESULT 22
  ; 23: S0 holds L1 references: it cannot be pinned as an L2
  mov ecx, 0
  call smfn
  mov rdx, rax
  mov eax, MMUEXT_PIN_L2_TABLE
  call ext1
  RESULT 23
  ; 24: unmap VA 0
  xor edi, edi
  xor esi, esi
  mov edx, UVMF_INVLPG | UVMF_LOCAL
  call HC(update_va_mapping)
  RESULT 24
  ; 25: the M2P entry of S1; 26: of a frame that is not ours
  mov ecx, 1
  call smfn
  shl rax, 12
  or rax, MMU_MACHPHYS_UPDATE
  mov rdx, 0x12345
  call mmu1
  RESULT 25
  mov rax, FOREIGN_MFN << 12 | MMU_MACHPHYS_UPDATE
  mov rdx, 0x1
  call mmu1
  RESULT 26
  ; 27: a command number the ABI does not define
  mov eax, 14
  xor edx, edx
  call ext1
  RESULT 27
  ; 28: back to the builder's L4; 29: unpin S5: its whole tree loses its type references
  mov rdx, [l4mfn]
  mov eax, MMUEXT_NEW_BASEPTR
  call ext1
  RESULT 28
  mov ecx, 5
  call smfn
  mov rdx, rax
  mov eax, MMUEXT_UNPIN_TABLE
  call ext1
  RESULT 29
  ; 30: so S0 may be writable again
  mov ecx, 0
  mov ebx, P | RW | A
  call remap
  RESULT 30
  ; 31: VA 0 has no L1 in the builder's tables
  xor edi, edi
  xor esi, esi
  mov edx, UVMF_INVLPG
  call HC(update_va_mapping)
  RESULT 31

  mov edi, CONSOLEIO_write
  mov esi, done_msg_len
  lea rdx, [done_msg]
  call HC(console_io)
  mov dword [shutdown_arg], SHUTDOWN_poweroff
  mov edi, SCHEDOP_shutdown
  lea rsi, [shutdown_arg]
  call HC(sched_op)
  hlt

; ecx = k -> rax = VA of scratch page k
sva:
  mov rax, [s0pfn]
  add rax, rcx
  shl rax, 12
  add rax, r13
  ret
; ecx = k -> rax = machine frame of scratch page k (from the guest's p2m list)
smfn:
  mov rax, [s0pfn]
  add rax, rcx
  mov rax, [r14 + rax * 8]
  ret
; ecx = k, ebx = flags: update_va_mapping(VA of k, mfn(k) | flags, UVMF_INVLPG)
remap:
  push rcx
  call smfn
  shl rax, 12
  or rax, rbx
  mov rsi, rax
  pop rcx
  call sva
  mov rdi, rax
  mov edx, UVMF_INVLPG | UVMF_LOCAL
  call HC(update_va_mapping)
  ret
; ecx = table k, edx = child j: entry 0 of k -> j (written while k is an ordinary page)
link:
  push rcx
  mov ecx, edx
  call smfn
  shl rax, 12
  or rax, P | RW | A
  mov rbx, rax
  pop rcx
  call sva
  mov [rax], rbx
  ret
; ecx = table k, esi = slot, rdx = new entry: one MMU_NORMAL_PT_UPDATE
setpte:
  call smfn
  shl rax, 12
  lea rax, [rax + rsi * 8]
  call mmu1
  ret
; rax = ptr, rdx = val -> rax = HYPERVISOR_mmu_update(&req, 1, &done, DOMID_SELF)
mmu1:
  mov [req], rax
  mov [req + 8], rdx
  lea rdi, [req]
  mov esi, 1
  lea rdx, [done]
  mov r10d, DOMID_SELF
  call HC(mmu_update)
  ret
; eax = cmd, rdx = arg1 -> rax = HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF)
ext1:
  mov [op], eax
  mov [op + 8], rdx
  lea rdi, [op]
  mov esi, 1
  xor edx, edx
  mov r10d, DOMID_SELF
  call HC(mmuext_op)
  ret

align 8
req: dq 0, 0
op: dq 0, 0, 0
done: dd 0
shutdown_arg: dd 0
s0pfn: dq 0
l4mfn: dq 0
nresults: dq 32
results: times 32 dq 0x7eadbeef
done_msg: db "pv-mmu done", 10
done_msg_len equ $ - done_msg
