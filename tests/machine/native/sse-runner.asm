; Native side of the SSE differential harness: run one snippet on the host CPU with the
; x87/SSE state loaded from an FXSAVE image.
; void sse_run_case(uint8_t *state, void *code)
; state: +0 GPRs (x86 order; rsp slot unused, r15 slot = result only), +128 RFLAGS,
;        +136 exception vector (written by the C side), +144 FXSAVE64 image (512 bytes),
;        +656 640 bytes of memory addressed by the snippet through r15.
bits 64
%include "gprs.inc"
default rel
section .bss
alignb 16
host_fx:   resb 512
saved_rsp: resq 1
st_ptr:    resq 1
code_ptr:  resq 1
section .text
global sse_run_case
global sse_ret_point
sse_run_case:
    SAVE_CALLEE
    mov [st_ptr], rdi
    mov [code_ptr], rsi
    mov [saved_rsp], rsp
    fxsave64 [host_fx]
    mov r15, rdi
    fxrstor64 [r15 + 144]
    LOAD_GPRS_AND_FLAGS
    lea r15, [r15 + 656]
    jmp [code_ptr]
sse_ret_point:
    pushfq
    push r15
    mov r15, [st_ptr]
    STORE_GPRS_AND_FLAGS
    fxsave64 [r15 + 144]
    fxrstor64 [host_fx]
    mov rsp, [saved_rsp]
    RESTORE_CALLEE
    ret
section .note.GNU-stack noalloc noexec nowrite progbits
