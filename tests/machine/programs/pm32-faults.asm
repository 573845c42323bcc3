; The #GP and #PF handlers of the protected-mode test firmware (32-bit code): each writes 'F'
; vector, error code, CR2 and the faulting EIP to port 0xe9 and resumes at [RECOVER_AT]; out_val
; and out32 (pm32-out.asm) write 'V' records and raw 32-bit values. Included where the code is to sit.
gp_handler:
  push eax
  mov al, 13
  jmp fault_common
pf_handler:
  push eax
  mov al, 14
fault_common:
  ; [esp] EAX, [esp+4] error code, [esp+8] EIP, CS, EFLAGS (, ESP, SS from ring 3)
  push eax
  mov al, 'F'
  out 0xe9, al
  pop eax
  out 0xe9, al
  mov eax, [esp+4]
  call out32
  mov eax, cr2
  call out32
  mov eax, [esp+8]
  call out32
  mov eax, [RECOVER_AT]
  mov [esp+8], eax
  pop eax
  add esp, 4
  iretd
%include "pm32-out.asm"
