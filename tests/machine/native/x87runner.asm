; Native side of the x87 differential harness: run one x87 snippet on the host CPU.
; void run_x87(uint8_t *state, void *code)
; state: [0..107] an FSAVE image (loaded with frstor, stored back with fnsave), [112] RAX,
;        [120] RFLAGS, [128..255] 128 bytes of memory the snippet addresses through r15.
; The snippet ends with `jmp qword [rel ...]` back to x87_ret (jmp touches neither flags nor FPU).
bits 64
default rel
section .bss
saved_rsp: resq 1
st_ptr:    resq 1
code_ptr:  resq 1
section .text
global run_x87
global x87_ret
run_x87:
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
    frstor [r15]
    push qword [r15 + 120]
    popfq
    mov rax, [r15 + 112]
    lea r15, [r15 + 128]
    jmp [code_ptr]
x87_ret:
    pushfq
    mov r15, [st_ptr]
    pop qword [r15 + 120]
    mov [r15 + 112], rax
    fnsave [r15]
    mov rsp, [saved_rsp]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
section .note.GNU-stack noalloc noexec nowrite progbits
