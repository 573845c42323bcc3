/** Every magic family, registered in one table. */
import { coreMagics } from "./core";
import { asmMagic, cpuMagic, stepMagic } from "./cpu";
import { cwdMagics } from "./cwd";
import { envMagic } from "./env";
import { memmapMagic } from "./memmap";
import { p2mMagic } from "./p2m";
import { topologyMagic } from "./topology";
import { MagicRegistry } from "./registry";
import { vhdMagic } from "./vhd";
import { xlMagic, runMagic } from "./xl";
import { xenstoreMagic } from "./xenstore";
import { hypervMagic, importVmcMagic } from "./hyperv";
import { hostMagic } from "./host";
import { historyMagic, loadMagic, resetMagic } from "./session";
import { bashMagic, sxMagic, systemMagic } from "./shell";

export function createMagicRegistry(): MagicRegistry {
  const registry = new MagicRegistry();
  registry.register(...coreMagics(registry));
  registry.register(xlMagic, runMagic, xenstoreMagic);
  registry.register(...cwdMagics, envMagic);
  registry.register(vhdMagic);
  registry.register(asmMagic, stepMagic, cpuMagic);
  registry.register(memmapMagic, p2mMagic, topologyMagic);
  registry.register(importVmcMagic, hypervMagic, hostMagic);
  registry.register(historyMagic, resetMagic, loadMagic, bashMagic, systemMagic, sxMagic);
  return registry;
}
