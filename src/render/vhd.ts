import type { VhdDisk } from "../vhd/vhd-disk";
import { MimeBundle } from "./mime";
export function renderVhdBundle(d: VhdDisk): MimeBundle {
  return { "text/plain": d.path };
}
