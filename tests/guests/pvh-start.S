/*
 * PVH entry for the XenLab test guest (docs/misc/pvh.pandoc): Xen enters at the address named by
 * XEN_ELFNOTE_PHYS32_ENTRY in 32-bit protected mode with paging off and EBX = &hvm_start_info.
 * We build identity page tables for the low 4 GiB with 2 MiB pages, enable PAE + long mode +
 * paging, load a GDT and far-jump to 64-bit code, as Mini-OS's arch/x86/x86_hvm.S does.
 */
#include <xen/elfnote.h>

        .section .note.Xen, "a", @note
        .balign 4
        .long 4, 4, XEN_ELFNOTE_PHYS32_ENTRY
        .asciz "Xen"
        .balign 4
        .long _start32
        .balign 4
        .long 4, 8, XEN_ELFNOTE_GUEST_OS
        .asciz "Xen"
        .asciz "XenLab"
        .balign 4

        .section .text.entry, "ax"
        .code32
        .globl _start32
_start32:
        mov %ebx, start_info_pa
        /* PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages. */
        lea pml4, %edi
        lea pdpt, %eax
        or $3, %eax
        mov %eax, (%edi)
        lea pdpt, %edi
        lea pd, %eax
        or $3, %eax
        mov $4, %ecx
1:      mov %eax, (%edi)
        add $0x1000, %eax
        add $8, %edi
        loop 1b
        lea pd, %edi
        mov $0x83, %eax          /* present | writable | 2 MiB */
        xor %edx, %edx
        mov $2048, %ecx
2:      mov %eax, (%edi)
        mov %edx, 4(%edi)
        add $0x200000, %eax
        adc $0, %edx
        add $8, %edi
        loop 2b
        mov %cr4, %eax
        or $0x20, %eax           /* PAE */
        mov %eax, %cr4
        lea pml4, %eax
        mov %eax, %cr3
        mov $0xc0000080, %ecx    /* EFER.LME */
        rdmsr
        or $0x100, %eax
        wrmsr
        lgdt gdt_ptr
        mov %cr0, %eax
        or $0x80000001, %eax     /* PG | PE */
        mov %eax, %cr0
        ljmp $0x08, $_start64

        .code64
_start64:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        lea stack_top(%rip), %rsp
        mov start_info_pa(%rip), %edi
        call guest_main
3:      ud2
        jmp 3b

        .section .data
        .balign 8
gdt:    .quad 0
        .quad 0x00209a0000000000  /* 0x08: 64-bit code */
        .quad 0x0000920000000000  /* 0x10: data */
gdt_ptr:
        .word 23
        .long gdt
        .globl start_info_pa
start_info_pa: .long 0

        .section .bss
        .balign 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096 * 4
        .balign 16
stack:  .skip 32768
stack_top:
