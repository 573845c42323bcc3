; Native side of the differential harness: run one instruction snippet on the host CPU.
; void run_case(uint64_t *state, void *code)
; state: [0..15] GPRs in x86 encoding order (rsp slot unused, r15 slot = result only),
;        [16] RFLAGS, [17..24] 64 bytes of memory addressed by the snippet through r15.
; The snippet ends with `jmp qword [rel ...]` back to ret_point (jmp does not touch flags).
bits 64
%include "gprs.inc"
default rel
section .bss
saved_rsp: resq 1
st_ptr:    resq 1
code_ptr:  resq 1
section .text
global run_case
global ret_point
run_case:
    SAVE_CALLEE
    mov [st_ptr], rdi
    mov [code_ptr], rsi
    mov [saved_rsp], rsp
    mov r15, rdi
    LOAD_GPRS_AND_FLAGS
    lea r15, [r15 + 136]
    jmp [code_ptr]
ret_point:
    pushfq
    push r15
    mov r15, [st_ptr]
    STORE_GPRS_AND_FLAGS
    mov rsp, [saved_rsp]
    RESTORE_CALLEE
    ret
section .note.GNU-stack noalloc noexec nowrite progbits
