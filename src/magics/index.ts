/** Every magic family, registered in one table. */
import { coreMagics } from "./core";
import { cwdMagics } from "./cwd";
import { MagicRegistry } from "./registry";

export function createMagicRegistry(): MagicRegistry {
  const registry = new MagicRegistry();
  registry.register(...coreMagics(registry));
  registry.register(...cwdMagics);
  return registry;
}
