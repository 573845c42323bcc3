/**
 * rdrand (SDM Vol. 2B RDRAND): a random value in the destination register and
 * CF=1 (OF, SF, ZF, AF, PF cleared). The vCPU's entropy source is the host's CSPRNG, as the
 * hardware DRNG would be, so every read succeeds and the retry loop guests carry never spins.
 * Linux uses rdrand to seed its CRNG at boot (random.trust_cpu): without it, the first reader of
 * /dev/urandom waits for jitter entropy, about 1e9 instructions under the interpreter.
 */
import { wr } from "../operands";
import { Family } from "./form";

export const random: Family = {
  name: "random",
  mnemonics: ["Rdrand"],
  emit(_x, f) {
    const { o0, s0 } = f;
    if (o0.k !== "r") return undefined; // only register forms exist (mod = 11b); others are #UD
    return `rL=c.random32();rH=${s0 === 8 ? "c.random32()" : "0"};` + wr(o0, s0, "r") + "c.setArith(1);";
  },
};
