/** The Hyper-V host cells and magics share (like src/xen's currentHost), created on first use. */
import { HypervHost, HypervHostOptions } from "./host";

let current: HypervHost | undefined;

export function currentHypervHost(): HypervHost {
  current ??= new HypervHost();
  return current;
}

export function setCurrentHypervHost(host: HypervHost | HypervHostOptions): HypervHost {
  current = host instanceof HypervHost ? host : new HypervHost(host);
  return current;
}
