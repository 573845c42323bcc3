; The 32-bit record writers of the protected-mode test firmware: out_val writes a 'V' record (EAX),
; out32 the 4 bytes of EAX, little-endian, to the debug port 0xe9. 32-bit code; included where it
; is to sit (by pm32-faults.asm, and by compat.asm beside its 64-bit writers).
out_val:
  push eax
  mov al, 'V'
  out 0xe9, al
  pop eax
out32:
  push ecx
  mov ecx, 4
.l:
  out 0xe9, al
  ror eax, 8
  loop .l
  pop ecx
  ret
