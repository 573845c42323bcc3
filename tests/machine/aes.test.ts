/**
 * AES-NI against FIPS-197 itself (Appendix C.1, AES-128): a guest expands the key
 * 000102..0f with aeskeygenassist (the key schedule Intel's AES-NI white paper gives), encrypts
 * 00112233..ff with aesenc/aesenclast, and decrypts the result again with the equivalent inverse
 * cipher (aesimc round keys, aesdec/aesdeclast). The ciphertext must be the standard's
 * 69c4e0d86a7b0430d8cdb78070b4c55a, the round keys the standard's (Appendix A.1), and the
 * decryption the plaintext. Every other input is the host-CPU differential's (sse-forms.ts).
 */
import { describe, expect, it } from "vitest";
import { runTo, sysGuest } from "./helpers";

const KEYS = 0x500000, OUT = 0x501000;

const GUEST = `
start:
    movdqu xmm1, [rel key]
    movdqu xmm0, [rel plain]
    mov rdi, ${KEYS}
    movdqu [rdi], xmm1
%assign i 0
%rep 10
  %if i < 8
    aeskeygenassist xmm2, xmm1, (1 << i)
  %elif i == 8
    aeskeygenassist xmm2, xmm1, 0x1b
  %else
    aeskeygenassist xmm2, xmm1, 0x36
  %endif
    call expand
    add rdi, 16
    movdqu [rdi], xmm1
  %assign i i+1
%endrep
    ; encrypt
    pxor xmm0, [${KEYS}]
%assign r 1
%rep 9
    aesenc xmm0, [${KEYS} + 16 * r]
  %assign r r+1
%endrep
    aesenclast xmm0, [${KEYS} + 160]
    movdqu [${OUT}], xmm0
    ; decrypt (equivalent inverse cipher)
    movdqa xmm4, xmm0
    pxor xmm4, [${KEYS} + 160]
%assign r 9
%rep 9
    aesimc xmm5, [${KEYS} + 16 * r]
    aesdec xmm4, xmm5
  %assign r r-1
%endrep
    aesdeclast xmm4, [${KEYS}]
    movdqu [${OUT} + 16], xmm4
    hlt
expand:                         ; xmm1 = next round key from xmm1 and aeskeygenassist's xmm2
    pshufd xmm2, xmm2, 0xff
    movdqa xmm3, xmm1
    pslldq xmm3, 4
    pxor xmm1, xmm3
    pslldq xmm3, 4
    pxor xmm1, xmm3
    pslldq xmm3, 4
    pxor xmm1, xmm3
    pxor xmm1, xmm2
    ret
key:   db 0x00,0x01,0x02,0x03,0x04,0x05,0x06,0x07,0x08,0x09,0x0a,0x0b,0x0c,0x0d,0x0e,0x0f
plain: db 0x00,0x11,0x22,0x33,0x44,0x55,0x66,0x77,0x88,0x99,0xaa,0xbb,0xcc,0xdd,0xee,0xff
`;

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("AES-NI against FIPS-197", () => {
  it("AES-128 of Appendix C.1: the key schedule, the ciphertext, and the decryption back to the plaintext", () => {
    const { v, g } = sysGuest(GUEST);
    runTo(v, "hlt");
    // FIPS-197 Appendix C.1 (round keys: the key expansion of that key, round 1 and round 10).
    expect(hex(g.read(KEYS + 16, 16))).toBe("d6aa74fdd2af72fadaa678f1d6ab76fe");
    expect(hex(g.read(KEYS + 160, 16))).toBe("13111d7fe3944a17f307a78b4d2b30c5");
    expect(hex(g.read(OUT, 16))).toBe("69c4e0d86a7b0430d8cdb78070b4c55a");
    expect(hex(g.read(OUT + 16, 16))).toBe("00112233445566778899aabbccddeeff");
  });
});
