/**
 * The PV console ring (io/console.h struct xencons_interface): out[2048] carries guest output to
 * xenconsoled, in[1024] carries typed input to the guest. The host plays xenconsoled for dom0.
 */
import { LAYOUT, XENCONS_IN_SIZE, XENCONS_OUT_SIZE } from "./abi";

const F = LAYOUT.xencons_interface.f;

export class ConsoleRing {
  bytesOut = 0;
  constructor(private readonly page: () => DataView) {}

  /** Drains guest output (out_cons → out_prod). */
  drain(): string {
    const v = this.page();
    let cons = v.getUint32(F.out_cons, true);
    const prod = v.getUint32(F.out_prod, true);
    const n = (prod - cons) >>> 0;
    if (n === 0 || n > XENCONS_OUT_SIZE) return "";
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(v.getUint8(F.out + ((cons + i) & (XENCONS_OUT_SIZE - 1))));
    cons = (cons + n) >>> 0;
    v.setUint32(F.out_cons, cons, true);
    this.bytesOut += n;
    return s;
  }

  /** Writes typed input into in[]; returns the bytes that fit. */
  input(bytes: Uint8Array): number {
    const v = this.page();
    const cons = v.getUint32(F.in_cons, true);
    let prod = v.getUint32(F.in_prod, true);
    let k = 0;
    while (k < bytes.length && ((prod - cons) >>> 0) < XENCONS_IN_SIZE) {
      v.setUint8(F.in + (prod & (XENCONS_IN_SIZE - 1)), bytes[k++]!);
      prod = (prod + 1) >>> 0;
    }
    v.setUint32(F.in_prod, prod, true);
    return k;
  }
}
