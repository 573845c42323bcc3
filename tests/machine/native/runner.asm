; Native side of the differential harness: run one instruction snippet on the host CPU.
; void run_case(uint64_t *state, void *code)
; state: [0..15] GPRs in x86 encoding order (rsp slot unused, r15 slot = result only),
;        [16] RFLAGS, [17..24] 64 bytes of memory addressed by the snippet through r15.
; The snippet ends with `jmp qword [rel ...]` back to ret_point (jmp does not touch flags).
bits 64
default rel
section .bss
saved_rsp: resq 1
st_ptr:    resq 1
code_ptr:  resq 1
section .text
global run_case
global ret_point
run_case:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [st_ptr], rdi
    mov [code_ptr], rsi
    mov [saved_rsp], rsp
    mov r15, rdi
    push qword [r15 + 128]
    popfq
    mov rax, [r15 + 0]
    mov rcx, [r15 + 8]
    mov rdx, [r15 + 16]
    mov rbx, [r15 + 24]
    mov rbp, [r15 + 40]
    mov rsi, [r15 + 48]
    mov rdi, [r15 + 56]
    mov r8,  [r15 + 64]
    mov r9,  [r15 + 72]
    mov r10, [r15 + 80]
    mov r11, [r15 + 88]
    mov r12, [r15 + 96]
    mov r13, [r15 + 104]
    mov r14, [r15 + 112]
    lea r15, [r15 + 136]
    jmp [code_ptr]
ret_point:
    pushfq
    push r15
    mov r15, [st_ptr]
    pop qword [r15 + 120]
    pop qword [r15 + 128]
    mov [r15 + 0], rax
    mov [r15 + 8], rcx
    mov [r15 + 16], rdx
    mov [r15 + 24], rbx
    mov [r15 + 40], rbp
    mov [r15 + 48], rsi
    mov [r15 + 56], rdi
    mov [r15 + 64], r8
    mov [r15 + 72], r9
    mov [r15 + 80], r10
    mov [r15 + 88], r11
    mov [r15 + 96], r12
    mov [r15 + 104], r13
    mov [r15 + 112], r14
    mov rsp, [saved_rsp]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
section .note.GNU-stack noalloc noexec nowrite progbits
